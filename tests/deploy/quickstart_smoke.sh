#!/usr/bin/env bash
# Runs deploy/quickstart.sh twice in the background on a scratch data folder and a free port, and
# checks that the server answers, holds the demo data and keeps it across the second run, which must
# raise no user's scope version (the tablets keep their cursors) and print the same demo summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  [ -f "$data/aktsyncd.pid" ] && kill -TERM "$(cat "$data/aktsyncd.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$data"
}
trap cleanup EXIT
check() {
  source "$data/demo-tablets.env"
  local url="https://127.0.0.1:$(cat "$data/port")" tls=(--cacert "$data/tls/cert.pem")
  curl -sf "${tls[@]}" "$url/healthz" | grep -q '"status":"ok"'
  # Plain HTTP is not served on the TLS port. (Not `! curl …`: set -e ignores a negated command.)
  if curl -sf "http://127.0.0.1:$(cat "$data/port")/healthz" >/dev/null 2>&1; then
    echo "quickstart: plain HTTP answered on the TLS port" >&2
    return 1
  fi
  local forms
  forms=$(curl -sf "${tls[@]}" -H "Authorization: Bearer $TABLET1_TOKEN" "$url/v1/forms" |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["forms"]))')
  echo "quickstart: published forms: $forms"
  [ "$forms" = "4" ]
  local n
  n=$(curl -sf "${tls[@]}" -H "Authorization: Bearer $TABLET1_TOKEN" "$url/v1/changes?limit=5000" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["changes"]), sum(1 for c in d["changes"] if c["conflict"]))')
  echo "quickstart: records and conflicts in the feed: $n"
  [ "$n" = "604 3" ]
}
# The users' scope versions and a tablet's feed cursor: a second run must move neither (no tablet
# downloads everything again).
scope_versions() {
  source "$data/demo-users.env"
  local url="https://127.0.0.1:$(cat "$data/port")" tls=(--cacert "$data/tls/cert.pem") token
  token=$(curl -sf "${tls[@]}" "$url/v1/login" -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASSWORD\"}" |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -sf "${tls[@]}" -H "Authorization: Bearer $token" "$url/v1/admin/users" |
    python3 -c 'import json,sys; print(" ".join(u["username"] + "=" + str(u["scope_version"]) for u in json.load(sys.stdin)["users"]))'
}
feed_cursor() {
  source "$data/demo-tablets.env"
  curl -sf --cacert "$data/tls/cert.pem" -H "Authorization: Bearer $TABLET1_TOKEN" \
    "https://127.0.0.1:$(cat "$data/port")/v1/changes?limit=5000" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])'
}
AKT_PORT=$port AKT_DATA_DIR=$data deploy/quickstart.sh --background >"$data/run1.log" 2>&1 || { cat "$data/run1.log"; exit 1; }
check
versions1=$(scope_versions)
cursor1=$(feed_cursor)
AKT_PORT=$port AKT_DATA_DIR=$data deploy/quickstart.sh --background >"$data/run2.log" 2>&1 || { cat "$data/run2.log"; exit 1; }
check
versions2=$(scope_versions)
echo "quickstart: scope versions after run 1: $versions1; after run 2: $versions2"
[ "$versions1" = "$versions2" ]
# The tablet's cursor of run 1 is still good (a scope change would answer 410 scope_changed).
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$data/tls/cert.pem" -H "Authorization: Bearer $TABLET1_TOKEN" \
       "https://127.0.0.1:$(cat "$data/port")/v1/changes?since=$cursor1")
echo "quickstart: the tablet's cursor of run 1 after run 2: HTTP $code"
[ "$code" = "200" ]
# Both runs print the same demo summary.
diff <(grep -A3 '^seeded ' "$data/run1.log") <(grep -A3 '^seeded ' "$data/run2.log")
echo "quickstart smoke test: 3 passed, 0 failed"
