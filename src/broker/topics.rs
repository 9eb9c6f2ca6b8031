//! Creating, deleting and growing topics. Metadata is saved before partition directories are
//! created or removed, so after a crash the directories on disk are at worst a superset of what
//! the metadata names (leftovers are removed at start-up).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use thiserror::Error;
use uuid::Uuid;

use super::partitions::{partition_dir, Partition};
use super::{Broker, BrokerError};
use crate::config::{ConfigError, TopicConfig, TopicOverrides};
use crate::metadata::{names, ClusterState, TopicMeta};
use crate::types::TopicPartition;

/// Internal topics hosted by later features; creating them by hand would clash.
#[derive(Debug, Error)]
pub enum TopicError {
    #[error("{0}")]
    InvalidName(String),
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("This server does not host this topic-partition.")]
    UnknownTopic,
    #[error("Number of partitions must be larger than 0.")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

pub struct NewTopic {
    pub name: String,
    /// -1: the broker default (num.partitions).
    pub partitions: i32,
    /// -1: the broker default (default.replication.factor).
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

/// Kafka's upper bound on partitions per create request is the int32 range; this keeps one request
/// from creating an absurd number of directories and file handles.
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 10_000;

impl Broker {
    pub(super) fn open_all_partitions(&self) -> Result<(), BrokerError> {
        let cluster = self.cluster().clone();
        let config = self.config();
        let mut opened = HashMap::new();
        for t in cluster.topics.values() {
            let effective = t.overrides.effective(&config);
            for p in 0..t.partition_count() {
                let part = self.open_partition(&config.data_dir, t, p, &effective)?;
                opened.insert(part.tp.clone(), Arc::new(part));
            }
        }
        self.remove_unhosted_dirs(&config.data_dir, &opened);
        *self.partitions.write().unwrap_or_else(|p| p.into_inner()) = opened;
        Ok(())
    }

    fn open_partition(
        &self,
        data_dir: &Path,
        t: &TopicMeta,
        p: i32,
        config: &TopicConfig,
    ) -> Result<Partition, BrokerError> {
        let tp = TopicPartition::new(t.name.clone(), p);
        let epoch = t.leader_epochs.get(p as usize).copied().unwrap_or(0);
        Partition::open(data_dir, tp.clone(), t.id, epoch, config).map_err(|source| {
            BrokerError::Log {
                partition: tp,
                source,
            }
        })
    }

    /// Partition directories the metadata does not name are what a crash in the middle of a
    /// topic deletion leaves behind (metadata is saved first); they are removed so a later topic
    /// of the same name starts empty.
    fn remove_unhosted_dirs(
        &self,
        data_dir: &Path,
        hosted: &HashMap<TopicPartition, Arc<Partition>>,
    ) {
        let Ok(entries) = std::fs::read_dir(data_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((topic, partition)) = name.rsplit_once('-') else {
                continue;
            };
            let (Ok(partition), true) = (partition.parse::<i32>(), path.is_dir()) else {
                continue;
            };
            // Only directories Strata made (every partition directory gets a recovery point when
            // opened) are ever removed.
            let ours = path.join("recovery-point").exists();
            if ours
                && names::validate(topic).is_ok()
                && !hosted.contains_key(&TopicPartition::new(topic, partition))
            {
                tracing::warn!(dir = %path.display(), "removing a partition directory no topic owns");
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }

    pub(super) fn save_cluster(&self, state: ClusterState) -> Result<(), BrokerError> {
        self.store.save(&state)?;
        let image = Arc::new(super::topic_image(&state));
        *self.cluster.write().unwrap_or_else(|p| p.into_inner()) = state;
        *self.topic_image.write().unwrap_or_else(|p| p.into_inner()) = image;
        Ok(())
    }

    /// Checks a new topic as CreateTopics does, without creating anything.
    pub fn validate_new_topic(&self, t: &NewTopic) -> Result<(TopicOverrides, i32), TopicError> {
        names::validate(&t.name).map_err(TopicError::InvalidName)?;
        let cluster = self.cluster();
        if cluster.topics.contains_key(&t.name) {
            return Err(TopicError::AlreadyExists(t.name.clone()));
        }
        let key = names::collision_key(&t.name);
        if let Some(other) = cluster
            .topics
            .keys()
            .find(|n| names::collision_key(n) == key)
        {
            return Err(TopicError::InvalidName(format!(
                "Topic '{}' collides with existing topic: {other}",
                t.name
            )));
        }
        drop(cluster);
        let config = self.config();
        let partitions = if t.partitions == -1 {
            config.num_partitions
        } else {
            t.partitions
        };
        if partitions <= 0 || partitions > MAX_PARTITIONS_PER_TOPIC {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions must be between 1 and {MAX_PARTITIONS_PER_TOPIC}, was {partitions}"
            )));
        }
        // With one node, "the default" can only mean one replica, whatever
        // default.replication.factor says (start-up warns when it is above 1).
        let rf = if t.replication_factor == -1 {
            1
        } else {
            t.replication_factor
        };
        if rf != 1 {
            // One broker: Kafka answers exactly this when a replication factor exceeds the brokers.
            return Err(TopicError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        let mut overrides = TopicOverrides::default();
        for (k, v) in &t.configs {
            overrides.set(k, v)?;
        }
        overrides.validate(&config)?;
        Ok((overrides, partitions))
    }

    pub fn create_topic(&self, t: &NewTopic) -> Result<TopicMeta, TopicError> {
        let _guard = self.topic_changes.lock().unwrap_or_else(|p| p.into_inner());
        let (overrides, partitions) = self.validate_new_topic(t)?;
        let meta = TopicMeta {
            name: t.name.clone(),
            id: Uuid::new_v4(),
            leader_epochs: vec![0; partitions as usize],
            overrides,
        };
        let mut state = self.cluster().clone();
        state.topics.insert(meta.name.clone(), meta.clone());
        self.save_cluster(state)?;
        self.open_partitions(&meta, 0)?;
        tracing::info!(topic = %meta.name, partitions, id = %meta.id, "created topic");
        Ok(meta)
    }

    fn open_partitions(&self, meta: &TopicMeta, from: i32) -> Result<(), BrokerError> {
        let config = self.config();
        let effective = meta.overrides.effective(&config);
        for p in from..meta.partition_count() {
            let tp = TopicPartition::new(meta.name.clone(), p);
            // A directory left behind by a crash during an earlier delete of a same-named topic
            // must not leak its records into the new topic.
            let dir = partition_dir(&config.data_dir, &tp);
            if dir.exists() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let part = self.open_partition(&config.data_dir, meta, p, &effective)?;
            self.partitions
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(tp, Arc::new(part));
        }
        Ok(())
    }

    pub fn delete_topic(&self, name: &str) -> Result<TopicMeta, TopicError> {
        let _guard = self.topic_changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.cluster().clone();
        let meta = state.topics.remove(name).ok_or(TopicError::UnknownTopic)?;
        self.save_cluster(state)?;
        let mut removed = Vec::new();
        {
            let mut parts = self.partitions.write().unwrap_or_else(|p| p.into_inner());
            for p in 0..meta.partition_count() {
                if let Some(part) = parts.remove(&TopicPartition::new(name, p)) {
                    removed.push(part);
                }
            }
        }
        for part in removed {
            // In-flight readers may still hold the partition; the directory goes once they drop it.
            match Arc::try_unwrap(part) {
                Ok(part) => {
                    if let Err(e) = part.log.delete() {
                        tracing::warn!(topic = name, error = %e, "could not delete partition directory");
                    }
                }
                Err(shared) => {
                    let dir = partition_dir(&self.config().data_dir, &shared.tp);
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
        self.recheck_fetches.notify_waiters();
        tracing::info!(topic = name, "deleted topic");
        Ok(meta)
    }

    /// `assignments`: when the request lists replica assignments, how many and whether they all
    /// name this node; Kafka requires exactly one per new partition.
    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<(usize, bool)>,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _guard = self.topic_changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.cluster().clone();
        let meta = state.topics.get_mut(name).ok_or(TopicError::UnknownTopic)?;
        let current = meta.partition_count();
        if count <= current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {count}."
            )));
        }
        if let Some((given, all_here)) = assignments {
            let added = (count - current) as usize;
            if given != added {
                return Err(TopicError::InvalidReplicaAssignment(format!(
                    "Increasing the number of partitions by {added} but {given} assignments provided."
                )));
            }
            if !all_here {
                return Err(TopicError::InvalidReplicaAssignment(
                    "Replica assignments may only name this broker".into(),
                ));
            }
        }
        if count > MAX_PARTITIONS_PER_TOPIC {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions must be at most {MAX_PARTITIONS_PER_TOPIC}, was {count}"
            )));
        }
        if validate_only {
            return Ok(());
        }
        meta.leader_epochs.resize(count as usize, 0);
        let meta = meta.clone();
        self.save_cluster(state)?;
        self.open_partitions(&meta, current)?;
        Ok(())
    }

    /// Replaces a topic's overrides (AlterConfigs / IncrementalAlterConfigs) and applies them to
    /// its open logs.
    pub fn set_topic_overrides(
        &self,
        name: &str,
        overrides: TopicOverrides,
    ) -> Result<(), TopicError> {
        let _guard = self.topic_changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = self.cluster().clone();
        let meta = state.topics.get_mut(name).ok_or(TopicError::UnknownTopic)?;
        meta.overrides = overrides;
        let meta = meta.clone();
        self.save_cluster(state)?;
        let effective = meta.overrides.effective(&self.config());
        for p in 0..meta.partition_count() {
            if let Some(part) = self.partition(&TopicPartition::new(name, p)) {
                part.set_config(effective.clone());
            }
        }
        Ok(())
    }

    pub fn topic(&self, name: &str) -> Option<TopicMeta> {
        self.cluster().topics.get(name).cloned()
    }

    /// The topic's partition count, without copying its metadata (admin requests may name a
    /// topic many times).
    pub fn partition_count(&self, name: &str) -> Option<i32> {
        self.cluster().topics.get(name).map(|t| t.partition_count())
    }

    /// Auto-creation on Metadata when `auto.create.topics.enable` is on. Returns the topic only if
    /// it existed before this call: Kafka answers the request that asks for the creation with
    /// UNKNOWN_TOPIC_OR_PARTITION and no partitions (its controller creates the topic after the
    /// answer), so a client learns the partitions on its next Metadata request. Right after a
    /// DeleteTopics this also keeps a client from seeing a brand-new topic under the old name in
    /// the same answer.
    pub fn get_or_auto_create(&self, name: &str) -> Result<Option<TopicMeta>, TopicError> {
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        if !self.with_config(|c| c.auto_create_topics) || names::is_internal(name) {
            return Ok(None);
        }
        let req = NewTopic {
            name: name.to_string(),
            partitions: -1,
            replication_factor: -1,
            configs: vec![],
        };
        match self.create_topic(&req) {
            Ok(_) => Ok(None),
            Err(TopicError::AlreadyExists(_)) => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }
}
