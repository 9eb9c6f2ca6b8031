#!/usr/bin/env bash
# franz-go's own pkg/kgo tests (the version pinned in compat-tests/go/go.mod) against one broker.
# Usage: franz-go.sh HOST:PORT [all]
#   default: the tests in franz-go-allow.txt, which must all pass (the allow-list only grows);
#   all:     every test, reporting passed / run / total (slow: group and transaction tests
#            retry until their timeouts while Strata lacks those APIs).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bs=$1 mode=${2:-allowed}
cd "$here/../go"
dir=$(go list -m -f '{{.Dir}}' github.com/twmb/franz-go)
total=$(grep -h '^func Test[A-Za-z0-9_]*(t \*testing.T)' "$dir"/pkg/kgo/*_test.go | wc -l)
if [ "$mode" = all ]; then
  pattern='.'
  timeout=30m
else
  pattern="^($(paste -sd'|' "$here/franz-go-allow.txt"))\$"
  timeout=10m
fi
log=$(mktemp)
KGO_SEEDS=$bs KGO_TEST_RF=1 KGO_TEST_RECORDS=2000 go test -count=1 -timeout "$timeout" -v -run "$pattern" \
  github.com/twmb/franz-go/pkg/kgo >"$log" 2>&1
passed=$(grep -cE '^--- PASS' "$log")
failed=$(grep -cE '^--- FAIL' "$log")
grep -E '^--- FAIL' "$log" | sed 's/^/  /'
if [ "$mode" != all ]; then
  # Every allowed test must have passed, not merely not failed.
  missing=$(comm -23 <(sort "$here/franz-go-allow.txt") <(grep -E '^--- PASS' "$log" | awk '{print $3}' | sort) | wc -l)
  failed=$((failed + missing))
fi
echo "franz-go kgo suite ($mode): $passed passed, $failed failed (of $total tests)"
rm -f "$log"
[ "$failed" -eq 0 ]
