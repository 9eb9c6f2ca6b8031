//! Broker DescribeConfigs and run-time changes.

use super::*;

fn props(text: &str) -> BrokerConfig {
    BrokerConfig::from_properties(text).unwrap()
}

fn set(k: &str, v: &str) -> AlterOp {
    AlterOp::Set(k.into(), v.into())
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
    // Kafka lists a chain's values from the described key on: log.retention.ms has none of its
    // own, so none are shown, though log.retention.hours is set.
    assert!(ms.synonyms.is_empty());
    let chain = |e: &ConfigEntry| -> Vec<(String, Option<String>, ConfigSource)> {
        e.synonyms
            .iter()
            .map(|s| (s.name.clone(), s.value.clone(), s.source))
            .collect()
    };
    assert_eq!(
        chain(entry(&d, "log.retention.hours")),
        vec![
            (
                "log.retention.hours".into(),
                Some("24".into()),
                ConfigSource::StaticBroker
            ),
            (
                "log.retention.hours".into(),
                Some("168".into()),
                ConfigSource::Default
            ),
        ]
    );
    assert!(chain(entry(&d, "log.retention.minutes")).is_empty());
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
    // Kafka 4.x: segments of at least 1 MiB.
    let err = c
        .alter(&[set("log.segment.bytes", "1048575")], false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid value 1048575 for configuration log.segment.bytes: Value must be at least 1048576"
    );
    let err = c.alter(&[set("log.roll.ms", "0")], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "requirement failed: log.roll.ms must be greater than or equal to 1"
    );
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
fn run_time_keys_kafka_accepts() {
    let mut c = props("");
    // Unknown keys are stored and ignored, as Kafka does; they are never described.
    c.alter(&[set("no.such.key", "1")], false).unwrap();
    assert_eq!(
        c.dynamic_entries(BrokerScope::ClusterDefault),
        vec![("no.such.key".to_string(), "1".to_string())]
    );
    assert!(c.describe().iter().all(|e| e.name != "no.such.key"));
    c.alter(&[AlterOp::Delete("no.such.key".into())], false)
        .unwrap();
    assert!(c.dynamic_entries(BrokerScope::ClusterDefault).is_empty());

    // Thread pools move by at most a factor of two from the value in use.
    c.alter(&[set("num.io.threads", "16")], false).unwrap();
    let io = entry(&c.describe(), "num.io.threads").clone();
    assert_eq!(
        (io.value.as_deref(), io.source, io.read_only),
        (Some("16"), ConfigSource::DynamicDefaultBroker, false)
    );
    let err = c.alter(&[set("num.io.threads", "33")], true).unwrap_err();
    assert!(
        err.to_string()
            .contains("value should not be greater than double the current value 16"),
        "{err}"
    );
    let err = c.alter(&[set("num.io.threads", "7")], true).unwrap_err();
    assert!(
        err.to_string()
            .contains("value should be at least half the current value 16"),
        "{err}"
    );
    assert!(c.alter(&[set("background.threads", "0")], true).is_err());

    // max.connections applies at run time; 0 is refused there.
    assert_eq!(c.run_time_max_connections(), None);
    c.alter_in(
        BrokerScope::ThisBroker,
        &[set("max.connections", "5")],
        false,
    )
    .unwrap();
    assert_eq!(c.run_time_max_connections(), Some(5));
    let err = c
        .alter_in(
            BrokerScope::ThisBroker,
            &[set("max.connections", "0")],
            true,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("Invalid max.connections 0"),
        "{err}"
    );
    c.alter_in(
        BrokerScope::ThisBroker,
        &[AlterOp::Delete("max.connections".into())],
        false,
    )
    .unwrap();
    assert_eq!(c.run_time_max_connections(), None);
}

#[test]
fn read_only_keys_name_the_set_as_kafka_does() {
    let mut c = props("");
    let err = c
        .alter(&[set("log.retention.hours", "5")], true)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot update these configs dynamically: Set(log.retention.hours)"
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
    // Setting one is accepted and stored like any key Strata does not use (Kafka accepts it
    // at run time too); it throttles nothing on one node.
    c.alter(
        &[AlterOp::Set(
            "leader.replication.throttled.rate".into(),
            "1".into(),
        )],
        false,
    )
    .unwrap();
}
