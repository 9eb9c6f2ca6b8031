//! The in-memory picture of the cluster's topics.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::config::TopicOverrides;

#[derive(Debug, Clone)]
pub struct TopicMeta {
    pub name: String,
    pub id: Uuid,
    /// Leader epoch per partition; its length is the partition count. Epochs never decrease.
    pub leader_epochs: Vec<i32>,
    pub overrides: TopicOverrides,
}

impl TopicMeta {
    pub fn partition_count(&self) -> i32 {
        self.leader_epochs.len() as i32
    }
}

#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub cluster_id: String,
    pub topics: BTreeMap<String, TopicMeta>,
    /// Broker configs changed at run time (IncrementalAlterConfigs / AlterConfigs on the broker
    /// resource), per scope: "default" for the cluster-wide default, "node" for this broker.
    pub broker_configs: Vec<(String, String, String)>,
}

impl ClusterState {
    pub fn topic_by_id(&self, id: Uuid) -> Option<&TopicMeta> {
        self.topics.values().find(|t| t.id == id)
    }
}

/// A Kafka-style cluster id: 16 random bytes, URL-safe base64 without padding (22 characters).
pub fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = String::with_capacity(22);
    for b in bytes {
        bits = (bits << 8) | b as u32;
        nbits += 8;
        while nbits >= 6 {
            nbits -= 6;
            out.push(ALPHABET[((bits >> nbits) & 63) as usize] as char);
        }
    }
    if nbits > 0 {
        out.push(ALPHABET[((bits << (6 - nbits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_id_has_kafka_shape() {
        let id = super::new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
