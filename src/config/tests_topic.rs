//! Topic overrides: validation at and past every bound, list operations, effective values,
//! DescribeConfigs sources and synonyms, and serialisation.

use proptest::prelude::*;

use super::topic_keys::TOPIC_KEYS;
use super::value::{Check, ConfigType};
use super::*;

fn broker(text: &str) -> BrokerConfig {
    BrokerConfig::from_properties(text).unwrap()
}

fn type_range(ty: ConfigType) -> (i64, i64) {
    match ty {
        ConfigType::Int => (i32::MIN.into(), i32::MAX.into()),
        ConfigType::Short => (i16::MIN.into(), i16::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

#[test]
fn unknown_topic_config_is_rejected_with_kafkas_message() {
    let mut o = TopicOverrides::default();
    let err = o.set("retention.hours", "1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unknown topic config name: retention.hours"
    );
    assert_eq!(err.error_code(), INVALID_CONFIG);
    assert!(o.is_empty());
}

/// Every numeric topic config, at its bounds and one past them, from the key table.
#[test]
fn every_numeric_bound_at_and_past_the_limit() {
    let mut checked = 0;
    for tk in TOPIC_KEYS {
        let name = tk.def.name;
        let (type_lo, type_hi) = type_range(tk.def.ty);
        let (lo, hi) = match tk.def.check {
            Check::AtLeast(min) => (min, type_hi),
            Check::Between(lo, hi) => (lo, hi),
            Check::None if matches!(tk.def.ty, ConfigType::Int | ConfigType::Long) => {
                (type_lo, type_hi)
            }
            _ => continue,
        };
        let mut o = TopicOverrides::default();
        for ok in [lo, hi] {
            o.set(name, &ok.to_string())
                .unwrap_or_else(|e| panic!("{name}={ok}: {e}"));
        }
        for bad in [i128::from(lo) - 1, i128::from(hi) + 1] {
            let err = o.set(name, &bad.to_string()).expect_err(name);
            let text = err.to_string();
            assert!(
                text.contains(name) && text.contains(&bad.to_string()),
                "{text}"
            );
        }
        assert!(o.set(name, "12abc").is_err(), "{name}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} numeric keys checked");
}

#[test]
fn non_numeric_values() {
    let mut o = TopicOverrides::default();
    for (key, ok, bad) in [
        ("cleanup.policy", "compact,delete", "compact,archive"),
        ("compression.type", "lz4", "brotli"),
        ("message.timestamp.type", "LogAppendTime", "logappendtime"),
        ("min.cleanable.dirty.ratio", "1", "1.0001"),
        ("min.cleanable.dirty.ratio", "0", "-0.1"),
        ("preallocate", "TRUE", "1"),
        ("unclean.leader.election.enable", "false", "no"),
        ("leader.replication.throttled.replicas", "0:1,1:1", "0:x"),
        ("follower.replication.throttled.replicas", "*", "*,0:1"),
        ("compression.gzip.level", "9", "10"),
        ("compression.gzip.level", "-1", "0"),
    ] {
        o.set(key, ok).unwrap_or_else(|e| panic!("{key}={ok}: {e}"));
        let err = o.set(key, bad).unwrap_err().to_string();
        // Kafka shows a list's refused element, a double as Java prints it.
        let shown = match bad {
            "compact,archive" => "archive",
            "0:x" => "[0:x]",
            "*,0:1" => "[*, 0:1]",
            other => other,
        };
        assert!(err.contains(key) && err.contains(shown), "{err}");
    }
    let err = o.set("remote.storage.enable", "true").unwrap_err();
    assert!(err.to_string().contains("Tiered Storage"), "{err}");
    o.set("remote.storage.enable", "false").unwrap();
}

#[test]
fn effective_layers_overrides_over_broker_defaults() {
    let b = broker("log.retention.hours=24\nlog.segment.bytes=1048576\nlog.message.timestamp.type=LogAppendTime");
    let mut o = TopicOverrides::default();
    let t = o.effective(&b);
    assert_eq!((t.retention_ms, t.segment_bytes), (86_400_000, 1_048_576));
    assert!(t.message_timestamp_type == "LogAppendTime");
    o.set("retention.ms", " 1000 ").unwrap();
    o.set("message.timestamp.type", "CreateTime").unwrap();
    o.set("flush.messages", "1").unwrap();
    let t = o.effective(&b);
    assert_eq!((t.retention_ms, t.segment_bytes), (1000, 1_048_576));
    assert_eq!(t.message_timestamp_type, TimestampType::CreateTime);
    assert!(!t.fsync_every_append());
    o.remove("retention.ms");
    assert_eq!(o.effective(&b).retention_ms, 86_400_000);
    o.remove("flush.messages");
    assert!(o.effective(&b).fsync_every_append());
    o.set("flush.ms", "9223372036854775807").unwrap();
    assert!(!o.effective(&b).fsync_every_append());
}

#[test]
fn append_and_subtract() {
    let mut o = TopicOverrides::default();
    // Kafka starts from the key's own default ("delete"), not from the broker's value.
    o.append("cleanup.policy", "compact").unwrap();
    assert_eq!(o.get("cleanup.policy"), Some("delete,compact"));
    o.append("cleanup.policy", "compact").unwrap();
    assert_eq!(o.get("cleanup.policy"), Some("delete,compact"));
    o.subtract("cleanup.policy", "delete").unwrap();
    assert_eq!(o.get("cleanup.policy"), Some("compact"));
    o.subtract("cleanup.policy", "compact").unwrap();
    assert_eq!(o.get("cleanup.policy"), Some(""));
    let b = broker("");
    assert_eq!(
        o.effective(&b).cleanup_policy,
        CleanupPolicy {
            delete: false,
            compact: false
        }
    );
    assert!(o.append("cleanup.policy", "archive").is_err());
    assert_eq!(o.get("cleanup.policy"), Some(""));
    o.append("leader.replication.throttled.replicas", "0:1, 1:1")
        .unwrap();
    assert_eq!(
        o.get("leader.replication.throttled.replicas"),
        Some("0:1,1:1")
    );
    for key in ["retention.ms", "compression.type"] {
        assert!(matches!(
            o.append(key, "1"),
            Err(ConfigError::NotAList { .. })
        ));
        assert!(matches!(
            o.subtract(key, "1"),
            Err(ConfigError::NotAList { .. })
        ));
    }
    assert!(matches!(
        o.append("nope", "x"),
        Err(ConfigError::UnknownKey(_))
    ));
}

#[test]
fn cross_key_rules_are_checked_on_the_effective_config() {
    let b = broker("log.cleaner.max.compaction.lag.ms=1000");
    let mut o = TopicOverrides::default();
    o.set("min.compaction.lag.ms", "1000").unwrap();
    o.validate(&b).unwrap();
    o.set("min.compaction.lag.ms", "1001").unwrap();
    let err = o.validate(&b).unwrap_err().to_string();
    assert!(
        err.contains("min.compaction.lag.ms") && err.contains("1001"),
        "{err}"
    );
    o.set("max.compaction.lag.ms", "1001").unwrap();
    o.validate(&b).unwrap();
}

fn find<'a>(entries: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    entries.iter().find(|e| e.name == name).unwrap()
}

fn chain(e: &ConfigEntry) -> Vec<(&str, Option<&str>, ConfigSource)> {
    e.synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect()
}

#[test]
fn describe_lists_every_topic_config() {
    let d = TopicOverrides::default().describe(&broker(""));
    assert_eq!(d.len(), TOPIC_KEYS.len());
    for e in &d {
        assert!(!e.read_only && !e.sensitive, "{}", e.name);
        assert!(e.value.is_some(), "{}", e.name);
    }
    let names: Vec<_> = d.iter().map(|e| e.name.as_str()).collect();
    for name in [
        "cleanup.policy",
        "retention.ms",
        "segment.bytes",
        "max.message.bytes",
        "min.insync.replicas",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    let seg = find(&d, "segment.bytes");
    assert_eq!(
        (seg.value.as_deref(), seg.source),
        (Some("1073741824"), ConfigSource::Default)
    );
    assert_eq!(
        chain(seg),
        vec![(
            "log.segment.bytes",
            Some("1073741824"),
            ConfigSource::Default
        )]
    );
    assert_eq!(seg.config_type, ConfigType::Int);
    assert_eq!(find(&d, "cleanup.policy").config_type, ConfigType::List);
    assert_eq!(
        find(&d, "min.cleanable.dirty.ratio").value.as_deref(),
        Some("0.5")
    );
    assert!(find(&d, "flush.messages").documentation.is_some());
    let remote = find(&d, "remote.storage.enable");
    assert!(remote.synonyms.is_empty());
    assert_eq!(remote.source, ConfigSource::Default);
}

#[test]
fn describe_sources_and_synonyms() {
    let mut b = broker("log.retention.hours=24\nlog.retention.minutes=600");
    let mut o = TopicOverrides::default();
    // As Kafka: the chain's values are listed from the first key of the chain
    // (log.retention.ms) on, so with only minutes and hours set none are, and the source is then
    // DEFAULT although the value comes from log.retention.minutes.
    let r = find(&o.describe(&b), "retention.ms").clone();
    assert_eq!(
        (r.value.as_deref(), r.source),
        (Some("36000000"), ConfigSource::Default)
    );
    assert!(chain(&r).is_empty());
    b.alter(
        &[AlterOp::Set("log.retention.ms".into(), "5000".into())],
        false,
    )
    .unwrap();
    let r = find(&o.describe(&b), "retention.ms").clone();
    assert_eq!(
        (r.value.as_deref(), r.source),
        (Some("5000"), ConfigSource::DynamicDefaultBroker)
    );
    assert_eq!(
        chain(&r)[0],
        (
            "log.retention.ms",
            Some("5000"),
            ConfigSource::DynamicDefaultBroker
        )
    );

    o.set("retention.ms", "42").unwrap();
    let r = find(&o.describe(&b), "retention.ms").clone();
    assert_eq!(
        (r.value.as_deref(), r.source),
        (Some("42"), ConfigSource::DynamicTopic)
    );
    assert_eq!(
        chain(&r)[0],
        ("retention.ms", Some("42"), ConfigSource::DynamicTopic)
    );
    // The override, then log.retention.ms and everything after it in Kafka's order.
    assert_eq!(chain(&r).len(), 5);

    let b = broker("log.roll.hours=1");
    let s = find(&TopicOverrides::default().describe(&b), "segment.ms").clone();
    assert_eq!(
        (s.value.as_deref(), s.source),
        (Some("3600000"), ConfigSource::Default)
    );
    assert!(chain(&s).is_empty());
}

#[test]
fn serialisation_round_trips() {
    let mut o = TopicOverrides::default();
    o.set("retention.ms", "-1").unwrap();
    o.set("cleanup.policy", "compact, delete").unwrap();
    o.set("follower.replication.throttled.replicas", "*")
        .unwrap();
    o.set("min.cleanable.dirty.ratio", "0.1").unwrap();
    let text = o.to_properties();
    let back = TopicOverrides::from_properties(&text).unwrap();
    assert_eq!(back, o);
    assert_eq!(
        TopicOverrides::from_properties("").unwrap(),
        TopicOverrides::default()
    );
    assert!(TopicOverrides::from_properties("retention.ms=abc").is_err());
    assert!(TopicOverrides::from_properties("bogus=1").is_err());
}

proptest! {
    #[test]
    fn overrides_round_trip(
        retention in -1i64..=i64::MAX,
        segment in 1_048_576i64..=i32::MAX as i64,
        policy in prop::sample::select(vec!["", "delete", "compact", "compact,delete"]),
        ratio in 0.0f64..=1.0,
    ) {
        let mut o = TopicOverrides::default();
        o.set("retention.ms", &retention.to_string()).unwrap();
        o.set("segment.bytes", &segment.to_string()).unwrap();
        o.set("cleanup.policy", policy).unwrap();
        o.set("min.cleanable.dirty.ratio", &ratio.to_string()).unwrap();
        let back = TopicOverrides::from_properties(&o.to_properties()).unwrap();
        prop_assert_eq!(&back, &o);
        let b = BrokerConfig::from_properties("").unwrap();
        let t = back.effective(&b);
        prop_assert_eq!(t.retention_ms, retention);
        prop_assert_eq!(t.segment_bytes, segment);
        prop_assert_eq!(t.min_cleanable_dirty_ratio, ratio);
    }

    #[test]
    fn arbitrary_set_never_panics(key in "[a-z.]{0,40}", value in "\\PC{0,30}") {
        let mut o = TopicOverrides::default();
        let _ = o.set(&key, &value);
        let _ = o.append(&key, &value);
        let _ = o.subtract(&key, &value);
        let _ = TopicOverrides::from_properties(&format!("{key}={value}"));
    }
}

#[test]
fn kafka_4_bounds_and_messages() {
    let mut o = TopicOverrides::default();
    o.set("segment.bytes", "1048576").unwrap();
    for (key, value, message) in [
        (
            "segment.bytes",
            "200",
            "Invalid value 200 for configuration segment.bytes: Value must be at least 1048576",
        ),
        (
            "segment.bytes",
            "+1048575",
            "Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576",
        ),
        (
            "compression.zstd.level",
            "23",
            "Invalid value 23 for configuration compression.zstd.level: Value must be no more than 22",
        ),
        (
            "min.cleanable.dirty.ratio",
            "2",
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1",
        ),
        (
            "compression.gzip.level",
            "0",
            "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1",
        ),
        (
            "remote.storage.enable",
            "true",
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.",
        ),
    ] {
        assert_eq!(o.set(key, value).unwrap_err().to_string(), message);
    }
    let b = broker("");
    o.set("min.compaction.lag.ms", "10").unwrap();
    o.set("max.compaction.lag.ms", "5").unwrap();
    assert_eq!(
        o.validate(&b).unwrap_err().to_string(),
        "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"
    );
}
