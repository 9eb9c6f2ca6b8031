//! The broker's configuration: layered user values (file, `--set`, flags, run-time changes) and
//! the typed settings resolved from them.

use std::net::SocketAddr;
use std::path::PathBuf;

use indexmap::IndexMap;

use super::broker_keys::{broker_key, NOT_HONOURED};
use super::describe::ConfigSource;
use super::error::ConfigError;
use super::topic_config::TopicConfig;
use super::topic_keys::{TopicKey, Unit, TOPIC_KEYS};
use super::value::{parse_value, Parsed};

/// Where a user-set value came from; all of them are STATIC_BROKER_CONFIG to Kafka clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    ConfigFile,
    SetFlag,
    CommandLine,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserValue {
    pub value: String,
    pub origin: Origin,
}

/// The dedicated command-line flags, which win over every key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags {
    pub listen: Option<String>,
    pub advertised: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub node_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The address to bind.
    pub listen: SocketAddr,
    /// What Metadata tells clients to connect to. With port 0 in `listen`, the server must
    /// replace `advertised_port` with the port it was given.
    pub advertised_host: String,
    pub advertised_port: u16,
    pub data_dir: PathBuf,
    pub node_id: i32,
    pub num_partitions: i32,
    pub auto_create_topics: bool,
    pub default_replication_factor: i16,
    /// Follows `log_defaults.max_message_bytes`, including run-time changes.
    pub message_max_bytes: i32,
    pub socket_request_max_bytes: i32,
    pub max_connections: usize,
    /// Kafka's `queued.max.requests`; see [`BrokerConfig::max_in_flight_per_connection`].
    pub queued_max_requests: usize,
    pub connections_max_idle_ms: u64,
    pub log_retention_check_interval_ms: u64,
    /// Broker-level defaults of every topic config, after run-time changes.
    pub log_defaults: TopicConfig,
    pub delete_topic_enable: bool,
    pub group_initial_rebalance_delay_ms: u64,
    pub group_min_session_timeout_ms: u64,
    pub group_max_session_timeout_ms: u64,
    pub offsets_topic_num_partitions: i32,
    pub offsets_retention_minutes: u64,
    pub offsets_retention_check_interval_ms: u64,
    pub transaction_state_log_num_partitions: i32,
    pub transaction_max_timeout_ms: u64,
    pub transactional_id_expiration_ms: u64,
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    pub transaction_remove_expired_transaction_cleanup_interval_ms: u64,
    pub producer_id_expiration_ms: u64,
    pub producer_id_expiration_check_interval_ms: u64,
    pub(crate) user: IndexMap<String, UserValue>,
    pub(crate) dynamic_broker: IndexMap<String, String>,
    pub(crate) dynamic_default: IndexMap<String, String>,
    pub(crate) unknown_or_ignored: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// Strata reads ahead at most this many requests per connection. Kafka's `queued.max.requests`
/// bounds one queue shared by all connections; a per-connection bound keeps one pipelining
/// client from holding the whole budget while still covering every client's default window.
const MAX_IN_FLIGHT_PER_CONNECTION_CAP: usize = 100;

impl BrokerConfig {
    /// Parses `server.properties` text with no command-line flags.
    pub fn from_properties(text: &str) -> Result<BrokerConfig, ConfigError> {
        let mut user = IndexMap::new();
        for p in super::properties::parse(text, "properties")? {
            user.insert(
                p.key,
                UserValue {
                    value: p.value,
                    origin: Origin::ConfigFile,
                },
            );
        }
        BrokerConfig::build(user, &Flags::default())
    }

    /// Keys that were set but that Strata does not use (Kafka keys for features it lacks, and
    /// keys nobody knows), in the order they were set: to be logged in one warning line.
    pub fn unknown_or_ignored_keys(&self) -> &[String] {
        &self.unknown_or_ignored
    }

    /// Other start-up warnings (unserved listeners, extra log dirs, replication factor).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Logs the start-up warnings: unknown or ignored keys on one line, then each other warning.
    pub fn log_startup_warnings(&self) {
        if !self.unknown_or_ignored.is_empty() {
            tracing::warn!(
                keys = %self.unknown_or_ignored.join(", "),
                "configuration keys not used by Strata (Kafka keys for features Strata does not have, or unknown keys)"
            );
        }
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
    }

    /// What the user set, with where it came from.
    pub fn user_values(&self) -> impl Iterator<Item = (&str, &UserValue)> {
        self.user.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The per-connection read-ahead bound derived from `queued.max.requests`.
    pub fn max_in_flight_per_connection(&self) -> usize {
        self.queued_max_requests
            .clamp(1, MAX_IN_FLIGHT_PER_CONNECTION_CAP)
    }

    pub(crate) fn build(
        mut user: IndexMap<String, UserValue>,
        flags: &Flags,
    ) -> Result<BrokerConfig, ConfigError> {
        apply_flags(&mut user, flags);
        let mut unknown = Vec::new();
        for (key, v) in &user {
            match broker_key(key) {
                Some(bk) => {
                    parse_value(&bk.def, &v.value)?;
                    if NOT_HONOURED.contains(&key.as_str()) {
                        unknown.push(key.clone());
                    }
                }
                None => unknown.push(key.clone()),
            }
        }
        let mut c = BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised_host: String::new(),
            advertised_port: 9092,
            data_dir: PathBuf::from("./data"),
            node_id: 1,
            num_partitions: 1,
            auto_create_topics: true,
            default_replication_factor: 1,
            message_max_bytes: 0,
            socket_request_max_bytes: 0,
            max_connections: 0,
            queued_max_requests: 0,
            connections_max_idle_ms: 0,
            log_retention_check_interval_ms: 0,
            log_defaults: TopicConfig::default(),
            delete_topic_enable: true,
            group_initial_rebalance_delay_ms: 0,
            group_min_session_timeout_ms: 0,
            group_max_session_timeout_ms: 0,
            offsets_topic_num_partitions: 0,
            offsets_retention_minutes: 0,
            offsets_retention_check_interval_ms: 0,
            transaction_state_log_num_partitions: 0,
            transaction_max_timeout_ms: 0,
            transactional_id_expiration_ms: 0,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 0,
            transaction_remove_expired_transaction_cleanup_interval_ms: 0,
            producer_id_expiration_ms: 0,
            producer_id_expiration_check_interval_ms: 0,
            user,
            dynamic_broker: IndexMap::new(),
            dynamic_default: IndexMap::new(),
            unknown_or_ignored: unknown,
            warnings: Vec::new(),
        };
        c.resolve_static(flags)?;
        c.resolve_dynamic()?;
        Ok(c)
    }

    /// The highest-precedence value set for `key` at run time or at start-up.
    pub(crate) fn layered(&self, key: &str) -> Option<(String, ConfigSource)> {
        if let Some(v) = self.dynamic_broker.get(key) {
            return Some((v.clone(), ConfigSource::DynamicBroker));
        }
        if let Some(v) = self.dynamic_default.get(key) {
            return Some((v.clone(), ConfigSource::DynamicDefaultBroker));
        }
        self.user
            .get(key)
            .map(|u| (u.value.clone(), ConfigSource::StaticBroker))
    }

    /// The value of `key` in one layer, `Default` being the built-in default.
    pub(crate) fn value_in(&self, source: ConfigSource, key: &str) -> Option<String> {
        match source {
            ConfigSource::DynamicBroker => self.dynamic_broker.get(key).cloned(),
            ConfigSource::DynamicDefaultBroker => self.dynamic_default.get(key).cloned(),
            ConfigSource::StaticBroker => self.user.get(key).map(|u| u.value.clone()),
            ConfigSource::Default => {
                broker_key(key).and_then(|k| k.def.default.map(str::to_string))
            }
            ConfigSource::DynamicTopic => None,
        }
    }

    pub(crate) fn parsed(&self, key: &str) -> Parsed {
        let raw = self
            .layered(key)
            .map(|(v, _)| v)
            .or_else(|| self.value_in(ConfigSource::Default, key));
        match (broker_key(key), raw) {
            (Some(bk), Some(raw)) => parse_value(&bk.def, &raw).unwrap_or(Parsed::Number(0)),
            _ => Parsed::Number(0),
        }
    }

    pub(crate) fn num(&self, key: &str) -> i64 {
        self.parsed(key).number()
    }

    pub(crate) fn int(&self, key: &str) -> i32 {
        i32::try_from(self.num(key)).unwrap_or(i32::MAX)
    }

    pub(crate) fn non_negative(&self, key: &str) -> u64 {
        u64::try_from(self.num(key)).unwrap_or(0)
    }

    pub(crate) fn boolean(&self, key: &str) -> bool {
        matches!(self.parsed(key), Parsed::Bool(true))
    }

    pub(crate) fn raw(&self, key: &str) -> String {
        self.layered(key)
            .map(|(v, _)| v)
            .or_else(|| self.value_in(ConfigSource::Default, key))
            .unwrap_or_default()
    }

    /// Recomputes the topic defaults and what depends on them after the layers changed.
    pub(crate) fn resolve_dynamic(&mut self) -> Result<(), ConfigError> {
        let mut t = TopicConfig::default();
        for tk in TOPIC_KEYS {
            if let Some((name, raw, source)) = self.resolve_synonym(tk) {
                let parsed = self.convert_synonym(tk, name, &raw)?;
                let configured = t.flush_configured;
                t.set_field(tk.def.name, &parsed);
                // Kafka's defaults are applied too; only a configured flush key changes policy.
                if source == ConfigSource::Default {
                    t.flush_configured = configured;
                }
            }
        }
        self.message_max_bytes = t.max_message_bytes;
        self.log_defaults = t;
        Ok(())
    }

    /// `max.connections` when it was set at run time (IncrementalAlterConfigs on the broker or
    /// the cluster default); the listener then applies it instead of its start-up bound.
    pub fn run_time_max_connections(&self) -> Option<usize> {
        match self.layered("max.connections") {
            Some((raw, ConfigSource::DynamicBroker | ConfigSource::DynamicDefaultBroker)) => {
                raw.trim().parse::<usize>().ok()
            }
            _ => None,
        }
    }

    /// The broker key that supplies `tk`'s default: the first synonym set anywhere, else the
    /// first with a built-in default (so `log.retention.hours=168` when nothing is set).
    pub(crate) fn resolve_synonym(
        &self,
        tk: &TopicKey,
    ) -> Option<(&'static str, String, ConfigSource)> {
        let set = tk.synonyms.iter().find_map(|s| {
            self.layered(s.name)
                .map(|(raw, source)| (s.name, raw, source))
        });
        set.or_else(|| {
            tk.synonyms.iter().find_map(|s| {
                self.value_in(ConfigSource::Default, s.name)
                    .map(|raw| (s.name, raw, ConfigSource::Default))
            })
        })
    }

    fn convert_synonym(&self, tk: &TopicKey, name: &str, raw: &str) -> Result<Parsed, ConfigError> {
        let bad = |reason: String| ConfigError::invalid(name, raw, reason);
        let bk = broker_key(name).ok_or_else(|| bad("unknown broker key".into()))?;
        let parsed = parse_value(&bk.def, raw)?;
        let factor = match tk.synonyms.iter().find(|s| s.name == name).map(|s| s.unit) {
            Some(Unit::MinutesToMs) => 60_000,
            Some(Unit::HoursToMs) => 3_600_000,
            _ => 1,
        };
        let topic_raw = if factor == 1 && tk.def.name != "retention.ms" {
            raw.to_string()
        } else {
            let mut ms = parsed
                .number()
                .checked_mul(factor)
                .ok_or_else(|| bad("too large once converted to milliseconds".into()))?;
            if tk.def.name == "retention.ms" {
                // Kafka treats any negative retention as unlimited, and rejects zero.
                if ms < 0 {
                    ms = -1;
                }
                if ms == 0 {
                    return Err(ConfigError::Rule(
                        "requirement failed: log.retention.ms must be unlimited (-1) or, greater than or equal to 1"
                            .into(),
                    ));
                }
            }
            ms.to_string()
        };
        if tk.def.name == "segment.ms" && topic_raw.parse::<i64>().is_ok_and(|ms| ms < 1) {
            // Kafka's start-up requirement on the resolved roll time, not a key validator.
            return Err(ConfigError::Rule(
                "requirement failed: log.roll.ms must be greater than or equal to 1".into(),
            ));
        }
        parse_value(&tk.def, &topic_raw).map_err(|e| match e {
            ConfigError::InvalidValue { reason, .. } => bad(reason),
            other => other,
        })
    }
}

fn apply_flags(user: &mut IndexMap<String, UserValue>, flags: &Flags) {
    let mut put = |key: &str, value: String| {
        user.insert(
            key.to_string(),
            UserValue {
                value,
                origin: Origin::CommandLine,
            },
        );
    };
    if let Some(l) = &flags.listen {
        put("listeners", format!("PLAINTEXT://{l}"));
    }
    if let Some(a) = &flags.advertised {
        put("advertised.listeners", format!("PLAINTEXT://{a}"));
    }
    if let Some(d) = &flags.data_dir {
        put("log.dirs", d.display().to_string());
    }
    if let Some(n) = &flags.node_id {
        put("node.id", n.clone());
        // The flag wins over a broker.id in the file rather than conflicting with it.
        user.shift_remove("broker.id");
    }
}
