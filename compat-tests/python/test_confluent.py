"""confluent-kafka-python (librdkafka) scenarios."""
import os
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewPartitions, NewTopic, OffsetSpec, ResourceType)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create(bootstrap, name, partitions=1, config=None):
    a = admin(bootstrap)  # must outlive the future: a destroyed client fails its requests
    fs = a.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    fs[name].result(30)


def consume_all(bootstrap, topic, partitions, expected, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-" + topic,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "fetch.max.bytes": 8 << 20, "max.partition.fetch.bytes": 8 << 20})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.time() + timeout
    while len(got) < expected and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        got.append(m)
    c.close()
    return got


def test_create_describe_duplicate_and_invalid(bootstrap, topic_name):
    name = topic_name("create")
    create(bootstrap, name, 3)
    md = admin(bootstrap).list_topics(name, timeout=10)
    assert len(md.topics[name].partitions) == 3
    assert all(p.leader >= 0 for p in md.topics[name].partitions.values())
    with pytest.raises(KafkaException) as e:
        create(bootstrap, name, 3)
    assert e.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    with pytest.raises(KafkaException) as e:
        create(bootstrap, "bad name!", 1)
    assert e.value.args[0].code() == KafkaError.TOPIC_EXCEPTION


@pytest.mark.parametrize("codec", CODECS)
def test_idempotent_produce_and_consume_back(bootstrap, topic_name, codec):
    name = topic_name("pc-" + codec)
    create(bootstrap, name, 3)
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "compression.type": codec, "linger.ms": 5})
    sent, acked, errors = {}, {}, []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked[msg.key()] = (msg.partition(), msg.offset())

    for i in range(1000):
        key = b"k%d" % i
        value = None if i % 17 == 0 else os.urandom(i % 300)
        headers = [("h", b"x%d" % i), ("empty", b"")]
        sent[key] = (i % 3, value, headers)
        p.produce(name, key=key, value=value, partition=i % 3, headers=headers, on_delivery=on_delivery)
    assert p.flush(60) == 0
    assert not errors, errors[:3]
    for part in range(3):
        offsets = sorted(o for (pp, o) in acked.values() if pp == part)
        assert offsets == list(range(len(offsets))), "offsets consecutive from 0"
    got = consume_all(bootstrap, name, 3, len(sent))
    assert len(got) == len(sent)
    for m in got:
        partition, value, headers = sent[m.key()]
        assert m.partition() == partition
        assert m.value() == value
        assert m.headers() == headers
        assert (m.partition(), m.offset()) == acked[m.key()]
        assert m.timestamp()[1] > 0


def test_list_offsets_earliest_latest_and_by_time(bootstrap, topic_name):
    name = topic_name("offsets")
    create(bootstrap, name, 1)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        p.produce(name, value=b"v", partition=0, timestamp=1_000_000 + i * 10)
    assert p.flush(30) == 0
    tp = TopicPartition(name, 0)
    a = admin(bootstrap)
    res = a.list_offsets({tp: OffsetSpec.earliest()})[tp].result(30)
    assert res.offset == 0
    res = a.list_offsets({tp: OffsetSpec.latest()})[tp].result(30)
    assert res.offset == 10
    res = a.list_offsets({tp: OffsetSpec.for_timestamp(1_000_035)})[tp].result(30)
    assert (res.offset, res.timestamp) == (4, 1_000_040)
    res = a.list_offsets({tp: OffsetSpec.max_timestamp()})[tp].result(30)
    assert (res.offset, res.timestamp) == (9, 1_000_090)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    found = c.offsets_for_times([TopicPartition(name, 0, 1_000_041)], timeout=10)
    assert found[0].offset == 5
    lo, hi = c.get_watermark_offsets(tp, timeout=10)
    assert (lo, hi) == (0, 10)
    c.close()


def test_configs_partitions_delete_records_delete_topic(bootstrap, topic_name):
    name = topic_name("ops")
    create(bootstrap, name, 2, {"retention.ms": "86400000"})
    a = admin(bootstrap)
    res = ConfigResource(ResourceType.TOPIC, name)
    entries = a.describe_configs([res])[res].result(30)
    assert entries["retention.ms"].value == "86400000"
    assert entries["cleanup.policy"].value == "delete"
    a.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])])[res].result(30)
    assert a.describe_configs([res])[res].result(30)["retention.ms"].value == "3600000"

    a.create_partitions([NewPartitions(name, 4)])[name].result(30)
    assert len(a.list_topics(name, timeout=10).topics[name].partitions) == 4

    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        p.produce(name, value=b"v%d" % i, partition=0)
    assert p.flush(30) == 0
    tp = TopicPartition(name, 0, 6)
    done = a.delete_records([tp])
    assert list(done.values())[0].result(30).low_watermark == 6
    got = a.list_offsets({TopicPartition(name, 0): OffsetSpec.earliest()})
    assert list(got.values())[0].result(30).offset == 6

    a.delete_topics([name])[name].result(30)
    deadline = time.time() + 10
    while name in a.list_topics(timeout=10).topics and time.time() < deadline:
        time.sleep(0.1)
    assert name not in a.list_topics(timeout=10).topics


def test_large_record(bootstrap, topic_name):
    name = topic_name("large")
    create(bootstrap, name, 1, {"max.message.bytes": str(4 << 20)})
    value = os.urandom(2 << 20)
    p = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 4 << 20})
    p.produce(name, value=value, partition=0)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "auto.offset.reset": "earliest",
                  "fetch.max.bytes": 1 << 20, "max.partition.fetch.bytes": 1 << 20})
    c.assign([TopicPartition(name, 0, 0)])
    deadline = time.time() + 30
    m = None
    while m is None and time.time() < deadline:
        m = c.poll(0.5)
    c.close()
    assert m is not None and not m.error() and m.value() == value
