#!/usr/bin/env bash
# A private InfluxDB 1.x (Debian's 1.6) for tests: it serves InfluxQL on `/query`, the
# read path Wages uses for InfluxDB (also served by InfluxDB 1.8+, 2.x and 3.x).
#   scripts/influxdb1.sh start DIR   starts it, prints its http:// URL
#   scripts/influxdb1.sh stop DIR    stops it
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start or stop}; dir=${2:?a directory}
case $cmd in
  start)
    mkdir -p "$dir"
    port=$(free_port); rpc=$(free_port)
    while [ "$rpc" = "$port" ]; do rpc=$(free_port); done
    cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
    start_bg "$dir" "$dir/influxd.log" influxd -config "$dir/influxdb.conf"
    # Ready when its /ping answers, not merely when its port is open.
    wait_for_http "http://127.0.0.1:$port/ping" 204 20 \
      || { echo "influxd did not start: see $dir/influxd.log" >&2; exit 1; }
    echo "http://127.0.0.1:$port"
    ;;
  stop)
    stop_bg "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
