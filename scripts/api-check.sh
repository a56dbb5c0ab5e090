#!/usr/bin/env bash
# Checks the API against its own OpenAPI document, as a client generated from it would
# use it: Schemathesis (a property-based API tester, from PyPI) sends requests made from
# the document to a running `wages` on an empty database, logged in with a write token,
# with every check it has and its coverage phase (each bound and pattern of the document
# tried just inside and just outside), and fails on any server error, a status the
# document does not list, a response that is not the documented shape, a request the
# document allows but the server refuses, or one the document forbids but the server
# takes. The live WebSockets are left out
# (OpenAPI cannot describe an upgrade). The seed is fixed so a run can be repeated;
# API_CHECK_SEED and API_CHECK_EXAMPLES (per operation and phase) change it.
# Usage: scripts/api-check.sh [BINARY]   (default target/release/wages)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
binary=$(realpath "${1:-target/release/wages}")
SCHEMATHESIS=4.32.5
EXAMPLES=${API_CHECK_EXAMPLES:-100}
SEED=${API_CHECK_SEED:-20261202}

venv=$PWD/target/tools/schemathesis-$SCHEMATHESIS
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS"
fi

dir=$(mktemp -d)
web=$(free_port)
base="http://127.0.0.1:$web"
password="api check password"
fail() { echo "api-check: $*"; echo "--- wages log:"; tail -30 "$dir/wages.log"; exit 1; }
cleanup() { stop_bg "$dir"; rm -rf "$dir"; }
trap cleanup EXIT

start_bg "$dir" "$dir/wages.log" env -i PATH="$PATH" \
  LEPTOS_SITE_ADDR="127.0.0.1:$web" LEPTOS_SITE_ROOT="$PWD/target/site" \
  WAGES_DATABASE_URL="sqlite://$dir/wages.db" WAGES_MQTT_LISTEN=0 \
  WAGES_ADMIN_PASSWORD="$password" WAGES_LOG=warn "$binary"
wait_for_http "$base/healthz" 200 60 || fail "/healthz did not answer within 60 s"

# A write token, made as a person would: log in, then the Tokens page's form.
jar="$dir/cookies"
curl -fsS -o /dev/null -c "$jar" --data-urlencode username=admin --data-urlencode "password=$password" "$base/login" \
  || fail "cannot log in"
action=$(curl -fsS -b "$jar" "$base/tokens" | grep -o 'action="[^"]*create_token[^"]*"' | cut -d'"' -f2)
[ -n "$action" ] || fail "no token form on /tokens"
token=$(curl -fsS -b "$jar" -H 'accept: application/json' --data-urlencode name=api-check \
  --data-urlencode scope=write "$base$action" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])') \
  || fail "cannot create a token"

# What the document's examples name, so their routes answer more than 404: the scale
# `scale-01`, beans 1 and the shot `brew-0042` on it (a Visualizer shot, imported).
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
api -o /dev/null -d '{"client_id":"scale-01","name":"Bar, left group"}' "$base/api/devices" || fail "cannot register scale-01"
api -o /dev/null -d '{"roaster":"Square Mile","name":"Red Brick"}' "$base/api/beans" || fail "cannot add beans"
api -o /dev/null "$base/api/shots/import?scale=scale-01&session_id=brew-0042" -d '{"id":"0f2b",
  "start_time":"2026-11-30T07:15:00.000Z","bean_brand":"Square Mile","bean_type":"Red Brick","bean_weight":"18.0",
  "timeframe":["0.0","0.5","1.0","1.5"],"data":{"espresso_weight":["0.0","2.0","5.5","9.0"]}}' \
  || fail "cannot import a shot"

# Link inference from responses is off: Schemathesis 4.32 stops with a traceback when a
# response holds a URL that Python cannot split (a firmware URL such as `http://[`).
cat >"$dir/schemathesis.toml" <<'TOML'
[phases.stateful.inference]
algorithms = []
TOML
# From the temporary folder: Schemathesis keeps a .schemathesis cache where it runs.
cd "$dir"
# One worker: with two threads, Schemathesis 4.32's coverage phase on Python 3.11 now and
# then stops with an error of its own (CPython's "AST constructor recursion depth
# mismatch" while Hypothesis reads a lambda's source), a crash of the tool, not a finding.
"$venv/bin/schemathesis" --config-file "$dir/schemathesis.toml" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all --phases examples,coverage,fuzzing,stateful \
  --exclude-path-regex '/live$' \
  --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
  --no-color
