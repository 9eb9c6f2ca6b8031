"""kafka-python (pure Python client) scenarios."""
import os

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import InvalidTopicError, TopicAlreadyExistsError

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)


def test_create_describe_duplicate_and_invalid(bootstrap, topic_name):
    name = topic_name("kp-create")
    a = admin(bootstrap)
    a.create_topics([NewTopic(name, 2, 1)])
    desc = a.describe_topics([name])
    assert len(desc[0]["partitions"]) == 2
    with pytest.raises(TopicAlreadyExistsError):
        a.create_topics([NewTopic(name, 2, 1)])
    with pytest.raises(InvalidTopicError):
        a.create_topics([NewTopic("bad name!", 1, 1)])
    a.close()


@pytest.mark.parametrize("codec", CODECS)
def test_produce_and_consume_back(bootstrap, topic_name, codec):
    name = topic_name("kp-pc-%s" % codec)
    a = admin(bootstrap)
    a.create_topics([NewTopic(name, 2, 1)])
    a.close()
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec, enable_idempotence=True, linger_ms=5)
    sent = {}
    futures = []
    for i in range(500):
        key = b"k%d" % i
        value = None if i % 13 == 0 else os.urandom(i % 200)
        sent[key] = (i % 2, value)
        futures.append(p.send(name, key=key, value=value, partition=i % 2, headers=[("h", b"%d" % i)]))
    p.flush(60)
    acked = {f.get(timeout=30).offset for f in futures}
    assert len(acked) > 0
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000, enable_auto_commit=False)
    c.assign([TopicPartition(name, 0), TopicPartition(name, 1)])
    c.seek_to_beginning()
    got = {}
    for m in c:
        got[m.key] = (m.partition, m.value, m.headers)
        if len(got) == len(sent):
            break
    c.close()
    assert len(got) == len(sent)
    for key, (partition, value) in sent.items():
        assert got[key][0] == partition and got[key][1] == value
        assert got[key][2] == [("h", key[1:])]


def test_offsets_configs_partitions_and_delete(bootstrap, topic_name):
    name = topic_name("kp-ops")
    a = admin(bootstrap)
    a.create_topics([NewTopic(name, 1, 1)])
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(10):
        p.send(name, value=b"v", partition=0, timestamp_ms=2_000_000 + i)
    p.flush(30)
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = TopicPartition(name, 0)
    assert c.beginning_offsets([tp])[tp] == 0
    assert c.end_offsets([tp])[tp] == 10
    found = c.offsets_for_times({tp: 2_000_003})[tp]
    assert (found.offset, found.timestamp) == (3, 2_000_003)
    assert c.offsets_for_times({tp: 9_999_999})[tp] is None
    c.close()

    a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs={"retention.ms": "3600000"})])
    described = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    text = repr(described)
    assert "3600000" in text
    a.create_partitions({name: NewPartitions(3)})
    assert len(a.describe_topics([name])[0]["partitions"]) == 3
    a.delete_topics([name])
    assert name not in a.list_topics()
    a.close()
