"""Consumer groups with real clients: librdkafka (confluent-kafka) eager and cooperative, kafka-python,
a member killed while three share six partitions, and committed offsets across broker restarts."""
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker

HERE = os.path.dirname(os.path.abspath(__file__))


def create(bootstrap, name, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def produce(bootstrap, topic, n, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % partitions)
    assert p.flush(30) == 0


def end_offsets(bootstrap, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    c.close()
    return ends


def committed(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
    c.close()
    return {tp.partition: tp.offset for tp in tps}


def group_consumer(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    conf.update(extra)
    return Consumer(conf)


def test_confluent_group_consumes_everything_and_commits(bootstrap, topic_name):
    topic, group = topic_name("grp"), topic_name("g")
    create(bootstrap, topic, 3)
    produce(bootstrap, topic, 300, 3)
    c = group_consumer(bootstrap, group)
    c.subscribe([topic])
    seen = set()
    deadline = time.time() + 60
    while len(seen) < 300 and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        seen.add(int(m.value()))
    assert len(seen) == 300
    c.commit(asynchronous=False)
    # An explicit commit with metadata comes back with it.
    c.commit(offsets=[TopicPartition(topic, 0, 42, metadata="checkpoint-7")], asynchronous=False)
    back = c.committed([TopicPartition(topic, 0)], timeout=20)[0]
    assert (back.offset, back.metadata) == (42, "checkpoint-7")
    c.close()
    ends = end_offsets(bootstrap, topic, 3)
    got = committed(bootstrap, group, topic, 3)
    assert got == {0: 42, 1: ends[1], 2: ends[2]}

    a = AdminClient({"bootstrap.servers": bootstrap})
    listed = {g.group_id for g in a.list_consumer_groups().result(20).valid}
    assert group in listed
    desc = a.describe_consumer_groups([group])[group].result(20)
    assert desc.group_id == group and len(desc.members) == 0
    a.delete_consumer_groups([group])[group].result(20)
    assert group not in {g.group_id for g in a.list_consumer_groups().result(20).valid}


def assignment_of(c):
    return sorted(tp.partition for tp in c.assignment())


def poll_until(consumers, predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in consumers:
            m = c.poll(0.1)
            if m is not None and m.error():
                raise KafkaException(m.error())
        if predicate():
            return True
    return False


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_confluent_second_member_takes_half_and_gives_it_back(bootstrap, topic_name, strategy):
    topic, group = topic_name("reb"), topic_name("g")
    create(bootstrap, topic, 4)
    conf = {"partition.assignment.strategy": strategy}
    c1 = group_consumer(bootstrap, group, **conf)
    c1.subscribe([topic])
    assert poll_until([c1], lambda: assignment_of(c1) == [0, 1, 2, 3]), assignment_of(c1)
    c2 = group_consumer(bootstrap, group, **conf)
    c2.subscribe([topic])
    assert poll_until([c1, c2], lambda: len(assignment_of(c1)) == 2 and len(assignment_of(c2)) == 2), \
        (assignment_of(c1), assignment_of(c2))
    assert sorted(assignment_of(c1) + assignment_of(c2)) == [0, 1, 2, 3]
    c2.close()
    assert poll_until([c1], lambda: assignment_of(c1) == [0, 1, 2, 3]), assignment_of(c1)
    c1.close()


def test_kafka_python_group_consumer(bootstrap, topic_name):
    from kafka import KafkaConsumer, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata
    topic, group = topic_name("kp"), topic_name("g")
    create(bootstrap, topic, 2)
    produce(bootstrap, topic, 100, 2)
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=20000)
    seen = set()
    for m in c:
        seen.add(int(m.value))
        if len(seen) == 100:
            break
    assert len(seen) == 100
    c.commit()
    assert c.committed(KTP(topic, 0)) + c.committed(KTP(topic, 1)) == 100
    c.commit({KTP(topic, 1): OffsetAndMetadata(7, "kp-meta", -1)})
    assert c.committed(KTP(topic, 1), metadata=True).metadata == "kp-meta"
    c.close()


WORKER = r'''
import os, sys
from confluent_kafka import Consumer
bootstrap, topic, group, out = sys.argv[1:5]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
c.subscribe([topic])
with open(out, "a") as f:
    while True:
        msgs = c.consume(100, 0.5)
        done = [m for m in msgs if not m.error()]
        for m in done:
            f.write(m.value().decode() + "\n")
        f.flush()
        if done:
            c.commit(asynchronous=False)
        if os.path.exists(out + ".stop"):
            break
c.close()
'''


def test_three_consumers_share_six_partitions_and_survive_one_killed(bootstrap, topic_name, tmp_path):
    """Records flow while one of three members is killed with SIGKILL; the other two take over its
    partitions, every record is processed at least once, and the committed offsets end at the end
    of every partition."""
    topic, group = topic_name("kill"), topic_name("g")
    create(bootstrap, topic, 6)
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    outs = [tmp_path / f"out-{i}.txt" for i in range(3)]
    procs = [subprocess.Popen([sys.executable, str(worker), bootstrap, topic, group, str(o)]) for o in outs]
    total = 3000
    try:
        def producing():
            p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
            for i in range(total):
                p.produce(topic, value=str(i).encode(), partition=i % 6)
                if i % 100 == 0:
                    p.poll(0)
                    time.sleep(0.02)
            assert p.flush(30) == 0
        t = threading.Thread(target=producing)
        t.start()
        time.sleep(3)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        t.join(120)

        def processed():
            s = set()
            for o in outs:
                if o.exists():
                    s.update(int(x) for x in o.read_text().split())
            return s
        deadline = time.time() + 90
        while len(processed()) < total and time.time() < deadline:
            time.sleep(0.5)
        missing = set(range(total)) - processed()
        assert not missing, f"{len(missing)} records never processed, e.g. {sorted(missing)[:10]}"
    finally:
        for o in outs[1:]:
            (tmp_path / (o.name + ".stop")).write_text("stop")
        for p in procs[1:]:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    ends = end_offsets(bootstrap, topic, 6)
    assert committed(bootstrap, group, topic, 6) == ends


@pytest.fixture
def own_strata(tmp_path, external):
    if external:
        pytest.skip("restarts its own Strata; not run against an external broker")
    b = Broker(tmp_path / "data", ["--set", "group.initial.rebalance.delay.ms=0"]).start()
    yield b
    b.kill()


@pytest.mark.parametrize("how", ["clean stop", "kill -9"])
def test_committed_offsets_survive_a_broker_restart(own_strata, how):
    b = own_strata
    topic, group = "restart-" + uuid.uuid4().hex[:8], "g-" + uuid.uuid4().hex[:8]
    create(b.bootstrap, topic, 3)
    produce(b.bootstrap, topic, 90, 3)
    c = group_consumer(b.bootstrap, group)
    c.subscribe([topic])
    n = 0
    deadline = time.time() + 60
    while n < 90 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    c.commit(asynchronous=False)
    c.commit(offsets=[TopicPartition(topic, 2, 11, metadata="kept")], asynchronous=False)
    before = committed(b.bootstrap, group, topic, 3)
    assert before == {0: 30, 1: 30, 2: 11}
    if how == "kill -9":
        b.kill()
    else:
        c.close()
        b.stop()
    b.start()
    assert committed(b.bootstrap, group, topic, 3) == before
    probe = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group})
    assert probe.committed([TopicPartition(topic, 2)], timeout=20)[0].metadata == "kept"
    probe.close()
    if how == "kill -9":
        c.close()


def commit_quietly(consumer):
    """Commits what the consumer has read; a member that read nothing yet has nothing to commit."""
    try:
        consumer.commit(asynchronous=False)
    except KafkaException:
        pass


def test_confluent_consumer_protocol_members_share_partitions(bootstrap, topic_name):
    """librdkafka with group.protocol=consumer (KIP-848): the broker assigns; two members split
    four partitions, one closes, the other takes everything, and the commits add up."""
    topic, group = topic_name("kip848"), topic_name("g848")
    create(bootstrap, topic, 4)
    produce(bootstrap, topic, 400, 4)
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    members = [Consumer(conf), Consumer(conf)]
    seen = set()
    try:
        for m in members:
            m.subscribe([topic])
        deadline = time.time() + 60
        while time.time() < deadline and not all(len(m.assignment()) == 2 for m in members):
            for m in members:
                for msg in m.consume(50, 0.1):
                    if not msg.error():
                        seen.add(msg.value())
                commit_quietly(m)
        assert [len(m.assignment()) for m in members] == [2, 2]
        gone = members.pop()
        gone.close()
        while time.time() < deadline and (len(seen) < 400 or len(members[0].assignment()) < 4):
            for msg in members[0].consume(100, 0.1):
                if not msg.error():
                    seen.add(msg.value())
            commit_quietly(members[0])
        assert len(seen) == 400
        assert len(members[0].assignment()) == 4
        commit_quietly(members[0])
    finally:
        for m in members:
            m.close()
    offsets = committed(bootstrap, group, topic, 4)
    assert sum(offsets.values()) == 400, offsets


def test_confluent_classic_and_consumer_protocol_members_share_a_group(bootstrap, topic_name):
    """Online migration with librdkafka: a classic (eager range) member owns every partition; a
    group.protocol=consumer member joins the live group and they split it; the new member
    closes and the group goes back to the classic protocol with the first member owning all.
    Every record is read and the commits add up."""
    topic, group = topic_name("migrate"), topic_name("gmigrate")
    create(bootstrap, topic, 4)
    produce(bootstrap, topic, 400, 4)
    base = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    classic = Consumer({**base, "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    modern = Consumer({**base, "group.protocol": "consumer"})
    seen = set()

    def pump(members, done):
        deadline = time.time() + 60
        while time.time() < deadline:
            for m in members:
                for msg in m.consume(10, 0.1):
                    if not msg.error():
                        seen.add(msg.value())
                commit_quietly(m)
            if done():
                return True
        return False

    try:
        classic.subscribe([topic])
        assert pump([classic], lambda: len(classic.assignment()) == 4), classic.assignment()
        modern.subscribe([topic])
        assert pump([classic, modern],
                    lambda: len(classic.assignment()) == 2 and len(modern.assignment()) == 2), \
            (classic.assignment(), modern.assignment())
        modern.close()
        assert pump([classic], lambda: len(seen) == 400 and len(classic.assignment()) == 4), \
            (len(seen), classic.assignment())
        commit_quietly(classic)
    finally:
        classic.close()
    offsets = committed(bootstrap, group, topic, 4)
    assert sum(offsets.values()) == 400, offsets
