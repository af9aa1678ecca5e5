#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds aktsyncd (Release), and starts it over HTTPS
# (a self-signed certificate) on an embedded SQLite database under ./data, with the programme's four
# forms, demo users, two enrolled demo tablets and demo data.
# Safe to run twice: it reuses the data folder, passwords and tablets, and restarts a server it
# started before.
#
#   deploy/quickstart.sh                 # runs in the foreground; Ctrl-C stops the server
#   deploy/quickstart.sh --background    # starts it and returns
# Environment: AKT_PORT (default 8080), AKT_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source deploy/lib.sh
akt_install_packages "${AKT_APP_PACKAGES[@]}"

port=${AKT_PORT:-8080}
data=${AKT_DATA_DIR:-$root/data}
mkdir -p "$data"
data=$(cd "$data" && pwd)

echo "Building aktsyncd (Release)..."
bin=$root/build/quickstart
cmake -S . -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAKT_BUILD_TESTS=OFF >/dev/null
cmake --build "$bin" -j "$(akt_jobs)" --target aktsyncd aktsync-seed

# A self-signed certificate for local HTTPS, made once.
mkdir -p "$data/tls"
if [ ! -f "$data/tls/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$data/tls/key.pem" -out "$data/tls/cert.pem" 2>/dev/null
  chmod 600 "$data/tls/key.pem"
fi
fingerprint=$(openssl x509 -in "$data/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# Demo passwords, made once and kept (mode 600): one for the admin, one for the other demo users.
users=$data/demo-users.env
if [ ! -f "$users" ]; then
  umask 077
  {
    echo "ADMIN_USER=admin"
    echo "ADMIN_PASSWORD=$(openssl rand -hex 12)"
    echo "DEMO_PASSWORD=$(openssl rand -hex 12)"
  } > "$users"
fi
source "$users"
umask 077
printf '%s\n' "$ADMIN_PASSWORD" > "$data/.admin-password"
printf '%s\n' "$DEMO_PASSWORD" > "$data/.demo-password"

cat > "$data/aktsyncd.json" <<JSON
{
  "listen": "127.0.0.1:$port",
  "data_dir": "$data",
  "log_level": "info",
  "tls": {"cert_file": "$data/tls/cert.pem", "key_file": "$data/tls/key.pem"}
}
JSON

# Stop a server this script started before.
if [ -f "$data/aktsyncd.pid" ] && kill -0 "$(cat "$data/aktsyncd.pid")" 2>/dev/null; then
  echo "Stopping the previous aktsyncd (pid $(cat "$data/aktsyncd.pid"))..."
  kill -TERM "$(cat "$data/aktsyncd.pid")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$data/aktsyncd.pid")" 2>/dev/null || break; sleep 0.1; done
fi

# The first admin (exit code 3: it exists already).
"$bin/server/aktsyncd" --config "$data/aktsyncd.json" --create-user "$ADMIN_USER" --role admin \
  --password-file "$data/.admin-password" >/dev/null || [ $? -eq 3 ]

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
url="https://127.0.0.1:$(cat "$data/port")"

"$bin/clients/aktsync-seed" --port "$(cat "$data/port")" --ca-file "$data/tls/cert.pem" --records 500 \
  --admin-user "$ADMIN_USER" --admin-password-file "$data/.admin-password" \
  --demo-password-file "$data/.demo-password" --forms-dir "$root/schema/forms/programme" \
  --state "$data/demo-state.json" --env-out "$data/demo-tablets.env"
rm -f "$data/.admin-password" "$data/.demo-password"

cat <<INFO

aktsyncd is running at $url (pid $pid)
  certificate: $data/tls/cert.pem (self-signed)
               SHA-256 fingerprint $fingerprint
  database:    $data/aktsync.db   log: $data/aktsyncd.log
  forms:       the programme's four instruments, published (GET /v1/forms)
  users:       admin, supervisor1, me1, enumerator1, enumerator2; passwords in $users
  tablets:     two enrolled demo tablets; tokens in $data/demo-tablets.env (keep them secret)
  demo data:   all four instruments, most records approved, some returned, three refused edits in
               the quarantine and one conflict of each kind in the inbox
  console:     $url/console/ (sign in as admin, supervisor1 or me1)
  tablet app:  $url/app/ (enrol a tablet with a one-time code from the console's Tablets page)

Try it:
  source $data/demo-tablets.env
  curl -s --cacert $data/tls/cert.pem $url/healthz
  curl -s --cacert $data/tls/cert.pem -H "Authorization: Bearer \$TABLET1_TOKEN" "$url/v1/forms"
  curl -s --cacert $data/tls/cert.pem -H "Authorization: Bearer \$TABLET1_TOKEN" "$url/v1/changes?limit=2"
  The protocol is in docs/PROTOCOL.md; the security model in docs/SECURITY.md.
INFO

if [ "${1:-}" = "--background" ]; then
  echo "Stop it with: kill $pid"
  exit 0
fi
echo "Press Ctrl-C to stop."
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
wait $pid
