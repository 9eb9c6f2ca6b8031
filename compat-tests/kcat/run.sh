#!/usr/bin/env bash
# kcat (Debian's package, on librdkafka) against one bootstrap address: metadata, produce with
# keys and headers in every codec, consume back, offsets by time. Usage: run.sh HOST:PORT
set -uo pipefail
bs=$1
t="kcat-$(date +%s%N | tail -c 9)"
passed=0 failed=0
check() {
  local name=$1 want=$2 got=$3
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); echo "PASS $name"
  else failed=$((failed + 1)); echo "FAIL $name: want [$want] got [$got]"; fi
}
for codec in none gzip snappy lz4 zstd; do
  seq 1 200 | sed 's/.*/key-&:value-&/' | kcat -b "$bs" -P -t "$t-$codec" -K: -z "$codec" -H "h=$codec" -X topic.metadata.refresh.interval.ms=100 2>/dev/null
  got=$(kcat -b "$bs" -C -t "$t-$codec" -o beginning -e -q -f '%k=%s %h\n' 2>/dev/null | sort | md5sum | cut -c1-8)
  want=$(seq 1 200 | sed "s/.*/key-&=value-& h=$codec/" | sort | md5sum | cut -c1-8)
  check "produce and consume back, $codec" "$want" "$got"
done
check "metadata lists the topic" "1" "$(kcat -b "$bs" -L -t "$t-none" 2>/dev/null | grep -c "topic \"$t-none\" with 1 partitions")"
check "consume from offset 150" "50" "$(kcat -b "$bs" -C -t "$t-none" -o 150 -e -q 2>/dev/null | wc -l)"
check "consume the last 10" "10" "$(kcat -b "$bs" -C -t "$t-none" -o -10 -e -q 2>/dev/null | wc -l)"
echo "kcat($(kcat -V 2>/dev/null | grep -o 'Version [0-9.]*' | head -1)): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
