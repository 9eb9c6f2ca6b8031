//! Errors raised while reading, validating or altering configuration.

use std::path::PathBuf;

/// Kafka's INVALID_CONFIG error code.
pub const INVALID_CONFIG: i16 = 40;
/// Kafka's INVALID_REQUEST error code.
pub const INVALID_REQUEST: i16 = 42;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse or is outside the key's valid range. The message names both so
    /// an operator can find the line in `server.properties` at once.
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    /// Kafka's wording for topic configs, which clients show to users verbatim.
    #[error("Unknown topic config name: {0}")]
    UnknownKey(String),
    #[error("Unknown broker config name: {0}")]
    UnknownBrokerKey(String),
    /// A known broker key that cannot change while the broker runs.
    #[error("Cannot update these configs dynamically: Set({0})")]
    NotDynamic(String),
    /// A rule Kafka checks beyond a key's own validator, in Kafka's words (which do not follow
    /// the "Invalid value" pattern).
    #[error("{0}")]
    Rule(String),
    /// APPEND / SUBTRACT on a key whose type is not a list.
    #[error("Config value {op} is not allowed for config key: {key}")]
    NotAList { key: String, op: &'static str },
    /// A broker resource name that is neither "" (cluster default) nor this node's id.
    #[error("Unexpected broker id, expected {expected} or empty string, but received {name}")]
    WrongBroker { name: String, expected: i32 },
    /// A properties file that java.util.Properties would also reject.
    #[error("{origin}, line {line}: {reason}")]
    Syntax {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad command line; the message includes the usage text.
    #[error("{0}")]
    Usage(String),
    /// `--help` was given: the caller prints this text and exits successfully.
    #[error("{0}")]
    Help(String),
}

impl ConfigError {
    pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// The Kafka error code a config request answers with for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            // Kafka rejects a per-broker update addressed to another broker, and updates of
            // read-only broker keys, as malformed requests rather than bad values.
            ConfigError::NotDynamic(_) | ConfigError::WrongBroker { .. } => INVALID_REQUEST,
            _ => INVALID_CONFIG,
        }
    }
}
