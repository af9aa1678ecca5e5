#!/usr/bin/env bash
# Sets up everything a fresh Debian 12 machine needs and runs every test: the dev build (warnings are
# errors), the same suite under AddressSanitizer + UBSan built with clang (that tree also holds the libFuzzer
# targets), a short run of every fuzzer, and the
# quickstart smoke test with the Debian package made from its build, and the browser tests of the web console
# and the tablet app. Safe to run twice. AKT_SKIP_DEB=1, AKT_SKIP_ASAN=1,
# AKT_SKIP_FUZZ=1, AKT_SKIP_QUICKSTART=1 or AKT_SKIP_WEB=1 skip those stages locally. The ASan and fuzz
# builds leave out the benchmarks and the tablet app's WebAssembly engine (AKT_BUILD_BENCH, AKT_APP_WASM):
# the dev build builds and runs both, and the browser tests use the dev build's aktsyncd.
# AKT_EXPORT_MEMORY_BENCH=1 adds the 200,000-record export memory benchmark (about 10 minutes in the Debug
# build; the dev suite runs the same test with 30,000 records and a bound that fails if memory grows
# with the export, docs/EXPORTS.md §9).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
if [ "${AKT_SKIP_WEB:-0}" != 1 ]; then
  akt_install_packages "${AKT_BROWSER_TEST_PACKAGES[@]}" "${AKT_APP_PACKAGES[@]}" "${AKT_POSTGRES_TEST_PACKAGES[@]}"
  command -v npm >/dev/null || akt_install_packages npm
else
  akt_install_packages "${AKT_APP_PACKAGES[@]}" "${AKT_POSTGRES_TEST_PACKAGES[@]}"
fi
jobs=$(akt_jobs)

# Each stage line says how long the run has taken so far, so a slow stage shows in any log (CI included).
started=$SECONDS
stage() { printf '\n=== %s (at %dm%02ds) ===\n' "$*" $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

stage "dev build (Debug, -Werror)"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
stage "dev tests"
# The store contract suite runs on PostgreSQL too (a throwaway cluster it starts itself): here it must.
AKT_REQUIRE_POSTGRES=1 ctest --preset dev -j "$jobs" --timeout 600

if [ "${AKT_EXPORT_MEMORY_BENCH:-0}" = 1 ]; then
  # The full-size memory benchmark of docs/EXPORTS.md §9: 200,000 records exported as JSON Lines and CSV
  # by the aktsyncd binary, resident memory read from /proc. doctest exits 0 when a filter matches no
  # test, so the stage also requires that exactly one test case ran and passed.
  stage "export memory benchmark at 200,000 records (dev build; about 10 minutes)"
  out=$(AKT_EXPORT_MEM_RECORDS=200000 build/dev/tests/integration/akt_integration_tests \
        -tc="*flat server memory*" 2>&1) || { printf '%s\n' "$out"; exit 1; }
  printf '%s\n' "$out"
  printf '%s\n' "$out" | grep -Eq 'test cases: *1 \| *1 passed' ||
    { echo "export memory benchmark: no test case matched" >&2; exit 1; }
fi

if [ "${AKT_SKIP_WEB:-0}" != 1 ]; then
  stage "web console browser tests (chromium + playwright-core)"
  (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/console.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/admin.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/console-setup.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/console-i18n.test.mjs
  stage "tablet app browser tests (chromium + playwright-core)"
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-photos.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-instruments.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-restore.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-kill.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-many.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-errors.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-upgrade.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-qr.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-feed.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-cuts.test.mjs
  AKTSYNCD="$PWD/build/dev/server/aktsyncd" AKT_WEB_OUT="$PWD/build/dev/tests/web-output" node tests/web/app-store.test.mjs
  node --test tests/web/store-codec.test.mjs
fi

if [ "${AKT_SKIP_ASAN:-0}" != 1 ]; then
  stage "asan build (address + undefined)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  stage "asan tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --preset asan -j "$jobs" --timeout 900
fi

if [ "${AKT_SKIP_FUZZ:-0}" != 1 ]; then
  stage "fuzz smoke (clang libFuzzer, ASan+UBSan, 20 s per target)"
  if [ "${AKT_SKIP_ASAN:-0}" != 1 ]; then
    # The asan preset is a clang build with fuzzer-no-link: its tree already holds the fuzz targets.
    AKT_FUZZ_REQUIRED=1 AKT_FUZZ_PREBUILT=1 AKT_FUZZ_BUILD_DIR="$PWD/build/asan/tests/fuzz" tests/fuzz/run_smoke.sh
  else
    AKT_FUZZ_REQUIRED=1 tests/fuzz/run_smoke.sh
  fi
fi

stage "demo seed test (aktsync-seed: --records 0, runs again change nothing)"
tests/deploy/seed_test.sh build/dev

if [ "${AKT_SKIP_QUICKSTART:-0}" != 1 ]; then
  stage "quickstart smoke test"
  tests/deploy/quickstart_smoke.sh
  if [ "${AKT_SKIP_DEB:-0}" != 1 ]; then
    # From the quickstart's Release build folder (no extra full build): package, install into a throwaway root.
    stage "Debian package (cpack, dpkg --root, the installed server)"
    tests/deploy/deb_test.sh build/quickstart
  fi
fi
stage "all tests passed"
