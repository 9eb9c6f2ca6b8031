"""A transaction's commit with the broker dying at each step of it: before the client's EndTxn,
once the outcome is durable but before any marker, between two partitions' markers, before the
group's offsets are applied, and after every marker but before the coordinator records the
transaction complete. After a restart, judged as Jepsen's Kafka checker would for one
transaction: a read_committed reader sees its records exactly once or not at all (all of them
once the commit was decided), never an aborted or unfinished one; the group's offset follows the
same outcome; nothing stays pending (last stable offset = high watermark); and the producer's
transactional id works again. Strata only: the broker is killed and restarted."""
import os
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker

POINTS = ["txn-before-markers", "txn-between-markers", "txn-before-group-markers",
          "txn-after-markers"]


def committed_values(bootstrap, topic, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "txn-crash-check",
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    tps = [TopicPartition(topic, p, 0) for p in range(2)]
    c.assign(tps)
    deadline = time.time() + timeout
    # The last stable offset must reach the high watermark: nothing left pending.
    while time.time() < deadline:
        # A read_committed consumer's high watermark query answers the last stable offset.
        lso = [c.get_watermark_offsets(tp, timeout=5)[1] for tp in tps]
        c2 = Consumer({"bootstrap.servers": bootstrap, "group.id": "x", "isolation.level": "read_uncommitted"})
        hw = [c2.get_watermark_offsets(tp, timeout=5)[1] for tp in tps]
        c2.close()
        if lso == hw:
            break
        time.sleep(0.2)
    assert lso == hw, f"transaction left pending: lso {lso} hw {hw}"
    values = []
    idle = 0
    while idle < 6:
        m = c.poll(0.5)
        if m is None:
            idle += 1
            continue
        if m.error():
            raise KafkaException(m.error())
        values.append(m.value().decode())
    c.close()
    return values


def group_offset(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    got = c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    c.close()
    return got


def transactional(bootstrap, tid):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid,
                  "transaction.timeout.ms": 20000, "message.timeout.ms": 20000,
                  "reconnect.backoff.max.ms": 200})
    p.init_transactions(30)
    return p


@pytest.mark.parametrize("point", ["kill-before-end-txn"] + POINTS)
def test_a_commit_survives_a_crash_at_each_step(tmp_path, external, point):
    if external:
        pytest.skip("kills and restarts Strata; not run against an external broker")
    env_point = point if point in POINTS else ""
    os.environ["STRATA_CRASH_POINT"] = env_point
    try:
        b = Broker(tmp_path / "data", ["--set", "group.initial.rebalance.delay.ms=0"]).start()
    finally:
        os.environ.pop("STRATA_CRASH_POINT", None)
    topic, source, group = "txc-out", "txc-in", "txc-group"
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    for t, n in ((topic, 2), (source, 1)):
        a.create_topics([NewTopic(t, n, 1)])[t].result(30)
    p = transactional(b.bootstrap, "txc")
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"r{i}".encode(), partition=i % 2)
    p.flush(20)
    # The consumed position this transaction commits for the group: 7 on the source topic.
    meta = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group}).consumer_group_metadata()
    p.send_offsets_to_transaction([TopicPartition(source, 0, 7)], meta, 20)
    decided = True
    if point == "kill-before-end-txn":
        b.kill()
        decided = False
        try:
            p.commit_transaction(5)
        except KafkaException:
            pass
    else:
        try:
            p.commit_transaction(10)
        except KafkaException:
            pass  # the broker died while answering; the outcome was decided before
        deadline = time.time() + 20
        while b.proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert b.proc.poll() is not None, f"the broker never reached {point}"
        b.proc = None
    del p
    b.start()
    values = committed_values(b.bootstrap, topic)
    assert len(values) == len(set(values)), f"duplicates: {values}"
    offset = group_offset(b.bootstrap, group, source)
    if decided:
        assert sorted(values) == sorted(f"r{i}" for i in range(10)), values
        assert offset == 7, f"group offset {offset} after a decided commit"
    else:
        # Undecided when the broker died: all or nothing, offsets with the records.
        assert values == [] or sorted(values) == sorted(f"r{i}" for i in range(10)), values
        assert (offset == 7) == bool(values), f"group offset {offset} with {len(values)} records"
    # The transactional id works again, and its next commit is visible.
    p2 = transactional(b.bootstrap, "txc")
    p2.begin_transaction()
    p2.produce(topic, value=b"after", partition=0)
    p2.commit_transaction(30)
    assert "after" in committed_values(b.bootstrap, topic)
    b.kill()
