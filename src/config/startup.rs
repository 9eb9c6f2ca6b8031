//! Start-up resolution of the settings that cannot change at run time: identity, data
//! directory, listeners and the advertised address, and the plain numeric settings.

use std::path::PathBuf;

use super::broker::{BrokerConfig, Flags};
use super::broker_keys::DEFAULT_PROTOCOL_MAP;
use super::error::ConfigError;
use super::listeners::{
    bind_address, choose_listener, is_meta_address, parse_endpoints, parse_protocol_map,
    split_host_port, Endpoint,
};
use super::value::split_list;

impl BrokerConfig {
    pub(crate) fn resolve_static(&mut self, flags: &Flags) -> Result<(), ConfigError> {
        self.resolve_identity()?;
        self.resolve_data_dir(flags)?;
        self.resolve_listeners(flags)?;
        let rf = self.num("default.replication.factor");
        self.default_replication_factor = i16::try_from(rf).unwrap_or(i16::MAX);
        if rf > 1 {
            self.warnings.push(format!(
                "default.replication.factor={rf} is accepted, but Strata has one node: topics get one replica"
            ));
        }
        if self.boolean("remote.log.storage.system.enable") {
            return Err(ConfigError::invalid(
                "remote.log.storage.system.enable",
                "true",
                "tiered storage is not supported",
            ));
        }
        self.num_partitions = self.int("num.partitions");
        self.auto_create_topics = self.boolean("auto.create.topics.enable");
        self.delete_topic_enable = self.boolean("delete.topic.enable");
        self.socket_request_max_bytes = self.int("socket.request.max.bytes");
        self.max_connections = usize::try_from(self.num("max.connections")).unwrap_or(0);
        self.queued_max_requests = usize::try_from(self.num("queued.max.requests")).unwrap_or(1);
        self.connections_max_idle_ms = self.non_negative("connections.max.idle.ms");
        self.log_retention_check_interval_ms = self.non_negative("log.retention.check.interval.ms");
        self.group_initial_rebalance_delay_ms =
            self.non_negative("group.initial.rebalance.delay.ms");
        self.group_min_session_timeout_ms = self.non_negative("group.min.session.timeout.ms");
        self.group_max_session_timeout_ms = self.non_negative("group.max.session.timeout.ms");
        self.offsets_topic_num_partitions = self.int("offsets.topic.num.partitions");
        self.offsets_retention_minutes = self.non_negative("offsets.retention.minutes");
        self.offsets_retention_check_interval_ms =
            self.non_negative("offsets.retention.check.interval.ms");
        self.transaction_state_log_num_partitions =
            self.int("transaction.state.log.num.partitions");
        self.transaction_max_timeout_ms = self.non_negative("transaction.max.timeout.ms");
        self.transactional_id_expiration_ms = self.non_negative("transactional.id.expiration.ms");
        self.transaction_abort_timed_out_transaction_cleanup_interval_ms =
            self.non_negative("transaction.abort.timed.out.transaction.cleanup.interval.ms");
        self.transaction_remove_expired_transaction_cleanup_interval_ms =
            self.non_negative("transaction.remove.expired.transaction.cleanup.interval.ms");
        self.producer_id_expiration_ms = self.non_negative("producer.id.expiration.ms");
        self.producer_id_expiration_check_interval_ms =
            self.non_negative("producer.id.expiration.check.interval.ms");
        Ok(())
    }

    fn resolve_identity(&mut self) -> Result<(), ConfigError> {
        let node = self.user.get("node.id").map(|_| self.int("node.id"));
        let broker = self
            .user
            .get("broker.id")
            .map(|_| self.int("broker.id"))
            .filter(|&b| b >= 0);
        self.node_id = match (node, broker) {
            (Some(n), Some(b)) if n != b => {
                return Err(ConfigError::invalid(
                    "node.id",
                    &n.to_string(),
                    format!("must equal broker.id ({b})"),
                ))
            }
            (Some(n), _) => n,
            (None, Some(b)) => b,
            (None, None) => self.int("node.id"),
        };
        Ok(())
    }

    fn resolve_data_dir(&mut self, flags: &Flags) -> Result<(), ConfigError> {
        if let Some(dir) = &flags.data_dir {
            if dir.as_os_str().is_empty() {
                return Err(ConfigError::Usage(format!(
                    "--data-dir must not be empty\n\n{}",
                    super::cli::USAGE
                )));
            }
            self.data_dir = dir.clone();
            return Ok(());
        }
        let dirs = split_list(&self.raw("log.dirs"));
        let dirs: Vec<String> = dirs.into_iter().filter(|d| !d.is_empty()).collect();
        match dirs.split_first() {
            Some((first, rest)) => {
                if !rest.is_empty() {
                    self.warnings.push(format!(
                        "log.dirs lists {} directories; Strata uses only the first, {first}",
                        dirs.len()
                    ));
                }
                self.data_dir = PathBuf::from(first);
            }
            None => self.data_dir = PathBuf::from(self.raw("log.dir").trim()),
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "log.dir",
                "",
                "the data directory must not be empty",
            ));
        }
        Ok(())
    }

    fn resolve_listeners(&mut self, flags: &Flags) -> Result<(), ConfigError> {
        let listeners_raw = self.raw("listeners");
        let chosen = match &flags.listen {
            Some(text) => flag_endpoint("--listen", text)?,
            None => {
                let endpoints = parse_endpoints("listeners", &listeners_raw)?;
                let map_raw = self
                    .layered("listener.security.protocol.map")
                    .map(|(v, _)| v)
                    .unwrap_or_else(|| DEFAULT_PROTOCOL_MAP.to_string());
                let mut protocols = parse_protocol_map(&map_raw)?;
                let controllers: Vec<String> = split_list(&self.raw("controller.listener.names"))
                    .into_iter()
                    .map(|n| n.to_ascii_uppercase())
                    .collect();
                // Kafka maps a controller listener missing from the map to PLAINTEXT.
                for c in &controllers {
                    if !protocols.iter().any(|(n, _)| n == c) {
                        protocols.push((c.clone(), "PLAINTEXT".into()));
                    }
                }
                choose_listener(
                    &listeners_raw,
                    &endpoints,
                    &protocols,
                    &controllers,
                    &mut self.warnings,
                )?
            }
        };
        self.listen = bind_address("listeners", &listeners_raw, &chosen)?;
        let advertised = match &flags.advertised {
            Some(text) => Some(flag_endpoint("--advertised-listener", text)?),
            None => match self.layered("advertised.listeners") {
                Some((raw, _)) => {
                    let all = parse_endpoints("advertised.listeners", &raw)?;
                    let found = all.into_iter().find(|e| e.name == chosen.name);
                    if let Some(e) = &found {
                        if !e.host.is_empty() && is_meta_address(&e.host) {
                            return Err(ConfigError::invalid(
                                "advertised.listeners",
                                &raw,
                                format!("cannot use the nonroutable meta-address {}", e.host),
                            ));
                        }
                    }
                    found
                }
                None => None,
            },
        };
        let advertised = advertised.unwrap_or_else(|| chosen.clone());
        self.advertised_port = advertised.port;
        self.advertised_host = if is_meta_address(&advertised.host) {
            let host = local_hostname();
            self.warnings.push(format!(
                "listener binds every interface; advertising host name {host} (set advertised.listeners to choose)"
            ));
            host
        } else {
            advertised.host
        };
        Ok(())
    }
}

fn flag_endpoint(flag: &str, text: &str) -> Result<Endpoint, ConfigError> {
    let (host, port) = split_host_port(text.trim()).ok_or_else(|| {
        ConfigError::Usage(format!(
            "{flag} expects HOST:PORT, got {text:?}\n\n{}",
            super::cli::USAGE
        ))
    })?;
    Ok(Endpoint {
        name: "PLAINTEXT".into(),
        host,
        port,
    })
}

/// This machine's host name, which Kafka advertises for a wildcard listener.
fn local_hostname() -> String {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_proc
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        name
    } else {
        "localhost".to_string()
    }
}
