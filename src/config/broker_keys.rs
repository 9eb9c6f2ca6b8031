//! The `server.properties` keys Strata reads, with Kafka's types and validators and Strata's
//! defaults. A key not listed here is reported once at start-up as unknown or ignored.

use super::topic_keys::{CLEANUP_POLICIES, COMPRESSION_TYPES, LONG_MAX, TIMESTAMP_TYPES};
use super::value::{Check, ConfigType, KeyDef};

/// Strata's bound on concurrent connections. Kafka's default is unlimited (Int.MAX), which lets
/// one misbehaving client exhaust file descriptors; 10000 is far above what a single node serves.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

pub(crate) const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

#[derive(Debug, Clone, Copy)]
pub(crate) struct BrokerKey {
    pub def: KeyDef,
    /// Alterable at run time through (Incremental)AlterConfigs.
    pub dynamic: bool,
}

const fn k(
    name: &'static str,
    ty: ConfigType,
    default: Option<&'static str>,
    check: Check,
    dynamic: bool,
) -> BrokerKey {
    BrokerKey {
        def: KeyDef {
            name,
            ty,
            default,
            check,
        },
        dynamic,
    }
}

const MIGRATION_POLICIES: &[&str] = &[
    "disabled",
    "upgrade",
    "downgrade",
    "bidirectional",
    "DISABLED",
    "UPGRADE",
    "DOWNGRADE",
    "BIDIRECTIONAL",
];

use Check::{AtLeast, Between, GzipLevel, ListOf, OneOf, Ratio};
use ConfigType::{Boolean, Double, Int, List, Long, Short};
const STR: ConfigType = ConfigType::String;
const ANY: Check = Check::None;
const NULL: Option<&str> = Option::None;

/// Dynamic keys are the broker defaults of topic configs that come first in their synonym chain,
/// as in Kafka (`log.retention.ms` is alterable, `log.retention.hours` is not).
#[rustfmt::skip]
pub(crate) static BROKER_KEYS: &[BrokerKey] = &[
    // Network and identity.
    k("listeners", STR, Some("PLAINTEXT://127.0.0.1:9092"), ANY, false),
    k("advertised.listeners", STR, NULL, ANY, false),
    k("listener.security.protocol.map", STR, Some(DEFAULT_PROTOCOL_MAP), ANY, false),
    k("controller.listener.names", STR, NULL, ANY, false),
    k("node.id", Int, Some("1"), AtLeast(0), false),
    k("broker.id", Int, NULL, AtLeast(-1), false),
    k("log.dirs", STR, NULL, ANY, false),
    k("log.dir", STR, Some("./data"), ANY, false),
    k("socket.request.max.bytes", Int, Some("104857600"), AtLeast(1), false),
    k("max.connections", Int, Some("10000"), AtLeast(0), true),
    // Accepted and described at run time as Kafka does; Strata's tokio runtime sizes its own
    // threads and it keeps no per-IP count, so these change nothing.
    k("max.connections.per.ip", Int, Some("2147483647"), AtLeast(0), true),
    k("num.network.threads", Int, Some("3"), AtLeast(1), true),
    k("num.io.threads", Int, Some("8"), AtLeast(1), true),
    k("background.threads", Int, Some("10"), AtLeast(1), true),
    k("log.cleaner.threads", Int, Some("1"), AtLeast(0), true),
    k("queued.max.requests", Int, Some("500"), AtLeast(1), false),
    k("connections.max.idle.ms", Long, Some("600000"), AtLeast(0), false),
    // Topics.
    k("num.partitions", Int, Some("1"), AtLeast(1), false),
    k("auto.create.topics.enable", Boolean, Some("true"), ANY, false),
    k("default.replication.factor", Int, Some("1"), Between(1, i16::MAX as i64), false),
    k("delete.topic.enable", Boolean, Some("true"), ANY, false),
    k("log.retention.check.interval.ms", Long, Some("300000"), AtLeast(1), false),
    k("remote.log.storage.system.enable", Boolean, Some("false"), ANY, false),
    // Broker defaults of topic configs.
    k("log.cleanup.policy", List, Some("delete"), ListOf(CLEANUP_POLICIES), true),
    k("compression.type", STR, Some("producer"), OneOf(COMPRESSION_TYPES), true),
    k("compression.gzip.level", Int, Some("-1"), GzipLevel, true),
    k("compression.lz4.level", Int, Some("9"), Between(1, 17), true),
    k("compression.zstd.level", Int, Some("3"), Between(-131072, 22), true),
    k("log.cleaner.delete.retention.ms", Long, Some("86400000"), AtLeast(0), true),
    k("log.cleaner.min.compaction.lag.ms", Long, Some("0"), AtLeast(0), true),
    k("log.cleaner.max.compaction.lag.ms", Long, Some(LONG_MAX), AtLeast(1), true),
    k("log.cleaner.min.cleanable.ratio", Double, Some("0.5"), Ratio, true),
    k("log.segment.delete.delay.ms", Long, Some("60000"), AtLeast(0), true),
    k("log.flush.interval.messages", Long, Some(LONG_MAX), AtLeast(1), true),
    k("log.flush.interval.ms", Long, NULL, ANY, true),
    k("log.flush.scheduler.interval.ms", Long, Some(LONG_MAX), ANY, false),
    k("log.index.interval.bytes", Int, Some("4096"), AtLeast(0), true),
    k("log.index.size.max.bytes", Int, Some("10485760"), AtLeast(4), true),
    k("log.local.retention.bytes", Long, Some("-2"), AtLeast(-2), true),
    k("log.local.retention.ms", Long, Some("-2"), AtLeast(-2), true),
    k("log.message.timestamp.type", STR, Some("CreateTime"), OneOf(TIMESTAMP_TYPES), true),
    k("log.message.timestamp.before.max.ms", Long, Some(LONG_MAX), AtLeast(0), true),
    k("log.message.timestamp.after.max.ms", Long, Some("3600000"), AtLeast(0), true),
    k("log.preallocate", Boolean, Some("false"), ANY, true),
    k("log.retention.bytes", Long, Some("-1"), ANY, true),
    k("log.retention.ms", Long, NULL, ANY, true),
    k("log.retention.minutes", Int, NULL, ANY, false),
    k("log.retention.hours", Int, Some("168"), ANY, false),
    k("log.roll.ms", Long, NULL, ANY, true),
    k("log.roll.hours", Int, Some("168"), AtLeast(1), false),
    k("log.roll.jitter.ms", Long, NULL, ANY, true),
    k("log.roll.jitter.hours", Int, Some("0"), AtLeast(0), false),
    k("log.segment.bytes", Int, Some("1073741824"), AtLeast(1_048_576), true),
    k("message.max.bytes", Int, Some("1048588"), AtLeast(0), true),
    k("min.insync.replicas", Int, Some("1"), AtLeast(1), true),
    k("unclean.leader.election.enable", Boolean, Some("false"), ANY, true),
    // Groups and offsets (used by the group coordinator); transactions and producer ids (parsed
    // now, used by later features).
    k("group.initial.rebalance.delay.ms", Int, Some("3000"), AtLeast(0), false),
    k("group.min.session.timeout.ms", Int, Some("6000"), AtLeast(0), false),
    k("group.max.session.timeout.ms", Int, Some("1800000"), AtLeast(0), false),
    // Kafka's default is Int.MAX members; 10,000 bounds what one group can hold in memory.
    k("group.max.size", Int, Some("10000"), AtLeast(1), false),
    k("offset.metadata.max.bytes", Int, Some("4096"), Between(0, 65535), false),
    k("group.consumer.session.timeout.ms", Int, Some("45000"), AtLeast(1), false),
    k("group.consumer.heartbeat.interval.ms", Int, Some("5000"), AtLeast(1), false),
    k("group.consumer.max.size", Int, Some("10000"), AtLeast(1), false),
    // Class names as Kafka takes them, or the short names "uniform" and "range".
    k("group.consumer.assignors", List, Some("uniform,range"), ANY, false),
    // Kafka takes these in any case; the usual spellings are listed.
    k("group.consumer.migration.policy", STR, Some("bidirectional"), OneOf(MIGRATION_POLICIES), false),
    k("offsets.topic.num.partitions", Int, Some("50"), AtLeast(1), false),
    k("offsets.topic.replication.factor", Short, Some("3"), AtLeast(1), false),
    k("offsets.retention.minutes", Int, Some("10080"), AtLeast(1), false),
    k("offsets.retention.check.interval.ms", Long, Some("600000"), AtLeast(1), false),
    k("transaction.state.log.num.partitions", Int, Some("50"), AtLeast(1), false),
    k("transaction.state.log.replication.factor", Short, Some("3"), AtLeast(1), false),
    k("transaction.state.log.min.isr", Int, Some("2"), AtLeast(1), false),
    k("transaction.max.timeout.ms", Int, Some("900000"), AtLeast(1), false),
    k("transactional.id.expiration.ms", Int, Some("604800000"), AtLeast(1), false),
    k("transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, Some("10000"), AtLeast(1), false),
    k("transaction.remove.expired.transaction.cleanup.interval.ms", Int, Some("3600000"), AtLeast(1), false),
    k("producer.id.expiration.ms", Int, Some("86400000"), AtLeast(1), false),
    k("producer.id.expiration.check.interval.ms", Int, Some("600000"), AtLeast(1), false),
];

/// Keys validated, stored and described as Kafka does, but with no effect on Strata; start-up
/// still lists them among the keys it ignores.
pub(crate) const NOT_HONOURED: &[&str] = &[
    "max.connections.per.ip",
    "num.network.threads",
    "num.io.threads",
    "background.threads",
    "log.cleaner.threads",
];

/// Thread pools Kafka resizes at run time, by at most a factor of two each way.
pub(crate) const THREAD_COUNT_KEYS: &[&str] = &[
    "num.network.threads",
    "num.io.threads",
    "background.threads",
    "log.cleaner.threads",
];

pub(crate) fn broker_key(name: &str) -> Option<&'static BrokerKey> {
    BROKER_KEYS.iter().find(|k| k.def.name == name)
}

/// Kafka's broker synonym chain containing `name`, highest precedence first.
pub(crate) fn broker_synonyms(name: &str) -> &'static [&'static str] {
    const RETENTION: &[&str] = &[
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    ];
    const ROLL: &[&str] = &["log.roll.ms", "log.roll.hours"];
    const JITTER: &[&str] = &["log.roll.jitter.ms", "log.roll.jitter.hours"];
    const FLUSH: &[&str] = &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"];
    const ID: &[&str] = &["node.id", "broker.id"];
    const DIRS: &[&str] = &["log.dirs", "log.dir"];
    for chain in [RETENTION, ROLL, JITTER, FLUSH, ID, DIRS] {
        if chain.contains(&name) {
            return chain;
        }
    }
    &[]
}

#[cfg(test)]
mod tests {
    use super::super::topic_keys::TOPIC_KEYS;
    use super::super::value::parse_value;
    use super::*;

    #[test]
    fn every_default_passes_its_own_validator() {
        for key in BROKER_KEYS {
            if let Some(d) = key.def.default {
                assert!(parse_value(&key.def, d).is_ok(), "{}", key.def.name);
            }
        }
    }

    #[test]
    fn every_topic_synonym_is_a_known_broker_key_and_names_are_unique() {
        for t in TOPIC_KEYS {
            for s in t.synonyms {
                assert!(broker_key(s.name).is_some(), "{}", s.name);
            }
        }
        for (i, a) in BROKER_KEYS.iter().enumerate() {
            assert!(
                BROKER_KEYS[i + 1..]
                    .iter()
                    .all(|b| b.def.name != a.def.name),
                "{}",
                a.def.name
            );
        }
    }
}
