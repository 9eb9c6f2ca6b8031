//! Broker configuration from server.properties: defaults, every key, synonyms, limits, listeners.

use super::*;

fn props(text: &str) -> BrokerConfig {
    BrokerConfig::from_properties(text).unwrap()
}

fn args(list: &[&str]) -> Result<BrokerConfig, ConfigError> {
    BrokerConfig::from_args(
        std::iter::once("strata")
            .chain(list.iter().copied())
            .map(String::from),
    )
}

pub(super) fn assert_names(err: ConfigError, key: &str, value: &str) {
    let text = err.to_string();
    assert!(text.contains(key), "{key} missing from: {text}");
    assert!(text.contains(value), "{value} missing from: {text}");
}

#[test]
fn defaults() {
    let c = args(&[]).unwrap();
    assert_eq!(c.listen, "127.0.0.1:9092".parse().unwrap());
    assert_eq!(
        (c.advertised_host.as_str(), c.advertised_port),
        ("127.0.0.1", 9092)
    );
    assert_eq!(c.data_dir, std::path::PathBuf::from("./data"));
    assert_eq!(c.node_id, 1);
    assert_eq!(c.num_partitions, 1);
    assert!(c.auto_create_topics);
    assert_eq!(c.default_replication_factor, 1);
    assert_eq!(c.message_max_bytes, 1_048_588);
    assert_eq!(c.socket_request_max_bytes, 104_857_600);
    assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
    assert_eq!(c.queued_max_requests, 500);
    assert_eq!(c.max_in_flight_per_connection(), 100);
    assert_eq!(c.connections_max_idle_ms, 600_000);
    assert_eq!(c.log_retention_check_interval_ms, 300_000);
    assert_eq!(c.log_defaults, TopicConfig::default());
    assert!(c.log_defaults.fsync_every_append());
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert_eq!(c.offsets_topic_num_partitions, 50);
    assert_eq!(c.offsets_retention_minutes, 10080);
    assert_eq!(c.transaction_max_timeout_ms, 900_000);
    assert_eq!(c.producer_id_expiration_ms, 86_400_000);
    assert!(c.unknown_or_ignored_keys().is_empty());
    assert!(c.warnings().is_empty());
}

#[test]
fn every_listed_key_is_read() {
    let text = "\
listeners=PLAINTEXT://127.0.0.1:19092
advertised.listeners=PLAINTEXT://broker.example:29092
log.dir=/var/strata
node.id=7
num.partitions=4
auto.create.topics.enable=false
default.replication.factor=1
log.retention.ms=1000
log.retention.bytes=5000
log.segment.bytes=1048576
log.roll.ms=2000
message.max.bytes=2000000
socket.request.max.bytes=200000000
log.flush.interval.messages=100
log.flush.interval.ms=50
log.index.interval.bytes=1024
log.index.size.max.bytes=4096
log.retention.check.interval.ms=1000
log.message.timestamp.type=LogAppendTime
log.cleanup.policy=compact
compression.type=zstd
min.insync.replicas=2
max.connections=50
queued.max.requests=20
connections.max.idle.ms=1000
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=3
offsets.retention.minutes=60
transaction.max.timeout.ms=60000
transactional.id.expiration.ms=1000
producer.id.expiration.ms=2000
";
    let c = props(text);
    assert_eq!(c.listen, "127.0.0.1:19092".parse().unwrap());
    assert_eq!(
        (c.advertised_host.as_str(), c.advertised_port),
        ("broker.example", 29092)
    );
    assert_eq!(c.data_dir, std::path::PathBuf::from("/var/strata"));
    assert_eq!(c.node_id, 7);
    assert_eq!(c.num_partitions, 4);
    assert!(!c.auto_create_topics);
    assert_eq!(c.message_max_bytes, 2_000_000);
    assert_eq!(c.socket_request_max_bytes, 200_000_000);
    assert_eq!(c.max_connections, 50);
    assert_eq!(c.queued_max_requests, 20);
    assert_eq!(c.max_in_flight_per_connection(), 20);
    assert_eq!(c.connections_max_idle_ms, 1000);
    assert_eq!(c.log_retention_check_interval_ms, 1000);
    assert_eq!(c.group_initial_rebalance_delay_ms, 0);
    assert_eq!(c.offsets_topic_num_partitions, 3);
    assert_eq!(c.offsets_retention_minutes, 60);
    assert_eq!(c.transaction_max_timeout_ms, 60_000);
    assert_eq!(c.transactional_id_expiration_ms, 1000);
    assert_eq!(c.producer_id_expiration_ms, 2000);
    let t = &c.log_defaults;
    assert_eq!(t.retention_ms, 1000);
    assert_eq!(t.retention_bytes, 5000);
    assert_eq!(t.segment_bytes, 1_048_576);
    assert_eq!(t.segment_ms, 2000);
    assert_eq!(t.max_message_bytes, 2_000_000);
    assert_eq!((t.flush_messages, t.flush_ms), (100, 50));
    assert!(!t.fsync_every_append());
    assert_eq!(t.index_interval_bytes, 1024);
    assert_eq!(t.segment_index_bytes, 4096);
    assert!(t.message_timestamp_type == "LogAppendTime");
    assert_eq!(
        t.cleanup_policy,
        CleanupPolicy {
            delete: false,
            compact: true
        }
    );
    assert_eq!(t.compression_type, CompressionType::Zstd);
    assert_eq!(t.min_insync_replicas, 2);
    assert!(
        c.unknown_or_ignored_keys().is_empty(),
        "{:?}",
        c.unknown_or_ignored_keys()
    );
}

#[test]
fn retention_ms_wins_over_minutes_over_hours() {
    let r = |text: &str| props(text).log_defaults.retention_ms;
    assert_eq!(r("log.retention.hours=1"), 3_600_000);
    assert_eq!(r("log.retention.hours=1\nlog.retention.minutes=2"), 120_000);
    assert_eq!(
        r("log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=3"),
        3
    );
    assert_eq!(r("log.retention.ms=-1"), -1);
    assert_eq!(r("log.retention.hours=-1"), -1);
    // Any negative value is unlimited, as in Kafka.
    assert_eq!(r("log.retention.minutes=-5"), -1);
    // Kafka's start-up requirement on the resolved retention, in its words, whichever key set it.
    for text in ["log.retention.ms=0", "log.retention.hours=0"] {
        assert_eq!(
            BrokerConfig::from_properties(text).unwrap_err().to_string(),
            "requirement failed: log.retention.ms must be unlimited (-1) or, greater than or equal to 1",
            "{text}"
        );
    }
    // 2^31-1 hours overflows neither i64 nor the check.
    assert_eq!(
        r("log.retention.hours=2147483647"),
        2_147_483_647 * 3_600_000
    );
}

#[test]
fn roll_and_flush_synonyms() {
    assert_eq!(props("log.roll.hours=2").log_defaults.segment_ms, 7_200_000);
    assert_eq!(
        props("log.roll.hours=2\nlog.roll.ms=5")
            .log_defaults
            .segment_ms,
        5
    );
    assert_eq!(
        BrokerConfig::from_properties("log.roll.ms=0")
            .unwrap_err()
            .to_string(),
        "requirement failed: log.roll.ms must be greater than or equal to 1"
    );
    assert_names(
        BrokerConfig::from_properties("log.roll.hours=0").unwrap_err(),
        "log.roll.hours",
        "0",
    );
    assert_eq!(
        props("log.roll.jitter.hours=1")
            .log_defaults
            .segment_jitter_ms,
        3_600_000
    );
    assert_eq!(
        props("log.flush.scheduler.interval.ms=9")
            .log_defaults
            .flush_ms,
        9
    );
    assert_eq!(
        props("log.flush.scheduler.interval.ms=9\nlog.flush.interval.ms=4")
            .log_defaults
            .flush_ms,
        4
    );
    assert!(!props("log.flush.interval.messages=1")
        .log_defaults
        .fsync_every_append());
    // Spelling out Kafka's default is still asking for Kafka's page-cache policy.
    assert!(!props("log.flush.interval.ms=9223372036854775807")
        .log_defaults
        .fsync_every_append());
    assert!(props("log.retention.hours=1")
        .log_defaults
        .fsync_every_append());
}

#[test]
fn limits_at_and_past_their_bounds() {
    let cases = [
        ("message.max.bytes", "0", "-1"),
        ("socket.request.max.bytes", "1", "0"),
        ("log.segment.bytes", "1048576", "1048575"),
        ("log.segment.bytes", "2147483647", "2147483648"),
        ("log.index.size.max.bytes", "4", "3"),
        ("log.index.interval.bytes", "0", "-1"),
        ("queued.max.requests", "1", "0"),
        ("max.connections", "0", "-1"),
        ("num.partitions", "1", "0"),
        ("log.retention.check.interval.ms", "1", "0"),
        ("log.flush.interval.messages", "1", "0"),
        ("default.replication.factor", "32767", "32768"),
        ("default.replication.factor", "1", "0"),
        ("min.insync.replicas", "1", "0"),
        ("log.cleaner.min.cleanable.ratio", "1", "1.5"),
        ("compression.zstd.level", "22", "23"),
        ("compression.lz4.level", "17", "18"),
        ("offsets.topic.num.partitions", "1", "0"),
        ("log.roll.jitter.hours", "0", "-1"),
    ];
    for (key, ok, bad) in cases {
        assert!(
            BrokerConfig::from_properties(&format!("{key}={ok}")).is_ok(),
            "{key}={ok}"
        );
        let err = BrokerConfig::from_properties(&format!("{key}={bad}")).unwrap_err();
        assert_names(err, key, bad);
    }
}

/// Every ranged broker key from the table, at its bounds and one past them.
#[test]
fn every_ranged_broker_key_at_and_past_its_bounds() {
    use super::broker_keys::BROKER_KEYS;
    use super::value::{Check, ConfigType};
    let mut checked = 0;
    for bk in BROKER_KEYS {
        let name = bk.def.name;
        let type_hi = match bk.def.ty {
            ConfigType::Int => i64::from(i32::MAX),
            ConfigType::Short => i64::from(i16::MAX),
            _ => i64::MAX,
        };
        let (lo, hi) = match bk.def.check {
            Check::AtLeast(min) => (min, type_hi),
            Check::Between(lo, hi) => (lo, hi),
            _ => continue,
        };
        for ok in [lo, hi] {
            BrokerConfig::from_properties(&format!("{name}={ok}"))
                .unwrap_or_else(|e| panic!("{name}={ok}: {e}"));
        }
        for bad in [i128::from(lo) - 1, i128::from(hi) + 1] {
            let err = BrokerConfig::from_properties(&format!("{name}={bad}")).expect_err(name);
            assert_names(err, name, &bad.to_string());
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} keys checked");
}

#[test]
fn invalid_values_name_key_and_value() {
    for (key, bad) in [
        ("auto.create.topics.enable", "yes"),
        ("num.partitions", "four"),
        ("log.message.timestamp.type", "WallClock"),
        // Kafka names the list element it refuses.
        ("log.cleanup.policy", "archive"),
        ("compression.type", "brotli"),
        ("node.id", "-3"),
        ("listeners", "PLAINTEXT://host"),
        ("listeners", "SSL://:9093"),
        ("listeners", "SASL_SSL://:9094"),
        ("advertised.listeners", "PLAINTEXT://0.0.0.0:9092"),
        ("listener.security.protocol.map", "PLAINTEXT:KERBEROS"),
        ("remote.log.storage.system.enable", "true"),
    ] {
        let err = BrokerConfig::from_properties(&format!("{key}={bad}")).unwrap_err();
        assert_names(err, key, bad);
    }
    let custom = "listeners=CLIENT://:9092\nlistener.security.protocol.map=CLIENT:SASL_PLAINTEXT";
    assert_names(
        BrokerConfig::from_properties(custom).unwrap_err(),
        "listeners",
        "SASL_PLAINTEXT",
    );
}

#[test]
fn listeners_and_advertised_addresses() {
    let c = props("listeners=PLAINTEXT://:9092");
    assert_eq!(c.listen, "0.0.0.0:9092".parse().unwrap());
    assert!(!c.advertised_host.is_empty() && c.advertised_host != "0.0.0.0");
    assert!(c.warnings().iter().any(|w| w.contains("advertis")));
    let c = props("listeners=CLIENT://[::1]:9099\nlistener.security.protocol.map=CLIENT:PLAINTEXT");
    assert_eq!(c.listen, "[::1]:9099".parse().unwrap());
    assert_eq!(c.advertised_host, "::1");
    let c = props("listeners=PLAINTEXT://localhost:9092");
    assert!(c.listen.ip().is_loopback());
    assert_eq!(c.advertised_host, "localhost");
    let c = props("listeners=PLAINTEXT://:9092,OTHER://:9093\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT");
    assert!(c.warnings().iter().any(|w| w.contains("OTHER")));
}

#[test]
fn log_dirs_node_id_and_replication_factor() {
    let c = props("log.dirs=/a, /b\nlog.dir=/c");
    assert_eq!(c.data_dir, std::path::PathBuf::from("/a"));
    assert!(c.warnings().iter().any(|w| w.contains("/a")));
    assert_eq!(props("log.dir=/c").data_dir, std::path::PathBuf::from("/c"));
    assert_eq!(
        props("log.dirs=\nlog.dir=/c").data_dir,
        std::path::PathBuf::from("/c")
    );
    assert_names(
        BrokerConfig::from_properties("log.dir= ").unwrap_err(),
        "log.dir",
        "empty",
    );
    assert_eq!(props("broker.id=4").node_id, 4);
    assert_eq!(props("node.id=4\nbroker.id=4").node_id, 4);
    assert_names(
        BrokerConfig::from_properties("node.id=4\nbroker.id=5").unwrap_err(),
        "node.id",
        "4",
    );
    let c = props("default.replication.factor=3");
    assert_eq!(c.default_replication_factor, 3);
    assert!(c
        .warnings()
        .iter()
        .any(|w| w.contains("default.replication.factor")));
}
