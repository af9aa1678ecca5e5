#!/usr/bin/env bash
# aktsync-seed against a scratch aktsyncd (HTTPS, port 0): `--records 0` sets up the demo without
# survey interviews (and must not crash); a second run with interviews added, and a third run equal to
# the second, print the same summary and raise no user's scope version (no tablet downloads again).
# Usage: tests/deploy/seed_test.sh [BUILD_DIR]   (default build/dev)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build/dev}" && pwd)
forms=$PWD/schema/forms/programme
data=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:TRUE" \
  -keyout "$data/key.pem" -out "$data/cert.pem" 2>/dev/null
cat > "$data/aktsyncd.json" <<JSON
{"listen": "127.0.0.1:0", "data_dir": "$data", "log_level": "warn",
 "tls": {"cert_file": "$data/cert.pem", "key_file": "$data/key.pem"}}
JSON
echo "admin password 1" > "$data/admin-pw"
echo "demo password 12" > "$data/demo-pw"
# A fresh server on its own data folder $data/$1 (the demo's batches depend on --records).
start() {
  [ -n "$pid" ] && { kill -TERM "$pid"; wait "$pid" || true; }
  mkdir -p "$data/$1"
  sed "s|\"data_dir\": \"$data\"|\"data_dir\": \"$data/$1\"|" "$data/aktsyncd.json" > "$data/$1/aktsyncd.json"
  "$build/server/aktsyncd" --config "$data/$1/aktsyncd.json" --create-user admin --role admin --password-file "$data/admin-pw" >/dev/null
  "$build/server/aktsyncd" --config "$data/$1/aktsyncd.json" --port-file "$data/$1/port" >>"$data/$1/aktsyncd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do [ -s "$data/$1/port" ] && break; sleep 0.1; done
  [ -s "$data/$1/port" ] || { echo "seed test: aktsyncd did not start" >&2; cat "$data/$1/aktsyncd.log" >&2; exit 1; }
  port=$(cat "$data/$1/port")
  state=$data/$1/state.json
}
seed() {
  "$build/clients/aktsync-seed" --port "$port" --ca-file "$data/cert.pem" --admin-password-file "$data/admin-pw" \
    --demo-password-file "$data/demo-pw" --forms-dir "$forms" --state "$state" --env-out "$data/tablets.env" "$@"
}
versions() {
  local token
  token=$(curl -sf --cacert "$data/cert.pem" "https://127.0.0.1:$port/v1/login" \
    -d '{"username":"admin","password":"admin password 1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -sf --cacert "$data/cert.pem" -H "Authorization: Bearer $token" "https://127.0.0.1:$port/v1/admin/users" |
    python3 -c 'import json,sys; print(" ".join(u["username"] + "=" + str(u["scope_version"]) for u in json.load(sys.stdin)["users"]))'
}
failed=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1" >&2; failed=$((failed + 1)); fi; }

start zero
seed --records 0 --verbose 1 > "$data/out0" || { cat "$data/out0"; echo "seed --records 0 failed" >&2; exit 1; }
cat "$data/out0"
check "--records 0: no interviews but the conflicts' own" "grep -q '^records: 5 survey interviews' '$data/out0'"
check "--records 0: one conflict of each kind" \
  "grep -qx 'open conflicts: 6 (delete_edit, duplicate_candidate, field, locked_change, permission, semantic)' '$data/out0'"
check "--records 0: three edits in the quarantine" "grep -q '3 refused edits in the quarantine' '$data/out0'"
start forty
seed --records 40 --verbose 1 > "$data/out1" || { cat "$data/out1"; echo "seed --records 40 failed" >&2; exit 1; }
before=$(versions)
seed --records 40 > "$data/out1" || { cat "$data/out1"; echo "seed --records 40 failed" >&2; exit 1; }
seed --records 40 > "$data/out2" || { cat "$data/out2"; echo "third seed --records 40 failed" >&2; exit 1; }
check "another --records is refused" "! seed --records 41 >/dev/null 2>&1"
cat "$data/out2"
check "a run again prints the same" "cmp -s '$data/out1' '$data/out2'"
check "runs again raise no scope version ($before)" "[ \"\$(versions)\" = '$before' ]"
check "the indicators are neither empty nor all 100 %" "python3 - '$data' '$port' <<'PY'
import json, ssl, sys, urllib.request
d, port = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=d + '/cert.pem')
def call(path, body=None, token=None):
    req = urllib.request.Request('https://127.0.0.1:' + port + path, data=body and json.dumps(body).encode(),
                                 headers={'Authorization': 'Bearer ' + token} if token else {})
    return json.load(urllib.request.urlopen(req, context=ctx))
tok = call('/v1/login', {'username': 'me1', 'password': 'demo password 12'})['token']
cells = call('/v1/indicators?format=json', token=tok)['cells']
alls = {c['indicator']: c for c in cells if c['dimension'] == 'all' and c['group'] == 'all'}
shown = [c for c in alls.values() if not c['suppressed'] and c['value'] is not None]
pct = [c['value'] for c in shown if c['measure'] == 'percent']
print('indicators with a value:', sorted(c['indicator'] for c in shown))
ok = all(i in alls and not alls[i]['suppressed'] for i in ['G.1', '1.1', '1.2', '1.4', '1.5', '2.1', '2.2', '3.3', '3.4'])
ok = ok and any(0 < p < 100 for p in pct) and not all(p == 100 for p in pct)
sys.exit(0 if ok else 1)
PY"
echo "seed test: $((7 - failed)) passed, $failed failed"
[ "$failed" = 0 ]
