//! Broker DescribeConfigs and run-time changes.

use super::*;

fn props(text: &str) -> BrokerConfig {
    BrokerConfig::from_properties(text).unwrap()
}

fn entry<'a>(entries: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    entries.iter().find(|e| e.name == name).unwrap()
}

#[test]
fn describe_broker_sources_and_synonyms() {
    let c = props("log.retention.hours=24\nnum.partitions=3");
    let d = c.describe();
    let np = entry(&d, "num.partitions");
    assert_eq!(
        (np.value.as_deref(), np.source, np.read_only),
        (Some("3"), ConfigSource::StaticBroker, true)
    );
    assert_eq!(np.config_type, ConfigType::Int);
    let seg = entry(&d, "log.segment.bytes");
    assert_eq!(
        (seg.value.as_deref(), seg.source, seg.read_only),
        (Some("1073741824"), ConfigSource::Default, false)
    );
    let ms = entry(&d, "log.retention.ms");
    assert_eq!(
        (ms.value.as_deref(), ms.source),
        (None, ConfigSource::Default)
    );
    let chain: Vec<_> = ms
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
        .collect();
    assert_eq!(
        chain,
        vec![
            (
                "log.retention.hours",
                Some("24"),
                ConfigSource::StaticBroker
            ),
            ("log.retention.hours", Some("168"), ConfigSource::Default),
        ]
    );
    let hours = entry(&d, "log.retention.hours");
    assert_eq!(
        (hours.value.as_deref(), hours.source),
        (Some("24"), ConfigSource::StaticBroker)
    );
    assert!(d.iter().all(|e| !e.sensitive));
    assert!(entry(&d, "log.flush.interval.messages")
        .documentation
        .is_some());
    assert_eq!(entry(&d, "node.id").value.as_deref(), Some("1"));
}

#[test]
fn alter_cluster_default_and_this_broker() {
    let mut c = props("log.retention.hours=24");
    c.alter(
        &[AlterOp::Set("log.retention.ms".into(), "5000".into())],
        false,
    )
    .unwrap();
    assert_eq!(c.log_defaults.retention_ms, 5000);
    c.alter_in(
        BrokerScope::ThisBroker,
        &[AlterOp::Set("log.retention.ms".into(), "7000".into())],
        false,
    )
    .unwrap();
    assert_eq!(c.log_defaults.retention_ms, 7000);
    let d = c.describe();
    let ms = entry(&d, "log.retention.ms");
    assert_eq!(
        (ms.value.as_deref(), ms.source),
        (Some("7000"), ConfigSource::DynamicBroker)
    );
    let sources: Vec<_> = ms.synonyms.iter().map(|s| s.source).collect();
    assert_eq!(
        sources,
        vec![
            ConfigSource::DynamicBroker,
            ConfigSource::DynamicDefaultBroker,
            ConfigSource::StaticBroker,
            ConfigSource::Default
        ]
    );
    assert_eq!(
        c.dynamic_entries(BrokerScope::ThisBroker),
        vec![("log.retention.ms".into(), "7000".into())]
    );
    c.alter_in(
        BrokerScope::ThisBroker,
        &[AlterOp::Delete("log.retention.ms".into())],
        false,
    )
    .unwrap();
    assert_eq!(c.log_defaults.retention_ms, 5000);
    c.alter(&[AlterOp::Delete("log.retention.ms".into())], false)
        .unwrap();
    assert_eq!(c.log_defaults.retention_ms, 86_400_000);

    c.alter(
        &[AlterOp::Set("message.max.bytes".into(), "10".into())],
        false,
    )
    .unwrap();
    assert_eq!(
        (c.message_max_bytes, c.log_defaults.max_message_bytes),
        (10, 10)
    );
    let mut restored = props("");
    restored
        .restore_dynamic(
            BrokerScope::ClusterDefault,
            &c.dynamic_entries(BrokerScope::ClusterDefault),
        )
        .unwrap();
    assert_eq!(restored.message_max_bytes, 10);
}

#[test]
fn alter_rejections_change_nothing() {
    let mut c = props("");
    let before = c.describe();
    let set = |k: &str, v: &str| AlterOp::Set(k.into(), v.into());
    let err = c
        .alter(
            &[
                set("log.segment.bytes", "2000000"),
                set("num.partitions", "3"),
            ],
            false,
        )
        .unwrap_err();
    assert!(matches!(err, ConfigError::NotDynamic(ref k) if k == "num.partitions"));
    assert_eq!(err.error_code(), INVALID_REQUEST);
    assert!(matches!(
        c.alter(&[set("log.retention.hours", "1")], false),
        Err(ConfigError::NotDynamic(_))
    ));
    let err = c
        .alter(&[set("log.segment.bytes", "13")], false)
        .unwrap_err();
    assert_eq!(err.error_code(), INVALID_CONFIG);
    assert!(c.alter(&[set("log.roll.ms", "0")], false).is_err());
    let err = c.alter(&[set("no.such.key", "1")], false).unwrap_err();
    assert_eq!(err.to_string(), "Unknown broker config name: no.such.key");
    c.alter(&[set("log.segment.bytes", "2000000")], true)
        .unwrap();
    assert_eq!(c.describe(), before);
    assert_eq!(c.log_defaults.segment_bytes, 1 << 30);
}

#[test]
fn alter_lists_and_scopes() {
    let mut c = props("");
    c.alter(
        &[AlterOp::Append(
            "log.cleanup.policy".into(),
            "compact".into(),
        )],
        false,
    )
    .unwrap();
    assert_eq!(
        c.log_defaults.cleanup_policy,
        CleanupPolicy {
            delete: true,
            compact: true
        }
    );
    c.alter(
        &[AlterOp::Subtract(
            "log.cleanup.policy".into(),
            "delete".into(),
        )],
        false,
    )
    .unwrap();
    assert_eq!(
        c.log_defaults.cleanup_policy,
        CleanupPolicy {
            delete: false,
            compact: true
        }
    );
    assert!(matches!(
        c.alter(
            &[AlterOp::Append("log.segment.bytes".into(), "1".into())],
            false
        ),
        Err(ConfigError::NotAList { .. })
    ));
    assert!(c
        .alter(
            &[AlterOp::Append("log.cleanup.policy".into(), "bogus".into())],
            false
        )
        .is_err());
    assert_eq!(
        BrokerScope::for_resource("", 1).unwrap(),
        BrokerScope::ClusterDefault
    );
    assert_eq!(
        BrokerScope::for_resource("1", 1).unwrap(),
        BrokerScope::ThisBroker
    );
    assert!(BrokerScope::for_resource("2", 1).is_err());
    assert!(BrokerScope::for_resource("x", 1).is_err());
    c.replace_dynamic(
        BrokerScope::ClusterDefault,
        &[("log.retention.ms".into(), "9".into())],
        false,
    )
    .unwrap();
    assert_eq!(
        c.dynamic_entries(BrokerScope::ClusterDefault),
        vec![("log.retention.ms".into(), "9".into())]
    );
    assert_eq!(
        c.log_defaults.cleanup_policy,
        CleanupPolicy {
            delete: true,
            compact: false
        }
    );
}

#[test]
fn removing_a_replication_throttle_is_a_no_op() {
    let mut c = props("");
    c.alter(
        &[AlterOp::Delete("leader.replication.throttled.rate".into())],
        false,
    )
    .unwrap();
    let err = c
        .alter(
            &[AlterOp::Set(
                "leader.replication.throttled.rate".into(),
                "1".into(),
            )],
            false,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unknown broker config name: leader.replication.throttled.rate"
    );
}
