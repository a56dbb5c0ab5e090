#!/usr/bin/env bash
# A private Mosquitto for tests: its own config, port and log, never the machine's.
#   scripts/mosquitto.sh start DIR   starts it, prints its mqtt:// URL
#   scripts/mosquitto.sh stop DIR    stops it
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start or stop}; dir=${2:?a directory}
case $cmd in
  start)
    mkdir -p "$dir"
    port=$(free_port)
    cat >"$dir/mosquitto.conf" <<CONF
user root
per_listener_settings false
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 1000
log_dest file $dir/mosquitto.log
listener $port 127.0.0.1
socket_domain ipv4
CONF
    start_bg "$dir" "$dir/stdout.log" mosquitto -c "$dir/mosquitto.conf"
    wait_for_port "$port" 10 || { echo "mosquitto did not start: see $dir/mosquitto.log" >&2; exit 1; }
    echo "mqtt://127.0.0.1:$port"
    ;;
  stop)
    stop_bg "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
