"""Durability across kill -9, and recovery from a damaged log tail. Strata only: these start and
kill their own broker processes."""
import glob
import os
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker

PARTITIONS = 4


@pytest.fixture
def strata(tmp_path, external):
    if external:
        pytest.skip("crash tests kill and restart Strata; not run against an external broker")
    b = Broker(tmp_path / "data").start()
    yield b
    b.kill()


def read_all(bootstrap, topic, partitions, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    tps = [TopicPartition(topic, p, 0) for p in range(partitions)]
    c.assign(tps)
    ends = {}
    for tp in tps:
        ends[tp.partition] = c.get_watermark_offsets(tp, timeout=10)[1]
    want = sum(ends.values())
    got = {}
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        got[(m.partition(), m.offset())] = m.value()
    c.close()
    return got, ends


def test_kill_9_loses_no_acknowledged_record(strata):
    topic = "crash-acks"
    a = AdminClient({"bootstrap.servers": strata.bootstrap})
    a.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    acked = {}
    total_acked = 0
    for cycle in range(3):
        stop = threading.Event()
        lock = threading.Lock()
        p = Producer({"bootstrap.servers": strata.bootstrap, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 2, "message.timeout.ms": 10000, "retries": 5,
                      "reconnect.backoff.max.ms": 200})

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[(msg.partition(), msg.offset())] = msg.value()

        def produce():
            i = 0
            while not stop.is_set():
                try:
                    p.produce(topic, value=b"c%d-%d" % (cycle, i), partition=i % PARTITIONS, on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    pass
                p.poll(0)

        t = threading.Thread(target=produce)
        t.start()
        deadline = time.time() + 60
        start = len(acked)
        while len(acked) - start < 3000 and time.time() < deadline:
            time.sleep(0.01)
        strata.kill()  # SIGKILL while the producer is still sending
        stop.set()
        t.join()
        p.flush(1)  # deliveries that fail now are not acknowledged; the acked map is final
        with lock:
            total_acked = len(acked)
        strata.start()
    got, ends = read_all(strata.bootstrap, topic, PARTITIONS)
    missing = [k for k in acked if k not in got]
    changed = [k for k in acked if k in got and got[k] != acked[k]]
    print(f"acknowledged {total_acked} records over 3 kill -9 cycles; log ends {ends}; "
          f"missing {len(missing)}, changed {len(changed)}")
    assert total_acked >= 3000
    assert not missing, missing[:10]
    assert not changed, changed[:10]
    strata.stop()


def newest_log_file(data_dir, topic, partition):
    files = sorted(glob.glob(os.path.join(data_dir, f"{topic}-{partition}", "*.log")))
    assert files, "no segment files"
    return files[-1]


@pytest.mark.parametrize("damage", ["truncate-mid-batch", "append-garbage"])
def test_damaged_tail_is_recovered(strata, damage):
    topic = "torn-" + damage
    a = AdminClient({"bootstrap.servers": strata.bootstrap})
    a.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all", "linger.ms": 0, "batch.num.messages": 1})
    for i in range(20):
        p.produce(topic, value=b"r%d" % i, partition=0)
        p.flush(10)
    strata.kill()
    path = newest_log_file(str(strata.data_dir), topic, 0)
    size = os.path.getsize(path)
    if damage == "truncate-mid-batch":
        with open(path, "r+b") as f:
            f.truncate(size - 7)
        expected = 19
    else:
        with open(path, "ab") as f:
            f.write(os.urandom(100))
        expected = 20
    strata.start()
    got, ends = read_all(strata.bootstrap, topic, 1)
    assert ends[0] == expected
    assert [got[(0, i)] for i in range(expected)] == [b"r%d" % i for i in range(expected)]
    p = Producer({"bootstrap.servers": strata.bootstrap, "acks": "all"})
    offsets = []
    p.produce(topic, value=b"after", partition=0, on_delivery=lambda e, m: offsets.append(m.offset()))
    p.flush(10)
    assert offsets == [expected]
    strata.stop()
