"""Exactly-once, judged as Apache Kafka's own transactions system test judges it: Kafka's
VerifiableProducer seeds an input topic, one TransactionalMessageCopier per input partition
(Kafka's tool, random aborts on, offsets committed in the transactions) copies it to an output
topic while the broker is killed with SIGKILL and restarted ("hard bounce"), or stopped cleanly;
afterwards a read_committed consumer of the output must see every input value exactly once.

Strata only: these start, kill and restart their own broker. Kafka's tools come from the jars
`make compat-deps` fetches into .compat/kafka/libs.
"""
import os
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT, Broker

LIBS = ROOT / ".compat" / "kafka" / "libs"
PARTITIONS = 2
RECORDS = int(os.environ.get("EOS_RECORDS", "20000"))


def kafka_tool(cls, *args, log):
    return subprocess.Popen(
        ["java", "-Xmx256m", "-cp", f"{LIBS}/*", f"org.apache.kafka.tools.{cls}", *args],
        stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def strata(tmp_path, external):
    if external:
        pytest.skip("kills and restarts Strata; not run against an external broker")
    if not LIBS.is_dir():
        pytest.skip("Apache Kafka's tools are not installed (make compat-deps)")
    b = Broker(tmp_path / "data", ["--set", "group.initial.rebalance.delay.ms=0"]).start()
    yield b
    b.kill()


def read_committed(bootstrap, topic, want, timeout=120):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-check", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    values = []
    deadline = time.time() + timeout
    idle_since = None
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            if len(values) >= want:
                idle_since = idle_since or time.time()
                if time.time() - idle_since > 2:
                    break
            continue
        if m.error():
            raise KafkaException(m.error())
        idle_since = None
        values.append((m.partition(), m.value().decode()))
    c.close()
    return values


def run_copy(strata, tmp_path, bounce):
    a = AdminClient({"bootstrap.servers": strata.bootstrap})
    for t in ("eos-in", "eos-out"):
        a.create_topics([NewTopic(t, PARTITIONS, 1)])[t].result(30)
    with open(tmp_path / "producer.log", "wb") as log:
        p = kafka_tool("VerifiableProducer", "--topic", "eos-in", "--max-messages", str(RECORDS),
                       "--bootstrap-server", strata.bootstrap, "--acks", "-1", log=log)
        assert p.wait(timeout=300) == 0, (tmp_path / "producer.log").read_text()[-2000:]
    copiers = []
    logs = []
    for part in range(PARTITIONS):
        log = open(tmp_path / f"copier-{part}.log", "wb")
        logs.append(log)
        copiers.append(kafka_tool(
            "TransactionalMessageCopier", "--input-topic", "eos-in", "--input-partition", str(part),
            "--output-topic", "eos-out", "--broker-list", strata.bootstrap,
            "--transactional-id", f"copier-{part}", "--consumer-group", f"copier-group-{part}",
            "--transaction-size", "750", "--transaction-timeout", "40000",
            "--enable-random-aborts", "--use-group-metadata", log=log))
    bounces = 0
    deadline = time.time() + 600
    while any(c.poll() is None for c in copiers) and time.time() < deadline:
        time.sleep(3)
        if bounces < 3 and any(c.poll() is None for c in copiers):
            bounce(strata)
            bounces += 1
    for c in copiers:
        if c.poll() is None:
            c.kill()
    for log in logs:
        log.close()
    codes = [c.wait() for c in copiers]
    tails = {i: (tmp_path / f"copier-{i}.log").read_text()[-1500:] for i in range(PARTITIONS)}
    assert codes == [0] * PARTITIONS, tails
    return bounces


def check_exactly_once(strata):
    out = read_committed(strata.bootstrap, "eos-out", RECORDS)
    values = [v for _, v in out]
    dups = len(values) - len(set(values))
    assert dups == 0, f"{dups} duplicates in the committed output"
    missing = set(str(i) for i in range(RECORDS)) - set(values)
    assert not missing, f"{len(missing)} input values never committed, e.g. {sorted(missing)[:5]}"
    assert len(values) == RECORDS


def hard_bounce(broker):
    broker.kill()
    broker.start()


def clean_bounce(broker):
    broker.stop()
    broker.start()


@pytest.mark.parametrize("bounce", [hard_bounce, clean_bounce], ids=["hard", "clean"])
def test_copier_is_exactly_once_across_broker_bounces(strata, tmp_path, bounce):
    bounces = run_copy(strata, tmp_path, bounce)
    check_exactly_once(strata)
    # And again after one more restart: nothing changes once everything is decided.
    bounce(strata)
    check_exactly_once(strata)
    assert bounces >= 1
