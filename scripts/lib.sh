# Shared helpers for the service scripts; source it, don't run it.

# Prints a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until 127.0.0.1:PORT accepts connections, up to SECONDS (default 10).
wait_for_port() {
  local port=$1 tries=$(( ${2:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Waits until URL answers with HTTP status CODE, up to SECONDS (default 10).
wait_for_http() {
  local url=$1 code=$2 tries=$(( ${3:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do
    python3 - "$url" "$code" 2>/dev/null <<'PY' && return 0
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=0.5).status == int(sys.argv[2]) else 1)
PY
    sleep 0.1
  done
  return 1
}

# Runs CMD... in the background, its output in LOG, its pid in DIR/pid: start_bg DIR LOG CMD...
start_bg() { local dir=$1 log=$2; shift 2; "$@" >"$log" 2>&1 & echo $! >"$dir/pid"; }

# Stops what start_bg started in DIR, if it still runs.
stop_bg() { if [ -f "$1/pid" ]; then kill "$(cat "$1/pid")" 2>/dev/null || true; fi; }
