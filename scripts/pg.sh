#!/usr/bin/env bash
# A private PostgreSQL for tests: its own data directory and port, never the machine's.
#   scripts/pg.sh start DIR   initialises and starts a cluster in DIR, prints its URL
#   scripts/pg.sh stop DIR    stops it
#   scripts/pg.sh resume DIR  starts a stopped cluster again, on the same port (fault tests)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:?start or stop}; dir=${2:?a directory}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# initdb refuses root, and the postgres user must reach every parent directory.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $cmd in
  start)
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 755 "$dir"
    port=$(free_port)
    echo "$port" >"$dir/port"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  resume)
    port=$(cat "$dir/port")
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop|resume DIR" >&2; exit 2 ;;
esac
