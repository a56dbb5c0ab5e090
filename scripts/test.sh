#!/usr/bin/env bash
# Every check Wages has, as CI runs it: formatting, lints, all Rust tests (unit, doc,
# integration), then the Playwright suite in Chromium against a release build, served
# at the root and under /wages. Installs what is missing first. Ends with a summary;
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


e2e() {
  local data; data=$(mktemp -d)
  E2E_PORT_ROOT=$(free_port) E2E_PORT_WAGES=$(free_port) E2E_DATA_DIR=$data \
    bash -c 'cd end2end && npx playwright test'
  local rc=$?
  rm -rf "$data"
  return $rc
}

if ! scripts/setup.sh --test; then
  echo "setup failed: see above"; exit 1
fi

# A private PostgreSQL for the registry tests on that backend; stopped on exit.
pg_dir=$(mktemp -d -p /tmp wages-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
if ! WAGES_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pg_dir"); then
  echo "could not start PostgreSQL: see $pg_dir/pg.log"; cat "$pg_dir"/*.log; exit 1
fi
export WAGES_TEST_POSTGRES_URL

# A private Mosquitto and a private RabbitMQ (MQTT plugin) for the external-broker
# tests, VictoriaMetrics and InfluxDB 1.x for the InfluxDB tests; stopped on exit too.
mq_dir=$(mktemp -d -p /tmp wages-mq.XXXXXX)
rmq_dir=$(mktemp -d -p /tmp wages-rmq.XXXXXX)
vm_dir=$(mktemp -d -p /tmp wages-vm.XXXXXX)
ix_dir=$(mktemp -d -p /tmp wages-ix.XXXXXX)
trap 'scripts/pg.sh stop "$pg_dir"; scripts/mosquitto.sh stop "$mq_dir"; scripts/rabbitmq.sh stop "$rmq_dir"
      scripts/victoria-metrics.sh stop "$vm_dir"; scripts/influxdb1.sh stop "$ix_dir"
      rm -rf "$pg_dir" "$mq_dir" "$rmq_dir" "$vm_dir" "$ix_dir"' EXIT
if ! WAGES_TEST_MOSQUITTO_URL=$(scripts/mosquitto.sh start "$mq_dir"); then
  echo "could not start Mosquitto"; cat "$mq_dir"/*.log; exit 1
fi
if ! WAGES_TEST_RABBITMQ_URL=$(scripts/rabbitmq.sh start "$rmq_dir"); then
  echo "could not start RabbitMQ"; tail -n 50 "$rmq_dir"/*.log "$rmq_dir"/log/* 2>/dev/null; exit 1
fi
if ! WAGES_TEST_VM_URL=$(scripts/victoria-metrics.sh start "$vm_dir"); then
  echo "could not start VictoriaMetrics"; cat "$vm_dir"/*.log; exit 1
fi
if ! WAGES_TEST_INFLUXDB1_URL=$(scripts/influxdb1.sh start "$ix_dir"); then
  echo "could not start InfluxDB 1.x"; cat "$ix_dir"/*.log; exit 1
fi
export WAGES_TEST_MOSQUITTO_URL WAGES_TEST_RABBITMQ_URL WAGES_TEST_VM_URL WAGES_TEST_INFLUXDB1_URL

step "cargo fmt --check" cargo fmt --all --check
step "clippy (server, native)" cargo clippy --locked -p wages-codec -p wages-sessions -p wages-store -p app -p server --all-targets --features app/ssr,wages-store/db -- -D warnings
step "clippy (browser, wasm32)" cargo clippy --locked -p frontend -p app --target wasm32-unknown-unknown --features app/hydrate -- -D warnings
# A stuck test fails the step after 25 minutes instead of holding up the whole run.
step "cargo test (unit, doc, integration; SQLite, PostgreSQL, Mosquitto, RabbitMQ, VictoriaMetrics, InfluxDB 1.x)" timeout 1500 cargo test --locked --no-fail-fast -p wages-codec -p wages-sessions -p wages-store -p app -p server --features app/ssr,wages-store/db
# Every input in the fuzz corpora (including the crashes found once) through every
# target again: a regression test for the parsers of outside input (docs/fuzzing.md).
step "fuzz corpora replay (cargo fuzz, nightly)" scripts/fuzz.sh replay
if step "release build (cargo leptos build --release)" cargo leptos build --release; [ "${results[-1]:0:2}" = ok ]; then
  step "Playwright in Chromium, at / and under /wages" e2e
else
  skip "Playwright in Chromium" "no release build"
fi

printf '\n\033[1mSummary\033[0m\n'
printf '  %s\n' "${results[@]}"
passed=$(( ${#results[@]} - failed ))
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
