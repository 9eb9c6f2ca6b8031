//! One hosted partition: its log plus the metadata a handler needs to answer about it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::config::TopicConfig;
use crate::log::{FlushPolicy, LogConfig, LogError, PartitionLog};
use crate::types::TopicPartition;

pub struct Partition {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    leader_epoch: AtomicI32,
    /// The topic's effective configuration, kept here so the produce path reads it without
    /// touching cluster metadata.
    config: RwLock<Arc<TopicConfig>>,
    pub log: PartitionLog,
}

impl Partition {
    pub fn open(
        data_dir: &Path,
        tp: TopicPartition,
        topic_id: Uuid,
        leader_epoch: i32,
        config: &TopicConfig,
    ) -> Result<Partition, LogError> {
        let log = PartitionLog::open(
            partition_dir(data_dir, &tp),
            log_config(config),
            super::now_ms(),
        )?;
        Ok(Partition {
            tp,
            topic_id,
            leader_epoch: AtomicI32::new(leader_epoch),
            config: RwLock::new(Arc::new(config.clone())),
            log,
        })
    }

    pub fn config(&self) -> Arc<TopicConfig> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies a changed topic configuration to this partition and its log.
    pub fn set_config(&self, config: TopicConfig) {
        self.log.set_config(log_config(&config));
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Acquire)
    }
}

/// Kafka's layout: `<log dir>/<topic>-<partition>`.
pub fn partition_dir(data_dir: &Path, tp: &TopicPartition) -> PathBuf {
    data_dir.join(format!("{}-{}", tp.topic, tp.partition.0))
}

/// The log's view of a topic's configuration.
pub fn log_config(c: &TopicConfig) -> LogConfig {
    // Kafka's "never force a flush" default is Long.MAX_VALUE for both settings. Strata's default
    // is stronger: fsync before acknowledging. Setting either key asks for Kafka's interval policy.
    let flush = if c.fsync_every_append() {
        FlushPolicy::EveryAppend
    } else {
        FlushPolicy::Interval {
            messages: c.flush_messages.max(1) as u64,
            ms: c.flush_ms.max(0) as u64,
        }
    };
    LogConfig {
        segment_bytes: c.segment_bytes.max(1) as u64,
        segment_ms: c.segment_ms,
        retention_ms: c.retention_ms,
        retention_bytes: c.retention_bytes,
        index_interval_bytes: c.index_interval_bytes.max(0) as u32,
        max_index_bytes: c.segment_index_bytes.max(0) as u32,
        flush,
    }
}
