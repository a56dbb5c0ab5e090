#!/usr/bin/env bash
# A private Mosquitto for tests: its own config, port and log, never the machine's.
#   scripts/mosquitto.sh start DIR   starts it, prints its mqtt:// URL
#   scripts/mosquitto.sh stop DIR    stops it
set -euo pipefail
cmd=${1:?start or stop}; dir=${2:?a directory}
case $cmd in
  start)
    mkdir -p "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$dir/mosquitto.conf" <<CONF
user root
per_listener_settings false
allow_anonymous true
persistence false
max_queued_messages 100000
log_dest file $dir/mosquitto.log
listener $port 127.0.0.1
socket_domain ipv4
CONF
    mosquitto -c "$dir/mosquitto.conf" >"$dir/stdout.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
        echo "mqtt://127.0.0.1:$port"; exit 0
      fi
      sleep 0.05
    done
    echo "mosquitto did not start: see $dir/mosquitto.log" >&2; exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
