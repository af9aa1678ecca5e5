#!/usr/bin/env bash
# Fuzz smoke test: builds the libFuzzer targets with clang (ASan + UBSan + coverage) in build/fuzz and
# runs each for a short time on a temporary copy of its seed corpus (tests/fuzz/corpus/<target>/ is
# never modified). Fails if any target crashes, leaks, trips a sanitizer, times out or breaks one of
# its properties; the reproducer is copied to build/fuzz/artifacts/. Details: docs/FUZZING.md.
#
# Environment: AKT_FUZZ_SECONDS (per target, default 20), AKT_FUZZ_JOBS (targets run at once and
# build jobs, default 2), AKT_FUZZ_BUILD_DIR (default build/fuzz), AKT_FUZZ_TARGETS (space-separated
# subset), AKT_FUZZ_REQUIRED=1 (fail instead of skipping when clang is missing), AKT_FUZZ_PREBUILT=1 (do not
# configure or build: run the fuzz_* binaries found in AKT_FUZZ_BUILD_DIR, e.g. build/asan/tests/fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
build=${AKT_FUZZ_BUILD_DIR:-$repo/build/fuzz}
secs=${AKT_FUZZ_SECONDS:-20}
jobs=${AKT_FUZZ_JOBS:-2}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz smoke: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  [ "${AKT_FUZZ_REQUIRED:-0}" = 1 ] && exit 1
  echo "fuzz smoke: SKIPPED"
  exit 0
fi

if [ "${AKT_FUZZ_PREBUILT:-0}" = 1 ]; then
  # The targets were built by another tree: the `asan` preset (clang, address+undefined+fuzzer-no-link)
  # builds them with the test suites, so deploy/test.sh needs no third full build. AKT_FUZZ_BUILD_DIR
  # then names the folder that holds the fuzz_* binaries (build/asan/tests/fuzz).
  echo "fuzz smoke: using the targets already built in $build"
else
  echo "fuzz smoke: configuring and building in $build"
  # AKT_APP_WASM=OFF: the tablet app's WebAssembly rule engine is only embedded bytes to the fuzz targets
  # (the dev build and the browser tests cover it), and compiling it with emscripten costs minutes.
  CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAKT_APP_WASM=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" >/dev/null
  cmake --build "$build" --target fuzz_all -j "$jobs"
fi

targets=${AKT_FUZZ_TARGETS:-"fuzz_decode_batch fuzz_gunzip fuzz_unzstd fuzz_route fuzz_http fuzz_export fuzz_parse_form fuzz_validate_record"}
work=$(mktemp -d "${TMPDIR:-/tmp}/aktsync-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

# UBSan only reports by default; make every finding fatal. LeakSanitizer is on by default with ASan.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# Known finding (docs/FUZZING.md): push-batch bodies keep the device's key order, so the strict
# round-trip check of fuzz_decode_batch fails on the first unsorted body. Set to 0 once fixed.
export AKT_FUZZ_LENIENT_BODY=${AKT_FUZZ_LENIENT_BODY:-0}

run_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  local dict=()
  [ -f tests/fuzz/dict/"$t".dict ] && dict=(-dict="$repo/tests/fuzz/dict/$t.dict")
  "$build/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "$dir/corpus" >"$dir/log" 2>&1
}

declare -A pids=()
ran=()
for t in $targets; do
  if [ ! -x "$build/$t" ]; then
    echo "fuzz smoke: $t not built (its library is missing), skipped"
    continue
  fi
  ran+=("$t")
  run_one "$t" &
  pids[$t]=$!
  echo "fuzz smoke: $t running for ${secs}s"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done

failed=0
for t in "${ran[@]}"; do
  rc=0
  wait "${pids[$t]}" || rc=$?
  log=$work/$t/log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ] || grep -q "runtime error:" "$log"; then
    failed=1
    echo "fuzz smoke: FAIL $t (exit $rc)"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz_|.*runtime error:)" "$log" | head -20 || true
    mkdir -p "$build/artifacts"
    for a in "$work/$t"/artifacts/*; do
      [ -e "$a" ] || continue
      cp "$a" "$build/artifacts/$t-$(basename "$a")"
      echo "  reproducer: $build/artifacts/$t-$(basename "$a")   (run: $build/$t <file>)"
    done
    cp "$log" "$build/artifacts/$t.log"
    echo "  full log: $build/artifacts/$t.log"
  else
    echo "fuzz smoke: ok   $t (${execs:-?} runs)"
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz smoke: FAILED"; exit 1; }
echo "fuzz smoke: all targets passed"
