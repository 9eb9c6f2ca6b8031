#!/usr/bin/env bash
# Apache Kafka's own command-line tools (from the Maven Central jars) against one bootstrap
# address. Usage: compat-tests/cli/run.sh HOST:PORT
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bs=$1
tool() { "$root/compat-tests/kafka-ref/kafka.sh" tool - "$@" 2>/dev/null; }
run=$(date +%s%N | tail -c 9)
t="cli-$run"
passed=0 failed=0
check() {
  # check NAME EXPECTED-REGEX COMMAND...: passes when the command exits 0 and prints the pattern.
  local name=$1 want=$2; shift 2
  local out
  if out=$("$@" 2>&1) && grep -Eq -- "$want" <<<"$out"; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: $(tail -3 <<<"$out" | tr '\n' ' ')"
  fi
}

check "kafka-topics --create" "Created topic" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create --topic "$t" --partitions 3 --replication-factor 1
check "kafka-topics --list" "^$t\$" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --list
check "kafka-topics --describe" "PartitionCount: 3" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --describe --topic "$t"
check "kafka-topics --alter --partitions" "" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --alter --topic "$t" --partitions 4
check "kafka-topics --describe after alter" "PartitionCount: 4" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --describe --topic "$t"
check "kafka-configs --alter topic" "Completed updating config" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type topics --entity-name "$t" --alter --add-config retention.ms=3600000
check "kafka-configs --describe topic" "retention.ms=3600000" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type topics --entity-name "$t" --describe
check "kafka-configs --describe broker --all" "log.retention" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type brokers --entity-name 1 --describe --all
check "kafka-verifiable-producer" '"name":"tool_data".*"acked":1000' tool org.apache.kafka.tools.VerifiableProducer --bootstrap-server "$bs" --topic "$t" --max-messages 1000 --acks -1
check "kafka-get-offsets" "^$t:0:[0-9]+" tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$bs" --topic "$t"
# The verifiable producer spreads records with the sticky partitioner, so pick the fullest partition.
best=$(tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$bs" --topic "$t" | sort -t: -k3 -n | tail -1)
p=$(cut -d: -f2 <<<"$best"); end=$(cut -d: -f3 <<<"$best"); mid=$((end / 2))
check "kafka-get-offsets --time -2" "^$t:$p:0\$" tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$bs" --topic "$t" --partitions "$p" --time -2
json=$(mktemp)
printf '{"partitions":[{"topic":"%s","partition":%s,"offset":%s}],"version":1}' "$t" "$p" "$mid" >"$json"
check "kafka-delete-records" "low_watermark: $mid" tool org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server "$bs" --offset-json-file "$json"
rm -f "$json"
check "kafka-get-offsets after delete-records" "^$t:$p:$mid\$" tool org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$bs" --topic "$t" --partitions "$p" --time -2
check "kafka-log-dirs --describe" "\"partition\":\"$t-0\"" tool org.apache.kafka.tools.LogDirsCommand --bootstrap-server "$bs" --describe --topic-list "$t"
check "kafka-console-consumer (assigned partition)" "Processed a total of 1 message" "$root/compat-tests/kafka-ref/kafka.sh" tool - org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bs" --topic "$t" --partition "$p" --offset earliest --max-messages 1 --timeout-ms 20000
# Consumer groups: a console consumer in a group commits what it read; the group tool lists,
# describes, resets and deletes it.
g="cli-group-$run"
cgc() { tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bs" "$@"; }
check "kafka-console-consumer --group" "Processed a total of 10 messages" "$root/compat-tests/kafka-ref/kafka.sh" tool - org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bs" --topic "$t" --group "$g" --from-beginning --max-messages 10 --timeout-ms 30000
check "kafka-consumer-groups --list" "^$g\$" cgc --list
check "kafka-consumer-groups --describe" "^$g +$t +[0-9]+ +[0-9]+" cgc --describe --group "$g"
check "kafka-consumer-groups --reset-offsets --to-earliest" "^$g +$t +$p +$mid\b" cgc --reset-offsets --group "$g" --topic "$t" --to-earliest --execute
check "kafka-consumer-groups --describe --state" "Empty" cgc --describe --group "$g" --state
check "kafka-consumer-groups --delete" "Deletion of requested consumer groups \('$g'\) was successful" cgc --delete --group "$g"
# The verifiable consumer (Kafka's system-test client) reads what the verifiable producer wrote,
# in a group with each protocol, and reports its commits.
for proto in classic consumer; do
  check "kafka-verifiable-consumer --group-protocol $proto" '"name":"offsets_committed".*"success":true' \
    tool org.apache.kafka.tools.VerifiableConsumer --bootstrap-server "$bs" --topic "$t" \
    --group-id "cli-verifiable-$proto-$run" --group-protocol "$proto" --max-messages 100 --reset-policy earliest
done
# Transactions: Kafka's TransactionalMessageCopier copies what the verifiable producer wrote to
# a topic of its own in transactions of 100, then kafka-transactions lists, describes and checks.
txi="cli-txn-in-$run" txo="cli-txn-out-$run" txid="cli-copier-$run"
check "kafka-verifiable-producer (copier input)" '"acked":300' tool org.apache.kafka.tools.VerifiableProducer --bootstrap-server "$bs" --topic "$txi" --max-messages 300 --acks -1
check "kafka-transactional-message-copier" '"stage":"ShutdownComplete".*"remaining":0' \
  timeout 120 "$root/compat-tests/kafka-ref/kafka.sh" tool - org.apache.kafka.tools.TransactionalMessageCopier \
  --broker-list "$bs" --input-topic "$txi" --input-partition 0 --output-topic "$txo" \
  --transactional-id "$txid" --consumer-group "cli-copier-group-$run" --transaction-size 100 \
  --use-group-metadata
txn() { tool org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$bs" "$@"; }
check "kafka-transactions list" "^$txid\s+1\s+[0-9]+\s+(CompleteCommit|Empty)" txn list
check "kafka-transactions describe" "(CompleteCommit|Empty)" txn describe --transactional-id "$txid"
check "kafka-transactions describe-producers" "^[0-9]+\s+[0-9]+\s+[0-9-]+\s+[0-9]+\s" txn describe-producers --topic "$txo" --partition 0
check "kafka-transactions find-hanging" "^Topic\s+Partition\s+ProducerId" txn find-hanging --broker-id 1
# Admin tools a one-node Kafka answers. Kafka applies these changes a moment after answering, so
# the describes are retried (bounded) until they show the change.
check_eventually() {
  local name=$1 want=$2; shift 2
  local out i
  for i in $(seq 1 20); do
    if out=$("$@" 2>&1) && grep -Eq -- "$want" <<<"$out"; then
      passed=$((passed + 1)); echo "PASS $name"; return
    fi
    sleep 0.5
  done
  failed=$((failed + 1)); echo "FAIL $name: $(tail -3 <<<"$out" | tr '\n' ' ')"
}
kt() { "$root/compat-tests/kafka-ref/kafka.sh" tool - "$@"; }
u="cli-user-$run" c="cli-client-$run"
# Without an authorizer the tool prints Kafka's SecurityDisabled error and exits 1.
acls_list() { kt org.apache.kafka.tools.AclCommand --bootstrap-server "$bs" --list; true; }
check "kafka-acls --list (no authorizer)" "SecurityDisabledException: No Authorizer is configured on the broker" acls_list
check "kafka-configs --alter user SCRAM-SHA-256" "Completed updating config for user $u" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=cli-secret]'
check "kafka-configs --alter user SCRAM-SHA-512" "Completed updating config for user $u" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --alter --add-config 'SCRAM-SHA-512=[password=cli-secret]'
check_eventually "kafka-configs --describe user SCRAM" "SCRAM credential configs for user-principal '$u' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --describe
check "kafka-configs --alter user quotas" "Completed updating config for user $u" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --alter --add-config 'producer_byte_rate=1024,consumer_byte_rate=2048'
check "kafka-configs --alter client quotas" "Completed updating config for client $c" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type clients --entity-name "$c" --alter --add-config 'request_percentage=25.5'
check_eventually "kafka-configs --describe user quotas" "Quota configs for user-principal '$u' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --describe
check_eventually "kafka-configs --describe client quotas" "Quota configs for client-id '$c' are request_percentage=25.5" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type clients --entity-name "$c" --describe
check "kafka-configs --alter user --delete-config SCRAM-SHA-512" "Completed updating config for user $u" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --alter --delete-config SCRAM-SHA-512
check_eventually "kafka-configs --describe user SCRAM after delete" "SCRAM credential configs for user-principal '$u' are SCRAM-SHA-256=iterations=8192\$" tool kafka.admin.ConfigCommand --bootstrap-server "$bs" --entity-type users --entity-name "$u" --describe
json=$(mktemp)
printf '{"version":1,"partitions":[{"topic":"%s","partition":0,"replicas":[1]}]}' "$t" >"$json"
check "kafka-reassign-partitions --execute" "Successfully started partition reassignment for $t-0" tool org.apache.kafka.tools.reassign.ReassignPartitionsCommand --bootstrap-server "$bs" --reassignment-json-file "$json" --execute
check "kafka-reassign-partitions --verify" "Reassignment of partition $t-0 is completed" tool org.apache.kafka.tools.reassign.ReassignPartitionsCommand --bootstrap-server "$bs" --reassignment-json-file "$json" --verify
rm -f "$json"
check "kafka-leader-election --all-topic-partitions" "" tool org.apache.kafka.tools.LeaderElectionCommand --bootstrap-server "$bs" --election-type preferred --all-topic-partitions
check "kafka-leader-election --topic --partition" "Valid replica already elected for partitions $t-0" tool org.apache.kafka.tools.LeaderElectionCommand --bootstrap-server "$bs" --election-type preferred --topic "$t" --partition 0
check "kafka-topics --delete" "" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --delete --topic "$t"
echo "cli(kafka tools 4.1.0): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
