//! Real-world server.properties files and property tests over properties-shaped text.

use proptest::prelude::*;

use super::*;

fn props(text: &str) -> BrokerConfig {
    BrokerConfig::from_properties(text).unwrap()
}

const KRAFT: &str = r#"
############################# Server Basics #############################
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
############################# Socket Server Settings #############################
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
############################# Log Basics #############################
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
#log.flush.interval.messages=10000
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"#;

#[test]
fn kafka_kraft_server_properties_start_with_warnings() {
    let c = props(KRAFT);
    assert_eq!(c.listen, "0.0.0.0:9092".parse().unwrap());
    assert_eq!(
        (c.advertised_host.as_str(), c.advertised_port),
        ("localhost", 9092)
    );
    assert_eq!(
        c.data_dir,
        std::path::PathBuf::from("/tmp/kraft-combined-logs")
    );
    assert_eq!(c.log_defaults.retention_ms, 604_800_000);
    let ignored = c.unknown_or_ignored_keys();
    for key in [
        "process.roles",
        "controller.quorum.voters",
        "inter.broker.listener.name",
        "num.network.threads",
        "num.io.threads",
        "socket.send.buffer.bytes",
        "num.recovery.threads.per.data.dir",
    ] {
        assert!(ignored.iter().any(|k| k == key), "{key} not reported");
    }
    assert!(!ignored.iter().any(|k| k == "log.dirs" || k == "node.id"));
    assert!(c.warnings().iter().any(|w| w.contains("CONTROLLER")));
}

const ZOOKEEPER_ERA: &str = "\
broker.id=0
#listeners=PLAINTEXT://:9092
num.network.threads=3
log.dirs=/tmp/kafka-logs
log.retention.hours=168
zookeeper.connect=localhost:2181
zookeeper.connection.timeout.ms=18000
group.initial.rebalance.delay.ms=0
";

#[test]
fn zookeeper_era_server_properties_start_with_warnings() {
    let c = props(ZOOKEEPER_ERA);
    assert_eq!(c.node_id, 0);
    assert_eq!(c.group_initial_rebalance_delay_ms, 0);
    assert_eq!(c.listen, "127.0.0.1:9092".parse().unwrap());
    let ignored = c.unknown_or_ignored_keys();
    assert_eq!(
        ignored,
        [
            "num.network.threads",
            "zookeeper.connect",
            "zookeeper.connection.timeout.ms"
        ]
    );
}

/// Text shaped like properties files: lines of known keys, separators, escapes and noise.
fn properties_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "listeners",
        "advertised.listeners",
        "log.retention.ms",
        "log.retention.hours",
        "log.retention.minutes",
        "log.roll.hours",
        "log.segment.bytes",
        "node.id",
        "broker.id",
        "log.dirs",
        "log.cleanup.policy",
        "log.cleaner.min.cleanable.ratio",
        "max.connections",
        "controller.listener.names",
        "listener.security.protocol.map",
        "unknown.key",
    ]);
    let sep = prop::sample::select(vec!["=", ":", " ", " = ", "\\\n", "=\\\n  "]);
    let value = "[-0-9a-zA-Z.,:/\\\\ =#!\t\u{0}-\u{1f}\u{80}-\u{10ffff}]{0,24}";
    let line = (key, sep, value).prop_map(|(k, s, v)| format!("{k}{s}{v}"));
    prop::collection::vec(prop_oneof![line, "\\PC{0,30}"], 0..12).prop_map(|l| l.join("\n"))
}

proptest! {
    #[test]
    fn arbitrary_properties_never_panic(text in "\\PC{0,300}") {
        let _ = BrokerConfig::from_properties(&text);
    }

    #[test]
    fn structured_properties_never_panic(text in properties_text()) {
        let _ = BrokerConfig::from_properties(&text);
    }

    #[test]
    fn arbitrary_values_for_known_keys_never_panic(
        key in prop::sample::select(vec![
            "log.retention.ms", "log.retention.hours", "log.retention.minutes", "log.roll.hours",
            "log.segment.bytes", "node.id", "broker.id", "log.dirs", "advertised.listeners",
            "log.cleanup.policy", "log.cleaner.min.cleanable.ratio", "max.connections",
        ]),
        value in "[-0-9a-z.,:/]{0,24}",
    ) {
        let _ = BrokerConfig::from_properties(&format!("{key}={value}"));
    }
}
