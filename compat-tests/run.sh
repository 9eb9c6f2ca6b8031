#!/usr/bin/env bash
# Runs every client suite against a fresh Strata built from this tree and prints a pass/fail
# table. Usage: compat-tests/run.sh [suite...]
# (suites: python java java3 go node kcat cli kgo-suite rdk-suite; default all;
#  kgo-all and rdk-all run the clients' whole suites, which is slow: make compat-suites)
# With KAFKA_BOOTSTRAP set, the suites run against that broker instead (e.g. Apache Kafka).
set -uo pipefail
cd "$(dirname "$0")/.."
. compat-tests/lib/broker.sh

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(python java java3 go node kcat cli kgo-suite rdk-suite)
work=$(mktemp -d)
trap 'strata_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  # The same first-join delay as the Apache Kafka reference (kafka-ref sets 0).
  strata_start "$work/data" --set group.initial.rebalance.delay.ms=0 || exit 1
  bootstrap=$STRATA_BOOTSTRAP
else
  bootstrap=$KAFKA_BOOTSTRAP
fi
echo "compat suites against $bootstrap"

results=()
failed=0
record() {
  # $1 suite name, $2 log file, $3 exit status: keep the suite's "name: N passed, N failed" lines.
  local lines
  lines=$(grep -E '^[a-zA-Z0-9_()., /-]+: [0-9]+ passed, [0-9]+ failed' "$2" || true)
  if [ -z "$lines" ]; then lines="$1: 0 passed, 1 failed (no summary; see log)"; fi
  while IFS= read -r l; do results+=("$l"); done <<<"$lines"
  if [ "$3" -ne 0 ]; then failed=1; grep -E '^(FAIL|SKIP)' "$2" | head -20; fi
}

for suite in "${suites[@]}"; do
  log="$work/$suite.log"
  case "$suite" in
    python)
      # Against Strata the suite starts its own brokers (the crash tests kill and restart them).
      ext=(); [ -n "${KAFKA_BOOTSTRAP:-}" ] && ext=(--bootstrap "$bootstrap")
      STRATA_BIN="$STRATA_BIN" .compat/venv/bin/python -m pytest -q compat-tests/python "${ext[@]}" \
        -p no:cacheprovider >"$log" 2>&1
      status=$?
      ;;
    java)
      (cd compat-tests/java && java -cp "target/classes:target/lib/*" io.strata.compat.Scenarios "$bootstrap") >"$log" 2>&1
      status=$?
      ;;
    java3)
      (cd compat-tests/java && java -cp "target/classes:target/lib3/*" io.strata.compat.Scenarios "$bootstrap") >"$log" 2>&1
      status=$?
      ;;
    kcat)
      compat-tests/kcat/run.sh "$bootstrap" >"$log" 2>&1
      status=$?
      ;;
    kgo-suite)
      compat-tests/suites/franz-go.sh "$bootstrap" >"$log" 2>&1
      status=$?
      ;;
    rdk-suite | rdk-all)
      # librdkafka's suite expects auto-created topics to have 4 partitions, which other suites'
      # auto-created topics must not get: against Strata it gets a broker of its own.
      mode=allowed; [ "$suite" = rdk-all ] && mode=all
      if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
        (
          strata_start "$work/rdk" --set group.initial.rebalance.delay.ms=0 --set num.partitions=4 || exit 2
          compat-tests/suites/librdkafka.sh "$STRATA_BOOTSTRAP" "$mode"
          s=$?
          if [ "$mode" = allowed ]; then
            compat-tests/suites/librdkafka.sh "$STRATA_BOOTSTRAP" consumer || s=1
          fi
          strata_stop || s=1
          exit $s
        ) >"$log" 2>&1
      else
        (
          compat-tests/suites/librdkafka.sh "$bootstrap" "$mode"
          s=$?
          if [ "$mode" = allowed ]; then
            compat-tests/suites/librdkafka.sh "$bootstrap" consumer || s=1
          fi
          exit $s
        ) >"$log" 2>&1
      fi
      status=$?
      ;;
    kgo-all)
      compat-tests/suites/franz-go.sh "$bootstrap" all >"$log" 2>&1
      status=$?
      ;;
    cli)
      compat-tests/cli/run.sh "$bootstrap" >"$log" 2>&1
      status=$?
      ;;
    go)
      (cd compat-tests/go && ./compat-go "$bootstrap") >"$log" 2>&1
      status=$?
      ;;
    node)
      (cd compat-tests/node && node scenarios.js "$bootstrap") >"$log" 2>&1
      status=$?
      ;;
    *) echo "unknown suite $suite"; exit 2 ;;
  esac
  record "$suite" "$log" "$status"
done

if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  strata_stop || failed=1
fi

echo
echo "| client | passed | failed |"
echo "|--------|-------:|-------:|"
total_pass=0; total_fail=0
for l in "${results[@]}"; do
  name=${l%%:*}
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$l")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$l")
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  echo "| $name | $p | $f |"
done
echo
echo "compat: $total_pass passed, $total_fail failed"
[ "$failed" -eq 0 ] && [ "$total_fail" -eq 0 ]
