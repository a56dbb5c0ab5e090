#!/usr/bin/env bash
# A private RabbitMQ 3.10 node with its MQTT plugin, for tests: its own ports, data,
# logs, cookie and epmd, so nothing of the machine's /etc/rabbitmq or /var leaks in.
#   scripts/rabbitmq.sh start DIR   starts it (12-17 s on a fresh DIR), prints its mqtt:// URL
#   scripts/rabbitmq.sh stop DIR    stops it and its epmd
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start or stop}; dir=${2:?a directory}
case $dir in
  *$'\n'* | '') echo "rabbitmq.sh: DIR must be one directory, got: $dir" >&2; exit 2 ;;
esac
dir=$(realpath -m -- "$dir")
env_file="$dir/ports.env"
if [ "$cmd" = start ]; then
  mkdir -p "$dir"
  { echo "AMQP=$(free_port)"; echo "MQTT=$(free_port)"; echo "DIST=$(free_port)"; echo "EPMD=$(free_port)"; } >"$env_file"
fi
[ -f "$env_file" ] || exit 0
# shellcheck disable=SC1090
. "$env_file"
export RABBITMQ_NODENAME="wages_$AMQP@localhost" RABBITMQ_MNESIA_BASE="$dir/mnesia" \
  RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
  RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
  RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" RABBITMQ_DIST_PORT="$DIST" \
  ERL_EPMD_PORT="$EPMD" ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_CTL_DIST_PORT_MIN=$((DIST + 1)) RABBITMQ_CTL_DIST_PORT_MAX=$((DIST + 10)) \
  HOME="$dir" PATH="/usr/lib/rabbitmq/bin:$PATH"
# Erlang writes a crash dump into the working directory unless told where: keep it in DIR.
export ERL_CRASH_DUMP="$dir/erl_crash.dump"
cd "$dir"
case $cmd in
  start)
    printf 'wages-test-cookie' >"$dir/.erlang.cookie"; chmod 400 "$dir/.erlang.cookie"
    touch "$dir/rabbitmq-env.conf"
    echo '[].' >"$dir/advanced.config"
    cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$AMQP
mqtt.listeners.tcp.1 = 127.0.0.1:$MQTT
mqtt.allow_anonymous = true
mqtt.prefetch = 200
CONF
    rabbitmq-plugins --offline enable rabbitmq_mqtt >"$dir/plugins.log" 2>&1
    rabbitmq-server >"$dir/server.out" 2>&1 &
    rabbitmqctl -n "$RABBITMQ_NODENAME" wait --timeout 120 "$dir/mnesia/$RABBITMQ_NODENAME.pid" >"$dir/wait.log" 2>&1
    wait_for_port "$MQTT" 20 || { echo "RabbitMQ's MQTT listener did not open: see $dir/log" >&2; exit 1; }
    echo "mqtt://127.0.0.1:$MQTT"
    ;;
  stop)
    # Bounded: when the node is already gone (an interrupted run killed it with the rest),
    # rabbitmqctl would wait for it forever.
    timeout 60 rabbitmqctl -n "$RABBITMQ_NODENAME" stop "$dir/mnesia/$RABBITMQ_NODENAME.pid" >/dev/null 2>&1 || true
    epmd -port "$EPMD" -kill >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
