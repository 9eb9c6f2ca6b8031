//! Per-topic config overrides: validated as Kafka validates them, layered over the broker's
//! defaults, and serialisable for the metadata store.

use std::collections::BTreeMap;

use super::broker::BrokerConfig;
use super::describe::{describe_topic, ConfigEntry};
use super::error::ConfigError;
use super::properties;
use super::topic_config::TopicConfig;
use super::topic_keys::{topic_key, TopicKey};
use super::value::{parse_value, split_list, ConfigType};

/// The topic configs a user set, by Kafka name. Values are kept as written (trimmed) because
/// DescribeConfigs shows the override's own text among the synonyms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicOverrides {
    map: BTreeMap<String, String>,
}

fn known(key: &str) -> Result<&'static TopicKey, ConfigError> {
    topic_key(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))
}

fn validate(tk: &TopicKey, value: &str) -> Result<(), ConfigError> {
    parse_value(&tk.def, value)?;
    // Kafka refuses remote storage on a broker where tiered storage is off; Strata has none.
    if tk.def.name == "remote.storage.enable" && value.trim().eq_ignore_ascii_case("true") {
        return Err(ConfigError::Rule(
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.".into(),
        ));
    }
    Ok(())
}

impl TopicOverrides {
    /// Validates and stores one override. Unknown keys and bad values are InvalidConfig, with
    /// Kafka's messages.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let tk = known(key)?;
        validate(tk, value)?;
        self.map.insert(key.to_string(), value.trim().to_string());
        Ok(())
    }

    /// Same as [`TopicOverrides::set`]; named for loading persisted overrides.
    pub fn restore(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        self.set(key, value)
    }

    pub fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&String, &String)> {
        self.map.iter()
    }

    /// The current list for APPEND / SUBTRACT: the override, else the key's own default (not
    /// the broker's), as Kafka computes it.
    fn current_list(
        &self,
        key: &str,
        op: &'static str,
    ) -> Result<(&'static TopicKey, Vec<String>), ConfigError> {
        let tk = known(key)?;
        if tk.def.ty != ConfigType::List {
            return Err(ConfigError::NotAList {
                key: key.to_string(),
                op,
            });
        }
        let current = self
            .map
            .get(key)
            .map(String::as_str)
            .or(tk.def.default)
            .unwrap_or_default();
        Ok((tk, split_list(current)))
    }

    /// Adds the comma-separated `value` items not already present.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let (tk, mut items) = self.current_list(key, "append")?;
        for item in split_list(value) {
            if !items.contains(&item) {
                items.push(item);
            }
        }
        let joined = items.join(",");
        validate(tk, &joined)?;
        self.map.insert(key.to_string(), joined);
        Ok(())
    }

    /// Removes the comma-separated `value` items.
    pub fn subtract(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let (tk, items) = self.current_list(key, "subtract")?;
        let remove = split_list(value);
        let kept: Vec<String> = items.into_iter().filter(|i| !remove.contains(i)).collect();
        let joined = kept.join(",");
        validate(tk, &joined)?;
        self.map.insert(key.to_string(), joined);
        Ok(())
    }

    /// The topic's configuration: these overrides on top of the broker's current defaults.
    pub fn effective(&self, broker: &BrokerConfig) -> TopicConfig {
        let mut t = broker.log_defaults.clone();
        for (key, value) in &self.map {
            // Stored values were validated on the way in; a value that no longer parses (an
            // edited metadata file) keeps the broker default rather than failing the topic.
            if let Some(tk) = topic_key(key) {
                if let Ok(parsed) = parse_value(&tk.def, value) {
                    t.set_field(key, &parsed);
                }
            }
        }
        t
    }

    /// Checks the rules that span keys on the topic's effective configuration, as Kafka does
    /// after applying a create or alter: run it on the overrides about to be stored.
    pub fn validate(&self, broker: &BrokerConfig) -> Result<(), ConfigError> {
        let t = self.effective(broker);
        if t.min_compaction_lag_ms > t.max_compaction_lag_ms {
            return Err(ConfigError::Rule(format!(
                "conflict topic config setting min.compaction.lag.ms ({}) > max.compaction.lag.ms ({})",
                t.min_compaction_lag_ms, t.max_compaction_lag_ms
            )));
        }
        Ok(())
    }

    /// Every topic config with value, source and synonyms.
    pub fn describe(&self, broker: &BrokerConfig) -> Vec<ConfigEntry> {
        let effective = self.effective(broker);
        describe_topic(&|k| self.map.get(k).cloned(), &effective, broker)
    }

    /// `key=value` lines in properties syntax.
    pub fn to_properties(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.map {
            out.push_str(&properties::escape(k, true));
            out.push('=');
            out.push_str(&properties::escape(v, false));
            out.push('\n');
        }
        out
    }

    /// Reads what [`TopicOverrides::to_properties`] wrote, validating every entry.
    pub fn from_properties(text: &str) -> Result<TopicOverrides, ConfigError> {
        let mut o = TopicOverrides::default();
        for p in properties::parse(text, "topic overrides")? {
            o.set(&p.key, &p.value)?;
        }
        Ok(o)
    }
}
