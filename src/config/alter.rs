//! Run-time changes to broker configs: (Incremental)AlterConfigs on the BROKER resource.

use indexmap::IndexMap;

use super::broker::BrokerConfig;
use super::broker_keys::{broker_key, THREAD_COUNT_KEYS};
use super::describe::{describe_broker, ConfigEntry};
use super::error::ConfigError;
use super::value::{parse_value, split_list, ConfigType};

/// One IncrementalAlterConfigs operation (legacy AlterConfigs is all `Set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterOp {
    Set(String, String),
    Delete(String),
    Append(String, String),
    Subtract(String, String),
}

/// Kafka's dynamic broker throttles for replication and log-directory moves.
const REPLICATION_THROTTLES: &[&str] = &[
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

impl AlterOp {
    pub fn key(&self) -> &str {
        match self {
            AlterOp::Set(k, _)
            | AlterOp::Delete(k)
            | AlterOp::Append(k, _)
            | AlterOp::Subtract(k, _) => k,
        }
    }
}

/// Which broker resource an alteration addresses: resource name "" is the cluster-wide default
/// (DYNAMIC_DEFAULT_BROKER_CONFIG), the node's id is this broker (DYNAMIC_BROKER_CONFIG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerScope {
    ThisBroker,
    ClusterDefault,
}

impl BrokerScope {
    pub fn for_resource(name: &str, node_id: i32) -> Result<BrokerScope, ConfigError> {
        if name.is_empty() {
            return Ok(BrokerScope::ClusterDefault);
        }
        match name.parse::<i32>() {
            Ok(id) if id == node_id => Ok(BrokerScope::ThisBroker),
            _ => Err(ConfigError::WrongBroker {
                name: name.to_string(),
                expected: node_id,
            }),
        }
    }
}

impl BrokerConfig {
    /// DescribeConfigs(BROKER): every key Strata reads, with value, source and synonyms.
    pub fn describe(&self) -> Vec<ConfigEntry> {
        describe_broker(self)
    }

    /// Applies `ops` as cluster-wide defaults. All ops are validated before any is applied;
    /// with `validate_only` nothing changes.
    pub fn alter(&mut self, ops: &[AlterOp], validate_only: bool) -> Result<(), ConfigError> {
        self.alter_in(BrokerScope::ClusterDefault, ops, validate_only)
    }

    /// Applies `ops` in `scope`. Kafka accepts any key it does not know at run time (it is stored
    /// and ignored), refuses its static keys, and checks the dynamic ones with their validators.
    pub fn alter_in(
        &mut self,
        scope: BrokerScope,
        ops: &[AlterOp],
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for op in ops {
            let key = op.key();
            // Kafka's replication throttles can never be set here (one node, no replication),
            // so removing one is a no-op; kafka-reassign-partitions --verify removes them.
            if matches!(op, AlterOp::Delete(_)) && REPLICATION_THROTTLES.contains(&key) {
                continue;
            }
            let Some(bk) = broker_key(key) else {
                next.alter_unknown(scope, op);
                continue;
            };
            if !bk.dynamic {
                return Err(ConfigError::NotDynamic(key.to_string()));
            }
            let layer = next.layer_mut(scope);
            match op {
                AlterOp::Set(_, value) => {
                    parse_value(&bk.def, value)?;
                    layer.insert(key.to_string(), value.trim().to_string());
                }
                AlterOp::Delete(_) => {
                    layer.shift_remove(key);
                }
                AlterOp::Append(_, value) | AlterOp::Subtract(_, value) => {
                    let append = matches!(op, AlterOp::Append(..));
                    if bk.def.ty != ConfigType::List {
                        return Err(ConfigError::NotAList {
                            key: key.to_string(),
                            op: if append { "append" } else { "subtract" },
                        });
                    }
                    let current = layer
                        .get(key)
                        .map(String::as_str)
                        .or(bk.def.default)
                        .unwrap_or_default();
                    let mut items = split_list(current);
                    let given = split_list(value);
                    if append {
                        for item in given {
                            if !items.contains(&item) {
                                items.push(item);
                            }
                        }
                    } else {
                        items.retain(|i| !given.contains(i));
                    }
                    let joined = items.join(",");
                    parse_value(&bk.def, &joined)?;
                    layer.insert(key.to_string(), joined);
                }
            }
        }
        // Catches combinations that only fail once converted, e.g. log.roll.ms=0.
        next.resolve_dynamic()?;
        check_run_time_changes(self, &next)?;
        if !validate_only {
            *self = next;
        }
        Ok(())
    }

    /// Legacy AlterConfigs: `entries` become the whole dynamic configuration of `scope`.
    pub fn replace_dynamic(
        &mut self,
        scope: BrokerScope,
        entries: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), ConfigError> {
        let mut next = self.clone();
        next.layer_mut(scope).clear();
        let ops: Vec<AlterOp> = entries
            .iter()
            .map(|(k, v)| AlterOp::Set(k.clone(), v.clone()))
            .collect();
        next.alter_in(scope, &ops, false)?;
        if !validate_only {
            *self = next;
        }
        Ok(())
    }

    /// The run-time values of `scope`, for the metadata store to persist.
    pub fn dynamic_entries(&self, scope: BrokerScope) -> Vec<(String, String)> {
        let layer = match scope {
            BrokerScope::ThisBroker => &self.dynamic_broker,
            BrokerScope::ClusterDefault => &self.dynamic_default,
        };
        layer.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Reapplies persisted run-time values at start-up.
    pub fn restore_dynamic(
        &mut self,
        scope: BrokerScope,
        entries: &[(String, String)],
    ) -> Result<(), ConfigError> {
        let ops: Vec<AlterOp> = entries
            .iter()
            .map(|(k, v)| AlterOp::Set(k.clone(), v.clone()))
            .collect();
        self.alter_in(scope, &ops, false)
    }

    /// A key Kafka would not know is kept as written (DELETE removes it; APPEND and SUBTRACT treat
    /// it as a list), never validated and never described.
    fn alter_unknown(&mut self, scope: BrokerScope, op: &AlterOp) {
        let key = op.key().to_string();
        let layer = self.layer_mut(scope);
        match op {
            AlterOp::Set(_, v) => {
                layer.insert(key, v.clone());
            }
            AlterOp::Delete(_) => {
                layer.shift_remove(&key);
            }
            AlterOp::Append(_, v) | AlterOp::Subtract(_, v) => {
                let mut items = split_list(layer.get(&key).map(String::as_str).unwrap_or(""));
                let given = split_list(v);
                if matches!(op, AlterOp::Append(..)) {
                    items.extend(
                        given
                            .into_iter()
                            .filter(|g| !items.contains(g))
                            .collect::<Vec<_>>(),
                    );
                } else {
                    items.retain(|i| !given.contains(i));
                }
                layer.insert(key, items.join(","));
            }
        }
    }

    fn layer_mut(&mut self, scope: BrokerScope) -> &mut IndexMap<String, String> {
        match scope {
            BrokerScope::ThisBroker => &mut self.dynamic_broker,
            BrokerScope::ClusterDefault => &mut self.dynamic_default,
        }
    }
}

/// Kafka's reconfiguration checks, which compare the new value with the one in use: thread pools
/// grow or shrink by at most a factor of two, and `max.connections` cannot become 0.
fn check_run_time_changes(current: &BrokerConfig, next: &BrokerConfig) -> Result<(), ConfigError> {
    let wrap = |msg: String| {
        ConfigError::Rule(format!(
            "Invalid value org.apache.kafka.common.config.ConfigException: {msg} for configuration Invalid dynamic configuration"
        ))
    };
    for key in THREAD_COUNT_KEYS {
        let (old, new) = (current.num(key), next.num(key));
        if old == new {
            continue;
        }
        if new > old.saturating_mul(2) {
            return Err(wrap(format!("Dynamic thread count update validation failed for {key}={new}, value should not be greater than double the current value {old}")));
        }
        if new < old / 2 || new < 1 {
            return Err(wrap(format!("Dynamic thread count update validation failed for {key}={new}, value should be at least half the current value {old}")));
        }
    }
    let connections = next.num("max.connections");
    if connections != current.num("max.connections") && connections < 1 {
        return Err(wrap(format!("Invalid max.connections {connections}")));
    }
    Ok(())
}
