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
