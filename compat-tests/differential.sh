#!/usr/bin/env bash
# Starts Apache Kafka (KRaft, one node) and Strata side by side and runs the differential test
# (tests/differential.rs) against both.
set -uo pipefail
cd "$(dirname "$0")/.."
. compat-tests/lib/broker.sh
work=$(mktemp -d)
kport=$(free_port)
cleanup() { strata_stop >/dev/null 2>&1; compat-tests/kafka-ref/kafka.sh stop "$work/kafka"; rm -rf "$work"; }
trap cleanup EXIT
# Retention is checked every second on both, so the retention steps settle quickly.
KAFKA_REF_PROPS="log.retention.check.interval.ms=1000" \
  compat-tests/kafka-ref/kafka.sh start "$work/kafka" "$kport" || exit 1
# The same first-join delay as the reference (kafka-ref sets 0).
strata_start "$work/strata" --set group.initial.rebalance.delay.ms=0 \
  --set log.retention.check.interval.ms=1000 || exit 1
KAFKA_REF_BOOTSTRAP="127.0.0.1:$kport" STRATA_BOOTSTRAP="$STRATA_BOOTSTRAP" \
  cargo test --locked --test differential -- --nocapture 2>&1 | grep -vE '^\s+(Compiling|Running|Finished)'
exit "${PIPESTATUS[0]}"
