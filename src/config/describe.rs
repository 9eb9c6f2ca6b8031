//! DescribeConfigs entries for the broker and for topics: values, sources and synonym chains as
//! Kafka reports them.

use super::broker::BrokerConfig;
use super::broker_keys::{broker_key, broker_synonyms, BROKER_KEYS};
use super::topic_config::TopicConfig;
use super::topic_keys::TOPIC_KEYS;
use super::value::ConfigType;

/// Kafka's config source codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    DynamicBroker = 2,
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
}

/// The order Kafka lists broker-level synonyms in.
const BROKER_SOURCES: [ConfigSource; 4] = [
    ConfigSource::DynamicBroker,
    ConfigSource::DynamicDefaultBroker,
    ConfigSource::StaticBroker,
    ConfigSource::Default,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    pub config_type: ConfigType,
    /// Highest precedence first.
    pub synonyms: Vec<ConfigSynonym>,
    pub documentation: Option<String>,
}

const FSYNC_DOC: &str =
    "Unset (Kafka's default of 9223372036854775807 for both flush.messages and \
flush.ms): Strata fsyncs every append before acknowledging it. Setting either applies Kafka's \
interval semantics.";

/// Every value the listed broker keys (a synonym chain) have in any layer, in Kafka's order (by
/// layer, then by chain), less the entries before the first one named `first`: Kafka drops those,
/// so a key with no value of its own shows no synonyms at all even when a lower-precedence key of
/// its chain has one (`log.retention.ms` unset hides `log.retention.hours=168`).
fn broker_synonym_entries(
    broker: &BrokerConfig,
    names: &[&str],
    first: &str,
) -> Vec<ConfigSynonym> {
    let mut out = Vec::new();
    for source in BROKER_SOURCES {
        for name in names {
            if let Some(value) = broker.value_in(source, name) {
                out.push(ConfigSynonym {
                    name: name.to_string(),
                    value: Some(value),
                    source,
                });
            }
        }
    }
    match out.iter().position(|s| s.name == first) {
        Some(at) => out.split_off(at),
        None => Vec::new(),
    }
}

/// DescribeConfigs(BROKER).
pub(crate) fn describe_broker(broker: &BrokerConfig) -> Vec<ConfigEntry> {
    let mut keys: Vec<_> = BROKER_KEYS.iter().collect();
    keys.sort_by_key(|k| k.def.name);
    keys.into_iter()
        .map(|k| {
            let name = k.def.name;
            let (value, source) = match broker.layered(name) {
                Some((v, s)) => (Some(v), s),
                None => (k.def.default.map(str::to_string), ConfigSource::Default),
            };
            // Node id may come from broker.id; show the id actually in use.
            let value = if name == "node.id" {
                Some(broker.node_id.to_string())
            } else {
                value
            };
            let chain = broker_synonyms(name);
            let names: Vec<&str> = if chain.is_empty() {
                vec![name]
            } else {
                chain.to_vec()
            };
            let documentation = (name == "log.flush.interval.messages"
                && broker.log_defaults.fsync_every_append())
            .then(|| FSYNC_DOC.to_string());
            ConfigEntry {
                name: name.to_string(),
                value,
                source,
                read_only: !k.dynamic,
                sensitive: k.def.ty == ConfigType::Password,
                config_type: k.def.ty,
                synonyms: broker_synonym_entries(broker, &names, name),
                documentation,
            }
        })
        .collect()
}

/// DescribeConfigs(TOPIC), given the topic's overrides and its effective configuration.
pub(crate) fn describe_topic(
    overrides: &dyn Fn(&str) -> Option<String>,
    effective: &TopicConfig,
    broker: &BrokerConfig,
) -> Vec<ConfigEntry> {
    TOPIC_KEYS
        .iter()
        .map(|tk| {
            let name = tk.def.name;
            let names: Vec<&str> = tk.synonyms.iter().map(|s| s.name).collect();
            let mut synonyms = Vec::new();
            if let Some(v) = overrides(name) {
                synonyms.push(ConfigSynonym {
                    name: name.to_string(),
                    value: Some(v),
                    source: ConfigSource::DynamicTopic,
                });
            }
            if let Some(primary) = names.first() {
                synonyms.extend(broker_synonym_entries(broker, &names, primary));
            }
            // Kafka takes the source from the first synonym listed, DEFAULT when there is none.
            let source = synonyms.first().map_or(ConfigSource::Default, |s| s.source);
            let documentation = matches!(name, "flush.messages" | "flush.ms")
                .then_some(())
                .filter(|_| effective.fsync_every_append())
                .map(|_| FSYNC_DOC.to_string());
            ConfigEntry {
                name: name.to_string(),
                value: effective.value_string(name),
                source,
                read_only: false,
                sensitive: false,
                config_type: tk.def.ty,
                synonyms,
                documentation,
            }
        })
        .collect()
}

/// Whether `name` is a broker key DescribeConfigs lists.
pub fn is_known_broker_key(name: &str) -> bool {
    broker_key(name).is_some()
}
