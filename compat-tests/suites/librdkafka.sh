#!/usr/bin/env bash
# librdkafka's own test suite (tests/0xxx, run by its test-runner) against one broker.
# Usage: librdkafka.sh HOST:PORT [all | NNNN...]
#   default: the tests in librdkafka-allow.txt, which must all pass (the allow-list only grows);
#   consumer: the group tests of librdkafka-allow-consumer.txt with group.protocol=consumer;
#   all:     every test, one at a time, printing each one's status (slow: about half an hour);
#   NNNN...: just these tests.
#
# The sources come from the npm registry: the node-rdkafka package bundles librdkafka's complete
# source tree, tests included. The tarball is pinned by version and checked against its
# registry integrity hash; it is unpacked and built under .compat/librdkafka (nothing of it is
# kept in this repository).
#
# The broker should auto-create topics with 4 partitions (num.partitions=4), as the suite
# assumes; run.sh starts its broker that way for this suite.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bs=$1
shift
mode=${1:-allowed}

version=3.6.1 # node-rdkafka 3.6.1 bundles librdkafka 2.12.0
integrity="sha512-sfpTbrT35429cs0RE8Yb9avGX9BiRRvpV7aweQsghKTjtrVZP3jBrKOPItWXAqHb8doyh3SkuGuUVBLgig1SRg=="
work="$root/.compat/librdkafka"
src="$work/package/deps/librdkafka"
runner="$src/tests/test-runner"

if [ ! -x "$runner" ]; then
  mkdir -p "$work"
  tarball="$work/node-rdkafka-$version.tgz"
  if [ ! -f "$tarball" ]; then
    (cd "$work" && npm pack --silent "node-rdkafka@$version" >/dev/null) || { echo "cannot download node-rdkafka $version"; exit 2; }
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "node-rdkafka $version: integrity mismatch ($got)"; rm -f "$tarball"; exit 2
  fi
  rm -rf "$work/package" && tar xzf "$tarball" -C "$work"
  # Optional features this broker does not use (TLS, SASL/Kerberos, OIDC over HTTP) are left out,
  # so only zlib from Debian is needed; lz4 and snappy are built in.
  (cd "$src" && ./configure --disable-ssl --disable-gssapi --disable-curl --disable-zstd --disable-lz4-ext \
     && make -j2 libs && make -C tests -j2 build) >"$work/build.log" 2>&1 \
    || { echo "librdkafka build failed; see $work/build.log"; tail -20 "$work/build.log"; exit 2; }
fi

conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf 'metadata.broker.list=%s\n' "$bs" >"$conf"

case "$mode" in
  allowed) tests=$(grep -Eo '^[0-9]{4}' "$here/librdkafka-allow.txt") ;;
  # The group tests again with KIP-848's consumer protocol (group.protocol=consumer).
  consumer)
    tests=$(grep -Eo '^[0-9]{4}' "$here/librdkafka-allow-consumer.txt")
    export TEST_CONSUMER_GROUP_PROTOCOL=consumer
    ;;
  all) tests=$(cd "$src/tests" && ls 0*.c 0*.cpp | grep -Eo '^[0-9]{4}' | sort -u) ;;
  *) tests="$*"; mode=selected ;;
esac

passed=0 failed=0 skipped=0
for t in $tests; do
  # -V: the broker version the suite gates tests on (Strata speaks Kafka 4.1's protocol);
  # -Q quick mode; -E no socket-emulation tests; -L no local-only tests.
  # CI=1 always: the suite's own CI mode (longer timeouts, latency measurements skipped) is
  # chosen by that variable, and a run must not depend on whether the caller's shell sets it.
  out=$(cd "$src/tests" && CI=1 LD_LIBRARY_PATH="../src:../src-cpp" RDKAFKA_TEST_CONF="$conf" TESTS="$t" \
        timeout 300 ./test-runner -V 4.1.0.0 -Q -E -L 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  # A test file may hold several tests (a mock-cluster variant beside the broker one): it
  # passes when one ran and passed and none failed.
  rows=$(grep -E "^\| ${t}_" <<<"$out" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
  if [ -z "$rows" ] || grep -q FAILED <<<"$rows"; then status=FAILED
  elif grep -q PASSED <<<"$rows"; then status=PASSED
  else status=SKIPPED; fi
  case "$status" in
    PASSED) passed=$((passed + 1)); echo "PASS $t" ;;
    SKIPPED) skipped=$((skipped + 1)); echo "SKIP $t: $(grep -m1 -iE 'skipping|SKIPPED:' <<<"$out" | cut -c1-160)" ;;
    *) failed=$((failed + 1)); echo "FAIL $t: $(grep -m1 -A1 -E '^### Test' <<<"$out" | tail -1 | cut -c1-200)" ;;
  esac
done
if [ "$mode" = allowed ] || [ "$mode" = consumer ]; then
  # An allowed test that is skipped no longer runs: that is a failure of the allow-list.
  failed=$((failed + skipped))
fi
label=$mode; [ "$mode" = consumer ] && label="allowed, group.protocol=consumer"
echo "librdkafka tests ($label): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
