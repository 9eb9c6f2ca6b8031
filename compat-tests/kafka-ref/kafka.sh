#!/usr/bin/env bash
# Apache Kafka (KRaft, one node acting as broker and controller) for differential tests and
# benchmarks.
#   kafka.sh start DATA_DIR PORT    formats DATA_DIR, starts Kafka in the background, waits for PORT
#   kafka.sh restart DATA_DIR PORT  starts it again on the same data (no formatting)
#   kafka.sh stop DATA_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
libs="$root/.compat/kafka/libs"
cmd=$1 dir=$2
# Starts Kafka on $dir's server.properties in the background and waits (up to 60 s) for $port.
launch() {
  nohup java -Xmx1g -Xms1g -cp "$libs/*" kafka.Kafka "$dir/server.properties" >>"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 1200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then exit 0; fi
    sleep 0.05
  done
  echo "Kafka did not start; see $dir/kafka.log" >&2
  exit 1
}

case "$cmd" in
  start)
    port=$3
    "$root/compat-tests/kafka-ref/fetch.sh"
    rm -rf "$dir" && mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$((port + 1))
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$((port + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
    # Extra lines for one caller (the differential test's retention steps need a short check).
    [ -z "${KAFKA_REF_PROPS:-}" ] || printf '%s\n' "$KAFKA_REF_PROPS" >>"$dir/server.properties"
    id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" --standalone >"$dir/format.log" 2>&1
    launch
    ;;
  restart)
    # kafka.sh restart DATA_DIR PORT: start again on a directory "start" formatted, keeping data.
    port=$3
    launch
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      pid=$(cat "$dir/pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
  tool)
    # kafka.sh tool - CLASS ARGS...: run one of Kafka's command-line tools.
    shift 2
    exec java -Xmx512m -cp "$libs/*" "$@"
    ;;
  *) echo "usage: kafka.sh start DIR PORT | stop DIR | tool - CLASS ARGS..." >&2; exit 2 ;;
esac
