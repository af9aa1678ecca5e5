#!/usr/bin/env bash
# Runs deploy/quickstart.sh twice in the background on a scratch data folder and a free port, and
# checks that the server answers, holds the demo data and keeps it across the second run.
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
  [ "$n" = "500 1" ]
}
AKT_PORT=$port AKT_DATA_DIR=$data deploy/quickstart.sh --background >"$data/run1.log" 2>&1 || { cat "$data/run1.log"; exit 1; }
check
AKT_PORT=$port AKT_DATA_DIR=$data deploy/quickstart.sh --background >"$data/run2.log" 2>&1 || { cat "$data/run2.log"; exit 1; }
check
echo "quickstart smoke test: 2 passed, 0 failed"
