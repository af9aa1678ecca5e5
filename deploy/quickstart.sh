#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds aktsyncd (Release), and starts it on an
# embedded SQLite database under ./data with demo data and two demo tablet tokens.
# Safe to run twice: it reuses the data folder and tokens, and restarts a server it started before.
#
#   deploy/quickstart.sh                 # runs in the foreground; Ctrl-C stops the server
#   deploy/quickstart.sh --background    # starts it and returns
# Environment: AKT_PORT (default 8080), AKT_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source deploy/lib.sh
akt_install_packages

port=${AKT_PORT:-8080}
data=${AKT_DATA_DIR:-$root/data}
mkdir -p "$data"
data=$(cd "$data" && pwd)

echo "Building aktsyncd (Release)..."
bin=$root/build/quickstart
cmake -S . -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAKT_BUILD_TESTS=OFF >/dev/null
cmake --build "$bin" -j "$(akt_jobs)" --target aktsyncd aktsync-seed

# Demo tablets: an actor id and a random token each, made once and kept (mode 600).
creds=$data/demo-tablets.env
if [ ! -f "$creds" ]; then
  umask 077
  {
    echo "TABLET1_ACTOR=$(cat /proc/sys/kernel/random/uuid)"
    echo "TABLET1_TOKEN=$(openssl rand -hex 24)"
    echo "TABLET2_ACTOR=$(cat /proc/sys/kernel/random/uuid)"
    echo "TABLET2_TOKEN=$(openssl rand -hex 24)"
  } > "$creds"
fi
source "$creds"
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat > "$data/aktsyncd.json" <<JSON
{
  "listen": "127.0.0.1:$port",
  "data_dir": "$data",
  "log_level": "info",
  "devices": [
    {"actor": "$TABLET1_ACTOR", "name": "demo-tablet-1", "token_sha256": "$(hash "$TABLET1_TOKEN")"},
    {"actor": "$TABLET2_ACTOR", "name": "demo-tablet-2", "token_sha256": "$(hash "$TABLET2_TOKEN")"}
  ]
}
JSON

# Stop a server this script started before.
if [ -f "$data/aktsyncd.pid" ] && kill -0 "$(cat "$data/aktsyncd.pid")" 2>/dev/null; then
  echo "Stopping the previous aktsyncd (pid $(cat "$data/aktsyncd.pid"))..."
  kill -TERM "$(cat "$data/aktsyncd.pid")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$data/aktsyncd.pid")" 2>/dev/null || break; sleep 0.1; done
fi

rm -f "$data/port"
"$bin/server/aktsyncd" --config "$data/aktsyncd.json" --port-file "$data/port" >>"$data/aktsyncd.log" 2>&1 &
pid=$!
echo "$pid" > "$data/aktsyncd.pid"
for _ in $(seq 1 100); do [ -s "$data/port" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$data/port" ]; then
  echo "aktsyncd did not start; its log ($data/aktsyncd.log) ends with:" >&2
  tail -n 20 "$data/aktsyncd.log" >&2
  exit 1
fi
url="http://127.0.0.1:$(cat "$data/port")"

"$bin/clients/aktsync-seed" --port "$(cat "$data/port")" --records 500 \
  --actor1 "$TABLET1_ACTOR" --token1 "$TABLET1_TOKEN" --actor2 "$TABLET2_ACTOR" --token2 "$TABLET2_TOKEN"

cat <<INFO

aktsyncd is running at $url (pid $pid)
  database:  $data/aktsync.db   log: $data/aktsyncd.log
  tablets:   $creds  (demo tokens; keep them secret)

Try it:
  source $creds
  curl -s $url/healthz
  curl -s -H "Authorization: Bearer \$TABLET1_TOKEN" "$url/v1/changes?limit=2"
  The protocol is in docs/PROTOCOL.md.
INFO

if [ "${1:-}" = "--background" ]; then
  echo "Stop it with: kill $pid"
  exit 0
fi
echo "Press Ctrl-C to stop."
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
wait $pid
