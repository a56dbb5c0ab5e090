#!/usr/bin/env bash
# Every check Wages has, as CI runs it: formatting, lints, all Rust tests (unit, doc,
# integration), then the Playwright suite in Chromium against a release build, served
# at the root and under /wages, and the API against its OpenAPI document
# (scripts/api-check.sh). Installs what is missing first. Ends with a summary;
# exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

results=()
failed=0
step() { # name command...
  local name=$1 start=$SECONDS; shift
  printf '\n\033[1;34m==> %s\033[0m\n' "$name"
  if "$@"; then
    results+=("ok      $(printf '%4ss' $((SECONDS - start)))  $name")
  else
    results+=("FAILED  $(printf '%4ss' $((SECONDS - start)))  $name")
    failed=$((failed + 1))
  fi
}
skip() { results+=("skipped         $1 ($2)"); failed=$((failed + 1)); }


# Lines worth seeing again under the summary (the names of failed or flaky tests).
details=()

e2e() {
  local data log; data=$(mktemp -d); log=$(mktemp)
  E2E_PORT_ROOT=$(free_port) E2E_PORT_WAGES=$(free_port) E2E_DATA_DIR=$data \
    bash -c 'cd end2end && npx playwright test' 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # Playwright ends with "N failed" / "N flaky" and the tests' names, indented below.
  mapfile -t -O "${#details[@]}" details < <(sed -n '/^  [0-9]* \(failed\|flaky\)$/,/^  [0-9]* passed/p' "$log" | grep -v 'passed')
  rm -rf "$data" "$log"
  return "$rc"
}

if ! scripts/setup.sh --test; then
  echo "setup failed: see above"; exit 1
fi

# The services the tests need, private and stopped on exit (scripts/services.sh).
. scripts/services.sh
start_test_services || exit 1

step "cargo fmt --check" cargo fmt --all --check
step "clippy (server, native)" cargo clippy --locked -p wages-codec -p wages-scales -p wages-sessions -p wages-store -p app -p server -p wages-testkit --all-targets --features app/ssr,wages-store/testing -- -D warnings
step "clippy (browser, wasm32)" cargo clippy --locked -p frontend -p app -p wages-scales --target wasm32-unknown-unknown --features app/hydrate -- -D warnings
# A stuck test fails the step after 25 minutes instead of holding up the whole run.
step "cargo test (unit, doc, integration; SQLite, PostgreSQL, Mosquitto, RabbitMQ, VictoriaMetrics, InfluxDB 1.x)" timeout 1500 cargo test --locked --no-fail-fast -p wages-codec -p wages-scales -p wages-sessions -p wages-store -p app -p server --features app/ssr,wages-store/testing
# Every input in the fuzz corpora (including the crashes found once) through every
# target again: a regression test for the parsers of outside input (docs/fuzzing.md).
step "fuzz corpora replay (cargo fuzz, nightly)" scripts/fuzz.sh replay
step "Helm chart: lint and render (helm from PyPI)" scripts/helm-check.sh
if step "release build (cargo leptos build --release --precompress --split)" cargo leptos build --release --precompress --split; [ "${results[-1]:0:2}" = ok ]; then
  step "Playwright in Chromium, at / and under /wages" e2e
  step "API against its OpenAPI document (Schemathesis from PyPI)" scripts/api-check.sh
  step "container image steps, laid out and smoke-tested (no container engine)" scripts/image-check.sh
else
  skip "Playwright in Chromium" "no release build"
  skip "API against its OpenAPI document" "no release build"
  skip "container image steps" "no release build"
fi

printf '\n\033[1mSummary\033[0m\n'
printf '  %s\n' "${results[@]}"
[ "${#details[@]}" -eq 0 ] || printf '  %s\n' "Playwright:" "${details[@]}"
passed=$(( ${#results[@]} - failed ))
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
