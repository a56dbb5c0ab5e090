#!/usr/bin/env bash
# A private VictoriaMetrics (Debian's) for tests: it accepts InfluxDB 2's write API
# (`/api/v2/write`), so the InfluxDB 2 write path is tested against a real server.
# Deduplication is on, so a point written twice is kept once, as InfluxDB does.
#   scripts/victoria-metrics.sh start DIR   starts it, prints its http:// URL
#   scripts/victoria-metrics.sh stop DIR    stops it
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start or stop}; dir=${2:?a directory}
case $cmd in
  start)
    mkdir -p "$dir"
    port=$(free_port)
    start_bg "$dir" "$dir/vm.log" victoria-metrics -storageDataPath "$dir/data" -httpListenAddr "127.0.0.1:$port" \
      -search.latencyOffset 0s -retentionPeriod 100y -dedup.minScrapeInterval 1ms
    wait_for_port "$port" 20 || { echo "victoria-metrics did not start: see $dir/vm.log" >&2; exit 1; }
    echo "http://127.0.0.1:$port"
    ;;
  stop)
    stop_bg "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
