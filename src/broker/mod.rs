//! The broker's shared state: configuration, cluster metadata and the partitions it hosts.
//! Handlers receive an `Arc<Broker>`; they never touch files or sockets themselves.

mod clients;
pub mod fetch_sessions;
mod partitions;
mod topics;
mod transactions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;
use tokio::sync::Notify;

use crate::config::BrokerConfig;
use crate::group::consumer::{TopicImage, TopicInfo};
use crate::group::driver::{group_config, GroupService};
use crate::group::log::{self as group_log, GroupLog, GroupLogConfig};
use crate::group::GroupCoordinator;
use crate::log::LogError;
use crate::metadata::{ClientState, ClusterState, FileMetadataStore, MetadataStore, StoreError};
use crate::producer::{ProducerIdAllocator, ProducerStateError};
use crate::types::TopicPartition;

pub use partitions::Partition;
pub use topics::{NewTopic, TopicError};

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Metadata(#[from] StoreError),
    #[error("partition {partition}: {source}")]
    Log {
        partition: TopicPartition,
        source: LogError,
    },
    #[error(transparent)]
    ProducerIds(#[from] ProducerStateError),
    #[error("group log: {0}")]
    GroupLog(LogError),
    #[error("transaction log: {0}")]
    TxnLog(LogError),
}

pub struct Broker {
    config: RwLock<BrokerConfig>,
    cluster: RwLock<ClusterState>,
    /// The topics as consumer-group assignors see them; a new `Arc` whenever topics change.
    topic_image: RwLock<Arc<TopicImage>>,
    store: Box<dyn MetadataStore>,
    /// Client quotas and SCRAM credentials; the lock is held while a change is persisted, so the
    /// file and memory change in the same order.
    clients: Mutex<ClientState>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Serialises topic creation/deletion so metadata and partition directories change together.
    topic_changes: Mutex<()>,
    /// Notified when every long-polling fetch must look again whatever it waits for (shutdown, a
    /// deleted topic). Data arriving wakes only the fetches of its partition (`register_reader`).
    pub recheck_fetches: Arc<Notify>,
    producer_ids: ProducerIdAllocator,
    pub fetch_sessions: fetch_sessions::FetchSessionCache,
    shutting_down: AtomicBool,
    group_log: Arc<GroupLog>,
    /// The coordinator rebuilt at open, until its loop starts on first use (the loop needs the
    /// runtime, which `open` does not).
    group_boot: Mutex<Option<GroupCoordinator>>,
    group_service: OnceLock<GroupService>,
    txn_log: Arc<crate::txn::service::TxnLog>,
    /// The transaction coordinator rebuilt at open, until its loop starts (`txns`).
    txn_boot: Mutex<Option<crate::txn::TxnCoordinator>>,
    txn_service: OnceLock<crate::txn::service::TxnService>,
    /// The broker as the transaction coordinator's producer-id source and marker writer.
    link: Arc<transactions::BrokerLink>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Broker {
    /// Opens the data directory: loads metadata (or creates a new cluster id) and recovers every
    /// partition log.
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, BrokerError> {
        let data_dir = config.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|source| BrokerError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let store: Box<dyn MetadataStore> = Box::new(FileMetadataStore::new(&data_dir));
        if data_dir.join("meta.properties").exists() && store.load()?.is_none() {
            // An Apache Kafka log directory: its formats are not Strata's, and nothing in it may
            // be changed. Migrating from Kafka goes through the clients' APIs instead.
            return Err(BrokerError::DataDir {
                path: data_dir.display().to_string(),
                source: std::io::Error::other(
                    "this is an Apache Kafka log directory (meta.properties); give Strata its own --data-dir",
                ),
            });
        }
        let cluster = match store.load()? {
            Some(state) => state,
            None => {
                let state = ClusterState {
                    cluster_id: crate::metadata::topic::new_cluster_id(),
                    ..Default::default()
                };
                store.save(&state)?;
                state
            }
        };
        let clients = store.load_clients()?;
        let producer_ids = ProducerIdAllocator::open(&data_dir.join("producer-id-block"))?;
        let mut config = config;
        for (scope, key, value) in &cluster.broker_configs {
            let scope = scope_of(scope);
            if let Err(e) = config.restore_dynamic(scope, &[(key.clone(), value.clone())]) {
                // A value valid when it was set but not any more (e.g. after an upgrade) must not
                // stop the broker; the static configuration applies instead.
                tracing::warn!(key, value, error = %e, "ignoring a stored run-time broker config");
            }
        }
        let (group_log, group_records, replay) =
            group_log::open(&data_dir, GroupLogConfig::default(), now_ms())
                .map_err(BrokerError::GroupLog)?;
        let mut coordinator = GroupCoordinator::new(group_config(&config));
        for r in &group_records {
            coordinator.replay(r);
        }
        if replay.records > 0 || replay.skipped > 0 {
            tracing::info!(
                records = replay.records,
                skipped = replay.skipped,
                "group coordinator state loaded"
            );
        }
        let link = Arc::new(transactions::BrokerLink::default());
        let (txn_coordinator, txn_log) = crate::txn::service::load(
            &data_dir,
            crate::txn::service::txn_config(&config),
            link.clone(),
            now_ms(),
        )
        .map_err(BrokerError::TxnLog)?;
        let broker = Broker {
            config: RwLock::new(config),
            topic_image: RwLock::new(Arc::new(topic_image(&cluster))),
            cluster: RwLock::new(cluster),
            store,
            clients: Mutex::new(clients),
            partitions: RwLock::new(HashMap::new()),
            topic_changes: Mutex::new(()),
            recheck_fetches: Arc::new(Notify::new()),
            producer_ids,
            fetch_sessions: Default::default(),
            shutting_down: AtomicBool::new(false),
            group_log: Arc::new(group_log),
            group_boot: Mutex::new(Some(coordinator)),
            group_service: OnceLock::new(),
            txn_log: Arc::new(txn_log),
            txn_boot: Mutex::new(Some(txn_coordinator)),
            txn_service: OnceLock::new(),
            link,
        };
        broker.open_all_partitions()?;
        let broker = Arc::new(broker);
        broker.link.bind(&broker);
        Ok(broker)
    }

    pub fn config(&self) -> BrokerConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn with_config<T>(&self, f: impl FnOnce(&BrokerConfig) -> T) -> T {
        f(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn cluster(&self) -> std::sync::RwLockReadGuard<'_, ClusterState> {
        self.cluster.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn topic_image(&self) -> Arc<TopicImage> {
        self.topic_image
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn cluster_id(&self) -> String {
        self.cluster().cluster_id.clone()
    }

    pub fn node_id(&self) -> i32 {
        self.with_config(|c| c.node_id)
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tp)
            .cloned()
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn next_producer_id(&self) -> Result<crate::types::ProducerId, ProducerStateError> {
        self.producer_ids.next()
    }

    /// The group coordinator; its loop starts on the first call (from within the runtime).
    pub fn groups(&self) -> &GroupService {
        self.group_service.get_or_init(|| {
            let coordinator = self
                .group_boot
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_else(|| GroupCoordinator::new(group_config(&self.config())));
            GroupService::start(coordinator, self.group_log.clone())
        })
    }

    /// The transaction coordinator; its loop starts on the first call (from within the
    /// runtime). The server calls it at start-up, so transactions a crash left prepared get
    /// their markers without waiting for a client.
    pub fn txns(&self) -> &crate::txn::service::TxnService {
        self.txn_service.get_or_init(|| {
            let coordinator = self
                .txn_boot
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_else(|| {
                    crate::txn::TxnCoordinator::new(
                        crate::txn::service::txn_config(&self.config()),
                        self.link.clone(),
                    )
                });
            crate::txn::service::TxnService::start(
                coordinator,
                self.txn_log.clone(),
                self.link.clone(),
            )
        })
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.recheck_fetches.notify_waiters();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Flushes and fsyncs every partition (clean shutdown).
    pub fn flush_all(&self) -> Vec<BrokerError> {
        let mut errors = Vec::new();
        if let Err(e) = self.group_log.flush() {
            errors.push(BrokerError::GroupLog(e));
        }
        if let Err(e) = self.txn_log.flush() {
            errors.push(BrokerError::TxnLog(e));
        }
        for p in self.all_partitions() {
            if let Err(source) = p.log.flush() {
                errors.push(BrokerError::Log {
                    partition: p.tp.clone(),
                    source,
                });
            }
        }
        errors
    }

    /// Periodic housekeeping: retention, time-based roll, interval flushes.
    pub fn run_housekeeping(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            if let Err(e) = p.log.apply_retention(now) {
                tracing::warn!(partition = %p.tp, error = %e, "retention failed");
            }
        }
    }

    /// Checkpoints every active segment's durable prefix, bounding crash recovery to the data
    /// written since (see `PartitionLog::checkpoint_active_segment`).
    pub fn checkpoint_logs(&self) {
        if let Err(e) = self.group_log.checkpoint() {
            tracing::warn!(error = %e, "group log checkpoint failed");
        }
        if let Err(e) = self.txn_log.checkpoint() {
            tracing::warn!(error = %e, "transaction log checkpoint failed");
        }
        for p in self.all_partitions() {
            if let Err(e) = p.log.checkpoint_active_segment() {
                tracing::warn!(partition = %p.tp, error = %e, "active segment checkpoint failed");
            }
        }
    }

    pub fn flush_due(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            if let Err(e) = p.log.flush_if_due(now) {
                tracing::warn!(partition = %p.tp, error = %e, "interval flush failed");
            }
        }
    }
}

/// Total and usable bytes of the file system holding `dir`, for DescribeLogDirs v4 (Kafka's
/// getTotalSpace / getUsableSpace); -1 when the file system cannot tell, as Kafka reports.
pub fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    match rustix::fs::statvfs(dir) {
        Ok(st) => {
            let bytes =
                |blocks: u64| i64::try_from(blocks.saturating_mul(st.f_frsize)).unwrap_or(i64::MAX);
            (bytes(st.f_blocks), bytes(st.f_bavail))
        }
        Err(_) => (-1, -1),
    }
}

impl Broker {
    /// IncrementalAlterConfigs / AlterConfigs on the broker resource. Changed log defaults reach
    /// every open partition whose topic does not override them.
    /// `resource` is the request's broker resource name: "" for the cluster-wide default or this
    /// node's id. `replace` is legacy AlterConfigs, whose ops are the complete new set.
    pub fn alter_broker_config(
        &self,
        resource: &str,
        ops: &[crate::config::AlterOp],
        replace: bool,
        validate_only: bool,
    ) -> Result<(), crate::config::ConfigError> {
        use crate::config::{AlterOp, BrokerScope};
        let mut cfg = self.config.write().unwrap_or_else(|p| p.into_inner());
        let scope = BrokerScope::for_resource(resource, cfg.node_id)?;
        if replace {
            let entries: Vec<(String, String)> = ops
                .iter()
                .filter_map(|op| match op {
                    AlterOp::Set(k, v) => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect();
            cfg.replace_dynamic(scope, &entries, validate_only)?;
        } else {
            cfg.alter_in(scope, ops, validate_only)?;
        }
        let config = cfg.clone();
        drop(cfg);
        if validate_only {
            return Ok(());
        }
        // Same lock as topic changes: both rewrite the whole metadata file from a copy.
        let _guard = self.topic_changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.cluster().clone();
        state.broker_configs = [
            ("default", BrokerScope::ClusterDefault),
            ("node", BrokerScope::ThisBroker),
        ]
        .into_iter()
        .flat_map(|(name, scope)| {
            config
                .dynamic_entries(scope)
                .into_iter()
                .map(move |(k, v)| (name.to_string(), k, v))
        })
        .collect();
        if let Err(e) = self.save_cluster(state) {
            tracing::error!(error = %e, "could not persist broker config change");
            return Err(crate::config::ConfigError::Io {
                path: self.config().data_dir,
                source: std::io::Error::other(e.to_string()),
            });
        }
        let cluster = self.cluster().clone();
        for t in cluster.topics.values() {
            let effective = t.overrides.effective(&config);
            for p in 0..t.partition_count() {
                if let Some(part) = self.partition(&TopicPartition::new(t.name.clone(), p)) {
                    part.set_config(effective.clone());
                }
            }
        }
        Ok(())
    }
}

fn scope_of(name: &str) -> crate::config::BrokerScope {
    if name == "node" {
        crate::config::BrokerScope::ThisBroker
    } else {
        crate::config::BrokerScope::ClusterDefault
    }
}

/// Topic ids and partition counts, for the consumer-group assignors.
pub(crate) fn topic_image(cluster: &ClusterState) -> TopicImage {
    TopicImage::new(cluster.topics.values().map(|t| {
        (
            t.name.clone(),
            TopicInfo {
                id: t.id,
                partitions: t.partition_count(),
            },
        )
    }))
}
