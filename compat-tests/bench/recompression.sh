#!/usr/bin/env bash
# Topic-level recompression cost (docs/benchmarks.md): N records of about 1 KB, sent uncompressed
# by the Java producer, to topics with compression.type=producer/gzip/lz4/zstd/snappy; reports the
# broker's CPU time and stored bytes per topic. Needs `make build` and Kafka's jars (.compat).
set -u
cd "$(dirname "$0")/../.."
LIBS=".compat/kafka/libs/*"
N=${N:-100000}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
# 2,000 JSON-like lines of about 1 KB: ids, names and words from a small vocabulary.
python3 - "$D/payload.txt" <<'PY'
import random, sys
random.seed(7)
words = "alpha beta gamma delta epsilon kafka broker record batch offset consumer producer topic partition leader replica segment index fetch commit".split()
with open(sys.argv[1], "w") as f:
    for i in range(2000):
        s = '{"id":%d,"user":"user-%05d","event":"%s","ts":%d,"text":"' % (i, random.randrange(100000), random.choice(["click", "view", "buy", "scroll"]), 1700000000000 + random.randrange(10**9))
        while len(s) < 1000:
            s += random.choice(words) + " "
        f.write(s[:1000] + '"}\n')
PY
SP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/strata --listen 127.0.0.1:$SP --data-dir $D/data > $D/log 2>&1 &
PID=$!; sleep 1
B=127.0.0.1:$SP
cpu() { awk '{print $14+$15}' /proc/$PID/stat; }
TCK=$(getconf CLK_TCK)
for c in ${CODECS:-producer gzip lz4 zstd snappy}; do
  java -cp "$LIBS" org.apache.kafka.tools.TopicCommand --bootstrap-server $B --create --topic rc-$c --partitions 1 --config compression.type=$c >/dev/null 2>&1
done
for c in ${CODECS:-producer gzip lz4 zstd snappy}; do
  before=$(cpu)
  out=$(java -cp "$LIBS" org.apache.kafka.tools.ProducerPerformance --topic rc-$c --num-records $N --payload-file $D/payload.txt --throughput -1 \
     --producer-props bootstrap.servers=$B acks=1 compression.type=none linger.ms=5 batch.size=65536 2>/dev/null | tail -1)
  after=$(cpu)
  bytes=$(cat $D/data/rc-$c-0/*.log | wc -c)
  echo "$c: broker_cpu_s=$(echo "scale=2; ($after-$before)/$TCK" | bc) stored_bytes=$bytes | $out"
done
kill $PID; wait $PID 2>/dev/null
