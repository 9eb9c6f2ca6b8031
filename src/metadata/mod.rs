//! Cluster metadata: the cluster id, topics (name, id, partition count, config overrides) and the
//! leader epoch of each partition; client quotas and SCRAM credentials. Kept behind
//! [`MetadataStore`] so a replicated store can replace the local files later.

pub mod client_quotas;
pub mod client_store;
pub mod names;
pub mod scram;
pub mod store;
pub mod topic;

pub use client_store::ClientState;
pub use store::{FileMetadataStore, MetadataStore, StoreError};
pub use topic::{ClusterState, TopicMeta};
