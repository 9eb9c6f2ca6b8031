//! The topic configs Kafka 4.x lists in DescribeConfigs, with their types, defaults, validators and
//! the broker keys that supply their defaults (Kafka's `ServerTopicConfigSynonyms`).

use super::value::{Check, ConfigType, KeyDef};

pub(crate) const LONG_MAX: &str = "9223372036854775807";

/// How a broker synonym's value converts to the topic key's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Same,
    MinutesToMs,
    HoursToMs,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Synonym {
    pub name: &'static str,
    pub unit: Unit,
}

/// A topic config and its broker synonyms, highest precedence first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopicKey {
    pub def: KeyDef,
    pub synonyms: &'static [Synonym],
}

const fn same(name: &'static str) -> Synonym {
    Synonym {
        name,
        unit: Unit::Same,
    }
}

const fn key(
    name: &'static str,
    ty: ConfigType,
    default: &'static str,
    check: Check,
    synonyms: &'static [Synonym],
) -> TopicKey {
    TopicKey {
        def: KeyDef {
            name,
            ty,
            default: Some(default),
            check,
        },
        synonyms,
    }
}

pub(crate) const CLEANUP_POLICIES: &[&str] = &["compact", "delete"];
pub(crate) const COMPRESSION_TYPES: &[&str] =
    &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
pub(crate) const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

use Check::*;
use ConfigType::*;

/// Sorted by name, the order DescribeConfigs lists them in.
#[rustfmt::skip]
pub(crate) static TOPIC_KEYS: &[TopicKey] = &[
    key("cleanup.policy", List, "delete", ListOf(CLEANUP_POLICIES), &[same("log.cleanup.policy")]),
    key("compression.gzip.level", Int, "-1", GzipLevel, &[same("compression.gzip.level")]),
    key("compression.lz4.level", Int, "9", Between(1, 17), &[same("compression.lz4.level")]),
    key("compression.type", String, "producer", OneOf(COMPRESSION_TYPES), &[same("compression.type")]),
    key("compression.zstd.level", Int, "3", Between(-131072, 22), &[same("compression.zstd.level")]),
    key("delete.retention.ms", Long, "86400000", AtLeast(0), &[same("log.cleaner.delete.retention.ms")]),
    key("file.delete.delay.ms", Long, "60000", AtLeast(0), &[same("log.segment.delete.delay.ms")]),
    key("flush.messages", Long, LONG_MAX, AtLeast(1), &[same("log.flush.interval.messages")]),
    key("flush.ms", Long, LONG_MAX, AtLeast(0), &[same("log.flush.interval.ms"), same("log.flush.scheduler.interval.ms")]),
    key("follower.replication.throttled.replicas", List, "", ThrottledReplicas, &[]),
    key("index.interval.bytes", Int, "4096", AtLeast(0), &[same("log.index.interval.bytes")]),
    key("leader.replication.throttled.replicas", List, "", ThrottledReplicas, &[]),
    key("local.retention.bytes", Long, "-2", AtLeast(-2), &[same("log.local.retention.bytes")]),
    key("local.retention.ms", Long, "-2", AtLeast(-2), &[same("log.local.retention.ms")]),
    key("max.compaction.lag.ms", Long, LONG_MAX, AtLeast(1), &[same("log.cleaner.max.compaction.lag.ms")]),
    key("max.message.bytes", Int, "1048588", AtLeast(0), &[same("message.max.bytes")]),
    key("message.timestamp.after.max.ms", Long, "3600000", AtLeast(0), &[same("log.message.timestamp.after.max.ms")]),
    key("message.timestamp.before.max.ms", Long, LONG_MAX, AtLeast(0), &[same("log.message.timestamp.before.max.ms")]),
    key("message.timestamp.type", String, "CreateTime", OneOf(TIMESTAMP_TYPES), &[same("log.message.timestamp.type")]),
    key("min.cleanable.dirty.ratio", Double, "0.5", Ratio, &[same("log.cleaner.min.cleanable.ratio")]),
    key("min.compaction.lag.ms", Long, "0", AtLeast(0), &[same("log.cleaner.min.compaction.lag.ms")]),
    key("min.insync.replicas", Int, "1", AtLeast(1), &[same("min.insync.replicas")]),
    key("preallocate", Boolean, "false", None, &[same("log.preallocate")]),
    key("remote.log.copy.disable", Boolean, "false", None, &[]),
    key("remote.log.delete.on.disable", Boolean, "false", None, &[]),
    key("remote.storage.enable", Boolean, "false", None, &[]),
    key("retention.bytes", Long, "-1", None, &[same("log.retention.bytes")]),
    key("retention.ms", Long, "604800000", AtLeast(-1), &[same("log.retention.ms"), Synonym { name: "log.retention.minutes", unit: Unit::MinutesToMs }, Synonym { name: "log.retention.hours", unit: Unit::HoursToMs }]),
    key("segment.bytes", Int, "1073741824", AtLeast(1_048_576), &[same("log.segment.bytes")]),
    key("segment.index.bytes", Int, "10485760", AtLeast(4), &[same("log.index.size.max.bytes")]),
    key("segment.jitter.ms", Long, "0", AtLeast(0), &[same("log.roll.jitter.ms"), Synonym { name: "log.roll.jitter.hours", unit: Unit::HoursToMs }]),
    key("segment.ms", Long, "604800000", AtLeast(1), &[same("log.roll.ms"), Synonym { name: "log.roll.hours", unit: Unit::HoursToMs }]),
    key("unclean.leader.election.enable", Boolean, "false", None, &[same("unclean.leader.election.enable")]),
];

pub(crate) fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|k| k.def.name == name)
}
