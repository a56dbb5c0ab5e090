#!/usr/bin/env bash
# Smoke test of a built Wages as an operator would meet it: starts BINARY with the site
# at SITE_ROOT, an empty SQLite database and the embedded broker on free ports, then
# checks health and readiness, the login page and the WASM it names (compressed, cached
# for good), logs in, registers a scale,
# publishes a reading over MQTT with the scale's own password (mosquitto_pub), reads it
# back through the API and the scale's page, and stops it with SIGTERM, which must end
# it cleanly. RUNNER (optional) runs the binary, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu".
# Usage: scripts/smoke.sh BINARY SITE_ROOT [RUNNER...]
set -euo pipefail
binary=$(realpath "${1:?usage: scripts/smoke.sh BINARY SITE_ROOT [RUNNER...]}")
site=$(realpath "${2:?site root}")
shift 2
cd "$(dirname "$0")/.."
. scripts/lib.sh

dir=$(mktemp -d)
web=$(free_port) mqtt=$(free_port)
base="http://127.0.0.1:$web"
password="smoke test password"
fail() { echo "smoke: $*"; echo "--- wages log:"; tail -30 "$dir/wages.log"; exit 1; }
cleanup() { stop_bg "$dir"; rm -rf "$dir"; }
trap cleanup EXIT

start_bg "$dir" "$dir/wages.log" env -i PATH="$PATH" \
  LEPTOS_SITE_ADDR="127.0.0.1:$web" LEPTOS_SITE_ROOT="$site" \
  WAGES_DATABASE_URL="sqlite://$dir/wages.db" WAGES_MQTT_LISTEN="127.0.0.1:$mqtt" \
  WAGES_ADMIN_PASSWORD="$password" WAGES_LOG_FORMAT=json \
  "$@" "$binary"
wait_for_http "$base/healthz" 200 60 || fail "/healthz did not answer within 60 s"
wait_for_http "$base/readyz" 200 30 || fail "/readyz did not turn ready"
curl -fsS "$base/login" | grep -q "<title>Log in" || fail "the login page is not served"
# The WASM the page names (hashed), sent brotli-compressed and cached for good.
wasm=$(curl -fsS "$base/login" | grep -o '/pkg/wages[^"'"'"']*\.wasm' | head -1)
[ -n "$wasm" ] || fail "the login page names no WASM"
headers=$(curl -fsS -o /dev/null -D - -H 'accept-encoding: br, gzip' "$base$wasm") || fail "the WASM is not served"
grep -qi '^content-encoding: br' <<<"$headers" || fail "the WASM is not sent compressed: $headers"
grep -qi '^cache-control: public, max-age=31536000, immutable' <<<"$headers" || fail "the WASM is not cached for good: $headers"

jar="$dir/cookies"
curl -fsS -o /dev/null -c "$jar" --data-urlencode username=admin --data-urlencode "password=$password" "$base/login" \
  || fail "cannot log in"
registered=$(curl -fsS -b "$jar" -H 'content-type: application/json' \
  -d '{"client_id":"smoke-1","name":"Smoke scale"}' "$base/api/devices") || fail "cannot register a scale"
scale_password=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["mqtt_password"])' <<<"$registered")
now=$(date +%s%3N)
mosquitto_pub -h 127.0.0.1 -p "$mqtt" -q 1 -i smoke-1 -u smoke-1 -P "$scale_password" \
  -t wages/devices/smoke-1/readings -m "client_id=smoke-1;session_id=smoke;value=18.5;tstamp=$now" \
  || fail "the broker did not take the reading"
for _ in $(seq 1 100); do
  summary=$(curl -fsS -b "$jar" "$base/api/devices/smoke-1/sessions/smoke" 2>/dev/null || true)
  [[ "$summary" == *'"count":1'* ]] && break
  sleep 0.2
done
[[ "$summary" == *'"final_weight":18.5'* ]] || fail "the reading was not stored: $summary"
curl -fsS -b "$jar" "$base/devices/smoke-1" | grep -q "Smoke scale" || fail "the scale's page does not show it"

pid=$(cat "$dir/pid")
kill -TERM "$pid"
( sleep 15; kill -9 "$pid" ) >/dev/null 2>&1 & watchdog=$!
rc=0; wait "$pid" || rc=$?
kill "$watchdog" 2>/dev/null || true
[ "$rc" -eq 0 ] || fail "it did not exit cleanly on SIGTERM (exit status $rc)"
echo "smoke: $binary ${*:+(under $*) }served pages and WASM, stored an MQTT reading, stopped cleanly"
