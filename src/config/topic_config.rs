//! A topic's effective configuration as plain typed values, and the mapping between those fields
//! and Kafka's topic config names.

use std::fmt;

use super::value::{format_double, Parsed};

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// Lets callers compare with Kafka's names (`t == "LogAppendTime"`).
impl PartialEq<&str> for TimestampType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `compression.type` on a topic: `Producer` keeps the producer's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    Producer,
    Uncompressed,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CompressionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionType::Producer => "producer",
            CompressionType::Uncompressed => "uncompressed",
            CompressionType::Gzip => "gzip",
            CompressionType::Snappy => "snappy",
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
        }
    }

    fn from_name(name: &str) -> Option<CompressionType> {
        Some(match name {
            "producer" => CompressionType::Producer,
            "uncompressed" => CompressionType::Uncompressed,
            "gzip" => CompressionType::Gzip,
            "snappy" => CompressionType::Snappy,
            "lz4" => CompressionType::Lz4,
            "zstd" => CompressionType::Zstd,
            _ => return None,
        })
    }
}

/// `cleanup.policy`: both may be set ("compact,delete"); neither is an empty list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

impl CleanupPolicy {
    pub fn to_kafka_string(self) -> String {
        match (self.compact, self.delete) {
            (true, true) => "compact,delete".into(),
            (true, false) => "compact".into(),
            (false, true) => "delete".into(),
            (false, false) => String::new(),
        }
    }
}

/// Every topic config Kafka 4.x describes. Times are milliseconds and sizes bytes, as in Kafka;
/// `i64::MAX` keeps Kafka's meaning of "never".
///
/// `flush_messages` and `flush_ms` default to `i64::MAX` as in Kafka. While neither is configured
/// (see [`TopicConfig::fsync_every_append`]) Strata fsyncs every append before acknowledging;
/// configuring either, to any value including Kafka's default, asks for Kafka's interval policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    pub cleanup_policy: CleanupPolicy,
    pub compression_gzip_level: i32,
    pub compression_lz4_level: i32,
    pub compression_type: CompressionType,
    pub compression_zstd_level: i32,
    pub delete_retention_ms: i64,
    pub file_delete_delay_ms: i64,
    pub flush_messages: i64,
    pub flush_ms: i64,
    /// Set when `flush.messages` or `flush.ms` was configured at the broker or topic level,
    /// whatever the value.
    pub flush_configured: bool,
    pub follower_replication_throttled_replicas: Vec<String>,
    pub index_interval_bytes: i32,
    pub leader_replication_throttled_replicas: Vec<String>,
    pub local_retention_bytes: i64,
    pub local_retention_ms: i64,
    pub max_compaction_lag_ms: i64,
    pub max_message_bytes: i32,
    pub message_timestamp_after_max_ms: i64,
    pub message_timestamp_before_max_ms: i64,
    pub message_timestamp_type: TimestampType,
    pub min_cleanable_dirty_ratio: f64,
    pub min_compaction_lag_ms: i64,
    pub min_insync_replicas: i32,
    pub preallocate: bool,
    pub remote_log_copy_disable: bool,
    pub remote_log_delete_on_disable: bool,
    pub remote_storage_enable: bool,
    pub retention_bytes: i64,
    /// -1 keeps data forever.
    pub retention_ms: i64,
    /// An INT in Kafka; widened so the log can use it without casts.
    pub segment_bytes: i64,
    pub segment_index_bytes: i32,
    pub segment_jitter_ms: i64,
    pub segment_ms: i64,
    pub unclean_leader_election_enable: bool,
}

impl Default for TopicConfig {
    /// Kafka's topic defaults (the table in `topic_keys` holds the same values; a test keeps
    /// them equal).
    fn default() -> Self {
        TopicConfig {
            cleanup_policy: CleanupPolicy {
                delete: true,
                compact: false,
            },
            compression_gzip_level: -1,
            compression_lz4_level: 9,
            compression_type: CompressionType::Producer,
            compression_zstd_level: 3,
            delete_retention_ms: 86_400_000,
            file_delete_delay_ms: 60_000,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            flush_configured: false,
            follower_replication_throttled_replicas: Vec::new(),
            index_interval_bytes: 4096,
            leader_replication_throttled_replicas: Vec::new(),
            local_retention_bytes: -2,
            local_retention_ms: -2,
            max_compaction_lag_ms: i64::MAX,
            max_message_bytes: 1_048_588,
            message_timestamp_after_max_ms: 3_600_000,
            message_timestamp_before_max_ms: i64::MAX,
            message_timestamp_type: TimestampType::CreateTime,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            min_insync_replicas: 1,
            preallocate: false,
            remote_log_copy_disable: false,
            remote_log_delete_on_disable: false,
            remote_storage_enable: false,
            retention_bytes: -1,
            retention_ms: 604_800_000,
            segment_bytes: 1 << 30,
            segment_index_bytes: 10 * 1024 * 1024,
            segment_jitter_ms: 0,
            segment_ms: 604_800_000,
            unclean_leader_election_enable: false,
        }
    }
}

fn int(p: &Parsed) -> i32 {
    // Values reach here only after the key's INT validator, so this never saturates.
    i32::try_from(p.number()).unwrap_or(i32::MAX)
}

fn boolean(p: &Parsed) -> bool {
    matches!(p, Parsed::Bool(true))
}

fn list(p: &Parsed) -> Vec<String> {
    match p {
        Parsed::List(items) => items.clone(),
        _ => Vec::new(),
    }
}

impl TopicConfig {
    /// True when neither flush setting was configured: Strata then fsyncs every append before
    /// acknowledging it, which is stronger than Kafka's default of leaving flushing to the OS.
    /// A value equal to Kafka's default still counts as configured: a server.properties that
    /// spells out Kafka's defaults asks for Kafka's behaviour.
    pub fn fsync_every_append(&self) -> bool {
        !self.flush_configured
    }

    /// Stores a value already validated for `key`. Unknown keys are ignored: the caller checked
    /// the name against the key table.
    pub(crate) fn set_field(&mut self, key: &str, p: &Parsed) {
        let n = p.number();
        match key {
            "cleanup.policy" => {
                let items = list(p);
                self.cleanup_policy = CleanupPolicy {
                    delete: items.iter().any(|i| i == "delete"),
                    compact: items.iter().any(|i| i == "compact"),
                };
            }
            "compression.gzip.level" => self.compression_gzip_level = int(p),
            "compression.lz4.level" => self.compression_lz4_level = int(p),
            "compression.type" => {
                if let Parsed::Text(t) = p {
                    if let Some(c) = CompressionType::from_name(t) {
                        self.compression_type = c;
                    }
                }
            }
            "compression.zstd.level" => self.compression_zstd_level = int(p),
            "delete.retention.ms" => self.delete_retention_ms = n,
            "file.delete.delay.ms" => self.file_delete_delay_ms = n,
            "flush.messages" => {
                self.flush_messages = n;
                self.flush_configured = true;
            }
            "flush.ms" => {
                self.flush_ms = n;
                self.flush_configured = true;
            }
            "follower.replication.throttled.replicas" => {
                self.follower_replication_throttled_replicas = list(p)
            }
            "index.interval.bytes" => self.index_interval_bytes = int(p),
            "leader.replication.throttled.replicas" => {
                self.leader_replication_throttled_replicas = list(p)
            }
            "local.retention.bytes" => self.local_retention_bytes = n,
            "local.retention.ms" => self.local_retention_ms = n,
            "max.compaction.lag.ms" => self.max_compaction_lag_ms = n,
            "max.message.bytes" => self.max_message_bytes = int(p),
            "message.timestamp.after.max.ms" => self.message_timestamp_after_max_ms = n,
            "message.timestamp.before.max.ms" => self.message_timestamp_before_max_ms = n,
            "message.timestamp.type" => {
                self.message_timestamp_type = match p {
                    Parsed::Text(t) if t == "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => TimestampType::CreateTime,
                }
            }
            "min.cleanable.dirty.ratio" => {
                if let Parsed::Double(d) = p {
                    self.min_cleanable_dirty_ratio = *d;
                }
            }
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = n,
            "min.insync.replicas" => self.min_insync_replicas = int(p),
            "preallocate" => self.preallocate = boolean(p),
            "remote.log.copy.disable" => self.remote_log_copy_disable = boolean(p),
            "remote.log.delete.on.disable" => self.remote_log_delete_on_disable = boolean(p),
            "remote.storage.enable" => self.remote_storage_enable = boolean(p),
            "retention.bytes" => self.retention_bytes = n,
            "retention.ms" => self.retention_ms = n,
            "segment.bytes" => self.segment_bytes = n,
            "segment.index.bytes" => self.segment_index_bytes = int(p),
            "segment.jitter.ms" => self.segment_jitter_ms = n,
            "segment.ms" => self.segment_ms = n,
            "unclean.leader.election.enable" => self.unclean_leader_election_enable = boolean(p),
            _ => {}
        }
    }

    /// The value of `key` as DescribeConfigs shows it.
    pub fn value_string(&self, key: &str) -> Option<String> {
        Some(match key {
            "cleanup.policy" => self.cleanup_policy.to_kafka_string(),
            "compression.gzip.level" => self.compression_gzip_level.to_string(),
            "compression.lz4.level" => self.compression_lz4_level.to_string(),
            "compression.type" => self.compression_type.as_str().to_string(),
            "compression.zstd.level" => self.compression_zstd_level.to_string(),
            "delete.retention.ms" => self.delete_retention_ms.to_string(),
            "file.delete.delay.ms" => self.file_delete_delay_ms.to_string(),
            "flush.messages" => self.flush_messages.to_string(),
            "flush.ms" => self.flush_ms.to_string(),
            "follower.replication.throttled.replicas" => {
                self.follower_replication_throttled_replicas.join(",")
            }
            "index.interval.bytes" => self.index_interval_bytes.to_string(),
            "leader.replication.throttled.replicas" => {
                self.leader_replication_throttled_replicas.join(",")
            }
            "local.retention.bytes" => self.local_retention_bytes.to_string(),
            "local.retention.ms" => self.local_retention_ms.to_string(),
            "max.compaction.lag.ms" => self.max_compaction_lag_ms.to_string(),
            "max.message.bytes" => self.max_message_bytes.to_string(),
            "message.timestamp.after.max.ms" => self.message_timestamp_after_max_ms.to_string(),
            "message.timestamp.before.max.ms" => self.message_timestamp_before_max_ms.to_string(),
            "message.timestamp.type" => self.message_timestamp_type.as_str().to_string(),
            "min.cleanable.dirty.ratio" => format_double(self.min_cleanable_dirty_ratio),
            "min.compaction.lag.ms" => self.min_compaction_lag_ms.to_string(),
            "min.insync.replicas" => self.min_insync_replicas.to_string(),
            "preallocate" => self.preallocate.to_string(),
            "remote.log.copy.disable" => self.remote_log_copy_disable.to_string(),
            "remote.log.delete.on.disable" => self.remote_log_delete_on_disable.to_string(),
            "remote.storage.enable" => self.remote_storage_enable.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "retention.ms" => self.retention_ms.to_string(),
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.index.bytes" => self.segment_index_bytes.to_string(),
            "segment.jitter.ms" => self.segment_jitter_ms.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "unclean.leader.election.enable" => self.unclean_leader_election_enable.to_string(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::topic_keys::TOPIC_KEYS;
    use super::super::value::parse_value;
    use super::*;

    #[test]
    fn defaults_match_the_key_table() {
        let c = TopicConfig::default();
        for k in TOPIC_KEYS {
            assert_eq!(
                c.value_string(k.def.name).as_deref(),
                k.def.default,
                "{}",
                k.def.name
            );
        }
        assert!(c.fsync_every_append());
    }

    #[test]
    fn every_key_round_trips_through_its_field() {
        for k in TOPIC_KEYS {
            let mut c = TopicConfig::default();
            let default = k.def.default.unwrap_or_default();
            let parsed = parse_value(&k.def, default).unwrap();
            c.set_field(k.def.name, &parsed);
            let flush_key = k.def.name.starts_with("flush.");
            assert_eq!(c.flush_configured, flush_key, "{}", k.def.name);
            c.flush_configured = false;
            assert_eq!(c, TopicConfig::default(), "{}", k.def.name);
        }
        let mut c = TopicConfig::default();
        for (key, value) in [
            ("cleanup.policy", "delete,compact"),
            ("compression.type", "zstd"),
            ("message.timestamp.type", "LogAppendTime"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("preallocate", "true"),
        ] {
            let def = &super::super::topic_keys::topic_key(key).unwrap().def;
            c.set_field(key, &parse_value(def, value).unwrap());
        }
        assert_eq!(c.value_string("cleanup.policy").unwrap(), "compact,delete");
        assert_eq!(c.compression_type, CompressionType::Zstd);
        assert!(c.message_timestamp_type == "LogAppendTime");
        assert_eq!(c.min_cleanable_dirty_ratio, 0.25);
        assert!(c.preallocate);
    }
}
