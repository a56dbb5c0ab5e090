# The services the Rust tests need, each private (its own data directory and port) and
# stopped when the calling script exits: PostgreSQL, Mosquitto, RabbitMQ with its MQTT
# plugin, VictoriaMetrics and InfluxDB 1.x. Source it, then call start_test_services;
# it exports the WAGES_TEST_* URLs the tests read. Used by test.sh and coverage.sh.

start_test_services() {
  # A private PostgreSQL for the registry tests on that backend; stopped on exit.
  pg_dir=$(mktemp -d -p /tmp wages-pg.XXXXXX)
  trap 'scripts/pg.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
  if ! WAGES_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pg_dir"); then
    echo "could not start PostgreSQL: see $pg_dir/pg.log"; cat "$pg_dir"/*.log; return 1
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
    echo "could not start Mosquitto"; cat "$mq_dir"/*.log; return 1
  fi
  if ! WAGES_TEST_RABBITMQ_URL=$(scripts/rabbitmq.sh start "$rmq_dir"); then
    echo "could not start RabbitMQ"; tail -n 50 "$rmq_dir"/*.log "$rmq_dir"/log/* 2>/dev/null; return 1
  fi
  # The same RabbitMQ over AMQP (guest may log in from loopback), for the nodes' shared queue.
  WAGES_TEST_RABBITMQ_AMQP_URL="amqp://guest:guest@127.0.0.1:$(sed -n 's/^AMQP=//p' "$rmq_dir/ports.env")/%2f"
  if ! WAGES_TEST_VM_URL=$(scripts/victoria-metrics.sh start "$vm_dir"); then
    echo "could not start VictoriaMetrics"; cat "$vm_dir"/*.log; return 1
  fi
  if ! WAGES_TEST_INFLUXDB1_URL=$(scripts/influxdb1.sh start "$ix_dir"); then
    echo "could not start InfluxDB 1.x"; cat "$ix_dir"/*.log; return 1
  fi
  export WAGES_TEST_MOSQUITTO_URL WAGES_TEST_RABBITMQ_URL WAGES_TEST_RABBITMQ_AMQP_URL WAGES_TEST_VM_URL WAGES_TEST_INFLUXDB1_URL
}
