//! Cluster metadata: the cluster id, topics (name, id, partition count, config overrides) and the
//! leader epoch of each partition, kept behind [`MetadataStore`] so a replicated store can replace
//! the local file later.

pub mod names;
pub mod store;
pub mod topic;

pub use store::{FileMetadataStore, MetadataStore, StoreError};
pub use topic::{ClusterState, TopicMeta};
