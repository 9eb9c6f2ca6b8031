//! Configuration: the command line, Kafka's `server.properties`, and topic configs.
//!
//! - `properties`: the java.util.Properties text format.
//! - `value`: Kafka's config types and validators.
//! - `broker_keys` / `topic_keys`: the key tables (types, defaults, validators, synonyms).
//! - `broker` + `startup`: [`BrokerConfig`], layered user values resolved into typed settings.
//! - `listeners`: listener strings and the choice of the served listener.
//! - `cli`: `strata` flags.
//! - `topic_config`: [`TopicConfig`], a topic's effective settings as plain values.
//! - `overrides`: [`TopicOverrides`], per-topic settings set by users.
//! - `describe`: DescribeConfigs entries; `alter`: run-time broker changes.
//!
//! Precedence, lowest first: built-in defaults, `--config` file, `--set`, dedicated flags, then
//! run-time changes (cluster default, then this broker). A topic's value comes from its
//! override, else the first of its broker synonyms that is set, else the built-in default.

mod alter;
mod broker;
mod broker_keys;
mod cli;
mod describe;
mod error;
mod listeners;
mod overrides;
mod properties;
mod startup;
mod topic_config;
mod topic_keys;
mod value;

#[cfg(test)]
mod tests_alter;
#[cfg(test)]
mod tests_broker;
#[cfg(test)]
mod tests_cli;
#[cfg(test)]
mod tests_samples;
#[cfg(test)]
mod tests_topic;

pub use alter::{AlterOp, BrokerScope};
pub use broker::{BrokerConfig, Origin, UserValue};
pub use broker_keys::DEFAULT_MAX_CONNECTIONS;
pub use cli::USAGE;
pub use describe::{is_known_broker_key, ConfigEntry, ConfigSource, ConfigSynonym};
pub use error::{ConfigError, INVALID_CONFIG, INVALID_REQUEST};
pub use overrides::TopicOverrides;
pub use topic_config::{CleanupPolicy, CompressionType, TimestampType, TopicConfig};
pub use value::ConfigType;
