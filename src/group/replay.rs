//! Rebuilding groups and offsets from the persisted records at start-up.

use super::records::{GroupMetadataValue, GroupRecord};
use super::state::{Group, GroupState, Member};
use super::GroupCoordinator;

impl GroupCoordinator {
    /// Rebuilds state from persisted records (replayed in log order; later records win).
    pub fn replay(&mut self, record: &GroupRecord) {
        match record {
            GroupRecord::GroupMetadata { group_id, value } => match value {
                Some(v) => self.load_group(group_id, v),
                None => {
                    // A tombstone ends the group; offsets written after it start a fresh one.
                    self.groups.remove(group_id);
                    self.set_timer(group_id, None);
                }
            },
            GroupRecord::ConsumerGroup { group_id, value } => match value {
                Some(v) => {
                    let group = self
                        .groups
                        .entry(group_id.clone())
                        .or_insert_with(|| Group::new(group_id, v.state_timestamp_ms));
                    group.state_since_ms = v.state_timestamp_ms;
                    let cg = super::consumer::record::restore(v);
                    if !cg.members.is_empty() {
                        self.unarmed = true;
                    }
                    group.consumer = Some(cg);
                }
                None => {
                    if let Some(group) = self.groups.get_mut(group_id) {
                        group.consumer = None;
                        if group.is_disposable() {
                            self.groups.remove(group_id);
                            self.set_timer(group_id, None);
                        }
                    }
                }
            },
            GroupRecord::TxnOffset {
                group_id,
                producer_id,
                topic,
                partition,
                value,
            } => {
                let key = (topic.clone(), *partition);
                match value {
                    Some(v) => {
                        self.groups
                            .entry(group_id.clone())
                            .or_insert_with(|| Group::new(group_id, v.commit_timestamp_ms))
                            .pending_txn
                            .entry(*producer_id)
                            .or_default()
                            .insert(key, v.clone());
                    }
                    None => {
                        if let Some(group) = self.groups.get_mut(group_id) {
                            if let Some(pending) = group.pending_txn.get_mut(producer_id) {
                                pending.remove(&key);
                                if pending.is_empty() {
                                    group.pending_txn.remove(producer_id);
                                }
                            }
                            if group.is_disposable() {
                                self.groups.remove(group_id);
                            }
                        }
                    }
                }
            }
            GroupRecord::Offset {
                group_id,
                topic,
                partition,
                value,
            } => {
                let key = (topic.clone(), *partition);
                match value {
                    Some(v) => {
                        let group = self
                            .groups
                            .entry(group_id.clone())
                            .or_insert_with(|| Group::new(group_id, v.commit_timestamp_ms));
                        group.offsets.insert(key, v.clone());
                    }
                    None => {
                        if let Some(group) = self.groups.get_mut(group_id) {
                            group.offsets.remove(&key);
                            if group.is_disposable() {
                                self.groups.remove(group_id);
                            }
                        }
                    }
                }
            }
        }
    }

    fn load_group(&mut self, group_id: &str, v: &GroupMetadataValue) {
        let mut group = Group::new(group_id, v.state_timestamp_ms);
        if let Some(old) = self.groups.remove(group_id) {
            group.offsets = old.offsets;
        }
        self.set_timer(group_id, None);
        group.generation = v.generation;
        group.protocol_type = Some(v.protocol_type.clone()).filter(|t| !t.is_empty());
        group.protocol_name = v.protocol_name.clone();
        let protocol = v.protocol_name.clone().unwrap_or_default();
        for m in &v.members {
            // Duplicate ids or instance ids in a damaged record: the later entry wins.
            group.members.shift_remove(&m.member_id);
            group.add_member(Member {
                id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                protocols: vec![(protocol.clone(), m.subscription.clone())],
                assignment: m.assignment.clone(),
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                deadline_ms: None,
            });
        }
        group.protocol_type = Some(v.protocol_type.clone()).filter(|t| !t.is_empty());
        group.leader = v
            .leader
            .clone()
            .filter(|l| group.members.contains_key(l))
            .or_else(|| group.members.keys().next().cloned());
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group.state_since_ms = v.state_timestamp_ms;
        group.subscribed_topics = group.compute_subscribed_topics();
        if !group.members.is_empty() {
            self.unarmed = true;
        }
        self.groups.insert(group_id.to_string(), group);
    }
}
