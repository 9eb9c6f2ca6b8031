# Start and stop a Strata broker for a test run. Sourced by the compat scripts.
#   strata_start DATA_DIR [extra flags...]   sets STRATA_PID and STRATA_BOOTSTRAP
#   strata_stop                                SIGTERM, waits, fails unless the exit status is 0

STRATA_BIN="${STRATA_BIN:-target/release/strata}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

strata_start() {
  local dir="$1"; shift
  local port; port=$(free_port)
  mkdir -p "$dir"
  "$STRATA_BIN" --listen "127.0.0.1:$port" --data-dir "$dir" "$@" >>"$dir/broker.log" 2>&1 &
  STRATA_PID=$!
  STRATA_BOOTSTRAP="127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$STRATA_PID" 2>/dev/null; then
      echo "broker exited during start-up; log:" >&2; tail -20 "$dir/broker.log" >&2; return 1
    fi
    sleep 0.1
  done
  echo "broker did not start listening" >&2
  return 1
}

strata_stop() {
  [ -n "${STRATA_PID:-}" ] || return 0
  kill -TERM "$STRATA_PID" 2>/dev/null || true
  local status=0
  wait "$STRATA_PID" || status=$?
  STRATA_PID=
  if [ "$status" -ne 0 ]; then
    echo "broker exited with status $status after SIGTERM" >&2
    return 1
  fi
}
