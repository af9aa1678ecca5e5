# Shared by deploy/quickstart.sh and deploy/test.sh: installs the Debian 12 packages aktsync needs.
# Safe to run again: it installs only what is missing.

AKT_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libsqlite3-dev nlohmann-json3-dev
              libssl-dev zlib1g-dev doctest-dev openssl curl ca-certificates sqlite3 python3 unzip libsimdjson-dev
              libzstd-dev
              clang libclang-rt-14-dev)
# The web console's browser tests (deploy/test.sh only): Debian's chromium driven from Node.js. npm is
# added only when no npm command exists (NodeSource's nodejs ships its own and conflicts with Debian's).
AKT_BROWSER_TEST_PACKAGES=(chromium nodejs)
# The PostgreSQL store engine (libpq, built when found) and the throwaway cluster its contract tests start
# (deploy/test.sh only: quickstart runs on SQLite and needs neither).
AKT_POSTGRES_TEST_PACKAGES=(postgresql libpq-dev)
# The tablet app's rule engine: schema/forms compiled to WebAssembly (clients/web/wasm/). Without it the app
# is still served, but checks answers only at sync.
AKT_APP_PACKAGES=(emscripten)

# Installs AKT_PACKAGES and any packages named as arguments.
akt_install_packages() {
  local missing=()
  for p in "${AKT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

akt_jobs() {
  nproc 2>/dev/null || echo 2
}
