//! Committed offsets: OffsetCommit validation, OffsetFetch, OffsetDelete (KIP-496) and retention
//! (KIP-211).

use std::collections::BTreeMap;

use super::api::{
    OffsetCommit, OffsetCommitResponse, OffsetDelete, OffsetDeleteResponse, OffsetFetch,
    OffsetFetchPartition, OffsetFetchResponse, TxnMarker, TxnOffsetCommit,
};
use super::consumer::ConsumerGroup;
use super::error::ErrorCode;
use super::records::{GroupRecord, OffsetValue};
use super::state::{Group, GroupState, CONSUMER_PROTOCOL_TYPE};
use super::{Ctx, Effects, GroupCoordinator};

/// Every partition of a request answered with one error.
pub(crate) fn commit_error(req: &OffsetCommit, error: ErrorCode) -> OffsetCommitResponse {
    OffsetCommitResponse {
        topics: req
            .topics
            .iter()
            .map(|t| {
                let parts = t.partitions.iter().map(|p| (p.partition, error)).collect();
                (t.name.clone(), parts)
            })
            .collect(),
    }
}

/// Checks each partition's metadata against offset.metadata.max.bytes and hands the offsets
/// that pass to `store`; the answer lists every partition.
fn each_offset(
    ctx: &mut Ctx<'_>,
    req: &OffsetCommit,
    mut store: impl FnMut(&mut Ctx<'_>, &str, i32, OffsetValue),
) -> OffsetCommitResponse {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let metadata = p.committed_metadata.clone().unwrap_or_default();
            if metadata.len() > ctx.cfg.max_offset_metadata_bytes {
                parts.push((p.partition, ErrorCode::OffsetMetadataTooLarge));
                continue;
            }
            let value = OffsetValue {
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata,
                commit_timestamp_ms: ctx.now,
            };
            store(ctx, &t.name, p.partition, value);
            parts.push((p.partition, ErrorCode::None));
        }
        topics.push((t.name.clone(), parts));
    }
    OffsetCommitResponse { topics }
}

fn offset_record(
    group: &str,
    topic: &str,
    partition: i32,
    value: Option<OffsetValue>,
) -> GroupRecord {
    GroupRecord::Offset {
        group_id: group.to_string(),
        topic: topic.to_string(),
        partition,
        value,
    }
}

impl Group {
    /// Kafka's ConsumerGroup.validateOffsetCommit: anyone may commit to an empty group; a
    /// member commits with its current epoch, from OffsetCommit v9 on.
    fn validate_consumer_commit(
        cg: &ConsumerGroup,
        req: &OffsetCommit,
        transactional: bool,
    ) -> ErrorCode {
        if req.generation_id < 0 && cg.members.is_empty() {
            return ErrorCode::None;
        }
        // Kafka's validateTransactionalOffsetCommit: outside the group (KIP-447 fallback) a
        // transactional producer commits with no member and epoch -1; a member commits with its
        // current epoch, and a stale one is an ILLEGAL_GENERATION.
        if transactional {
            if req.generation_id < 0 && req.member_id.is_empty() {
                return ErrorCode::None;
            }
            return match cg.members.get(&req.member_id) {
                None => ErrorCode::UnknownMemberId,
                Some(m) if m.epoch != req.generation_id => ErrorCode::IllegalGeneration,
                Some(_) => ErrorCode::None,
            };
        }
        let Some(member) = cg.members.get(&req.member_id) else {
            return ErrorCode::UnknownMemberId;
        };
        // Classic members commit as they always did, with their generation (= member epoch).
        if member.is_classic() {
            if req.generation_id != member.epoch {
                return ErrorCode::IllegalGeneration;
            }
            return ErrorCode::None;
        }
        if req.api_version < 9 {
            return ErrorCode::UnsupportedVersion;
        }
        if req.generation_id != member.epoch {
            return ErrorCode::StaleMemberEpoch;
        }
        ErrorCode::None
    }

    /// Kafka's ClassicGroup.validateOffsetCommit; a transactional commit (TxnOffsetCommit) may
    /// come from outside the group's members while it rebalances or is not empty.
    fn validate_commit(&self, req: &OffsetCommit, transactional: bool) -> ErrorCode {
        if let Some(cg) = &self.consumer {
            return Self::validate_consumer_commit(cg, req, transactional);
        }
        if req.generation_id < 0 && self.state == GroupState::Empty {
            // Admin clients and consumers outside group management commit to empty groups.
            return ErrorCode::None;
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            if let Some(instance) = &req.group_instance_id {
                match self.static_members.get(instance) {
                    None => return ErrorCode::UnknownMemberId,
                    Some(current) if *current != req.member_id => {
                        return ErrorCode::FencedInstanceId
                    }
                    Some(_) => {}
                }
            }
            if !self.members.contains_key(&req.member_id) {
                return ErrorCode::UnknownMemberId;
            }
            if req.generation_id != self.generation {
                return ErrorCode::IllegalGeneration;
            }
        } else if transactional {
            return ErrorCode::None;
        } else {
            return ErrorCode::UnknownMemberId;
        }
        if !transactional && self.state == GroupState::CompletingRebalance {
            // The member has the new generation from its JoinGroup but no assignment yet; Kafka
            // answers this so the consumer retries after its sync.
            return ErrorCode::RebalanceInProgress;
        }
        ErrorCode::None
    }

    /// TxnOffsetCommit: the offsets wait in the group, persisted as pending, for the
    /// transaction's marker.
    pub(crate) fn txn_commit(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: &TxnOffsetCommit,
    ) -> OffsetCommitResponse {
        let c = &req.commit;
        let error = self.validate_commit(c, true);
        if !error.is_ok() {
            return commit_error(c, error);
        }
        let (id, producer_id) = (self.id.clone(), req.producer_id);
        let pending = self.pending_txn.entry(producer_id).or_default();
        let r = each_offset(ctx, c, |ctx, topic, partition, value| {
            ctx.fx.persist.push(GroupRecord::TxnOffset {
                group_id: id.clone(),
                producer_id,
                topic: topic.to_string(),
                partition,
                value: Some(value.clone()),
            });
            pending.insert((topic.to_string(), partition), value);
        });
        if self
            .pending_txn
            .get(&producer_id)
            .is_some_and(|p| p.is_empty())
        {
            self.pending_txn.remove(&producer_id);
        }
        r
    }

    /// A transaction's marker: a COMMIT makes its pending offsets the group's committed ones,
    /// an ABORT drops them. Either way the pending records are tombstoned.
    pub(crate) fn complete_txn(&mut self, ctx: &mut Ctx<'_>, marker: TxnMarker) {
        let Some(pending) = self.pending_txn.remove(&marker.producer_id) else {
            return;
        };
        for ((topic, partition), value) in pending {
            ctx.fx.persist.push(GroupRecord::TxnOffset {
                group_id: self.id.clone(),
                producer_id: marker.producer_id,
                topic: topic.clone(),
                partition,
                value: None,
            });
            if marker.commit {
                ctx.fx.persist.push(offset_record(
                    &self.id,
                    &topic,
                    partition,
                    Some(value.clone()),
                ));
                self.offsets.insert((topic, partition), value);
            }
        }
    }

    fn has_pending_txn_offset(&self, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.pending_txn.values().any(|p| p.contains_key(&key))
    }

    pub(crate) fn commit(&mut self, ctx: &mut Ctx<'_>, req: &OffsetCommit) -> OffsetCommitResponse {
        let error = self.validate_commit(req, false);
        if !error.is_ok() {
            return commit_error(req, error);
        }
        self.touch(ctx.now, &req.member_id);
        let id = self.id.clone();
        let offsets = &mut self.offsets;
        each_offset(ctx, req, |ctx, topic, partition, value| {
            ctx.fx
                .persist
                .push(offset_record(&id, topic, partition, Some(value.clone())));
            offsets.insert((topic.to_string(), partition), value);
        })
    }

    pub(crate) fn delete_offsets(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: &OffsetDelete,
    ) -> OffsetDeleteResponse {
        if let Some(cg) = &self.consumer {
            // Kafka's ConsumerGroup.validateOffsetDelete: offsets of topics the members
            // subscribe to stay.
            let subscribed: std::collections::BTreeSet<String> = if cg.members.is_empty() {
                Default::default()
            } else {
                cg.subscription_metadata.keys().cloned().collect()
            };
            return self.delete_unsubscribed(ctx, req, |t| subscribed.contains(t));
        }
        let check_subscription = match self.state {
            GroupState::Empty => false,
            GroupState::Dead => return delete_error(ErrorCode::GroupIdNotFound),
            _ if self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE) => true,
            _ => return delete_error(ErrorCode::NonEmptyGroup),
        };
        let subscribed_topics = self.subscribed_topics.clone();
        self.delete_unsubscribed(ctx, req, |t| {
            check_subscription && subscribed_topics.as_ref().is_none_or(|s| s.contains(t))
        })
    }

    fn delete_unsubscribed(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: &OffsetDelete,
        subscribed: impl Fn(&str) -> bool,
    ) -> OffsetDeleteResponse {
        let mut topics = Vec::with_capacity(req.topics.len());
        for (topic, partitions) in &req.topics {
            let subscribed = subscribed(topic);
            let mut parts = Vec::with_capacity(partitions.len());
            for &p in partitions {
                if subscribed {
                    parts.push((p, ErrorCode::GroupSubscribedToTopic));
                    continue;
                }
                if self.offsets.remove(&(topic.clone(), p)).is_some() {
                    ctx.fx.persist.push(offset_record(&self.id, topic, p, None));
                }
                parts.push((p, ErrorCode::None));
            }
            topics.push((topic.clone(), parts));
        }
        OffsetDeleteResponse {
            error: ErrorCode::None,
            topics,
        }
    }

    /// Drops offsets past retention. Returns true when the group is left with nothing and has
    /// been tombstoned, so the caller forgets it.
    pub(crate) fn expire_offsets(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let retention = ctx.cfg.offsets_retention_ms;
        let now = ctx.now;
        let since_empty = self.state_since_ms;
        // A consumer (KIP-848) group is treated as a classic consumer-protocol group that is
        // Empty without members and Stable with them.
        let (protocol_type, state, subscribed) = match &self.consumer {
            Some(cg) => (
                Some(CONSUMER_PROTOCOL_TYPE),
                if cg.members.is_empty() {
                    GroupState::Empty
                } else {
                    GroupState::Stable
                },
                Some(cg.subscription_metadata.keys().cloned().collect()),
            ),
            None => (
                self.protocol_type.as_deref(),
                self.state,
                self.subscribed_topics.clone(),
            ),
        };
        let expired: Vec<(String, i32)> = match (protocol_type, state) {
            // Nobody consumes: retention counts from when the group became empty (KIP-211).
            (Some(_), GroupState::Empty) if now.saturating_sub(since_empty) >= retention => {
                self.offsets.keys().cloned().collect()
            }
            (Some(_), GroupState::Empty) => Vec::new(),
            // Live consumer group: only topics nobody subscribes to, by commit time.
            (Some(CONSUMER_PROTOCOL_TYPE), GroupState::Stable) => match &subscribed {
                Some(subs) => self
                    .offsets
                    .iter()
                    .filter(|((t, _), v)| {
                        !subs.contains(t) && now.saturating_sub(v.commit_timestamp_ms) >= retention
                    })
                    .map(|(k, _)| k.clone())
                    .collect(),
                None => Vec::new(),
            },
            // Offsets-only group: each offset by its own commit time.
            (None, _) => self
                .offsets
                .iter()
                .filter(|(_, v)| now.saturating_sub(v.commit_timestamp_ms) >= retention)
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        for (topic, partition) in expired {
            self.offsets.remove(&(topic.clone(), partition));
            ctx.fx
                .persist
                .push(offset_record(&self.id, &topic, partition, None));
        }
        let dead = self.state == GroupState::Empty
            && self.members.is_empty()
            && self.pending.is_empty()
            && self
                .consumer
                .as_ref()
                .is_none_or(|cg| cg.members.is_empty())
            && self.offsets.is_empty()
            // Offsets waiting for a transaction's marker keep the group: the marker must find
            // them.
            && self.pending_txn.is_empty();
        if dead {
            tracing::info!(group = %self.id, "group expired");
            self.transition(GroupState::Dead, now);
            let record = if self.consumer.take().is_some() {
                GroupRecord::ConsumerGroup {
                    group_id: self.id.clone(),
                    value: None,
                }
            } else {
                GroupRecord::GroupMetadata {
                    group_id: self.id.clone(),
                    value: None,
                }
            };
            ctx.fx.persist.push(record);
        }
        dead
    }

    /// Tombstones for every offset, used when the group is deleted.
    pub(crate) fn drop_all_offsets(&mut self, ctx: &mut Ctx<'_>) {
        let offsets = std::mem::take(&mut self.offsets);
        for (topic, partition) in offsets.into_keys() {
            ctx.fx
                .persist
                .push(offset_record(&self.id, &topic, partition, None));
        }
    }
}

pub(crate) fn delete_error(error: ErrorCode) -> OffsetDeleteResponse {
    OffsetDeleteResponse {
        error,
        topics: Vec::new(),
    }
}

fn unknown_partition(partition: i32) -> OffsetFetchPartition {
    OffsetFetchPartition {
        partition,
        committed_offset: -1,
        committed_leader_epoch: -1,
        metadata: Some(String::new()),
        error: ErrorCode::None,
    }
}

/// OffsetFetch against a group that may not exist: unknown partitions read as offset -1 with no
/// error, as Kafka answers.
pub(crate) fn fetch_offsets(group: Option<&Group>, req: &OffsetFetch) -> OffsetFetchResponse {
    // Kafka's ConsumerGroup.validateOffsetFetch: a member reads with its current epoch; anyone
    // else (no member id, epoch -1) may read.
    if let Some(cg) = group.and_then(|g| g.consumer.as_ref()) {
        let member_id = req.member_id.as_deref().unwrap_or_default();
        if req.member_epoch >= 0 || !member_id.is_empty() {
            let error = match cg.members.get(member_id) {
                None => Some(ErrorCode::UnknownMemberId),
                Some(m) if m.epoch != req.member_epoch && m.is_classic() => {
                    Some(ErrorCode::IllegalGeneration)
                }
                Some(m) if m.epoch != req.member_epoch => Some(ErrorCode::StaleMemberEpoch),
                Some(_) => None,
            };
            if let Some(error) = error {
                return OffsetFetchResponse {
                    error,
                    topics: Vec::new(),
                };
            }
        }
    }
    let found = |topic: &str, partition: i32| -> OffsetFetchPartition {
        if req.require_stable && group.is_some_and(|g| g.has_pending_txn_offset(topic, partition)) {
            return OffsetFetchPartition {
                error: ErrorCode::UnstableOffsetCommit,
                ..unknown_partition(partition)
            };
        }
        match group.and_then(|g| g.offsets.get(&(topic.to_string(), partition))) {
            Some(v) => OffsetFetchPartition {
                partition,
                committed_offset: v.offset,
                committed_leader_epoch: v.leader_epoch,
                metadata: Some(v.metadata.clone()),
                error: ErrorCode::None,
            },
            None => unknown_partition(partition),
        }
    };
    let topics = match &req.topics {
        Some(topics) => topics
            .iter()
            .map(|(t, parts)| (t.clone(), parts.iter().map(|p| found(t, *p)).collect()))
            .collect(),
        None => {
            let mut by_topic: BTreeMap<&str, Vec<OffsetFetchPartition>> = BTreeMap::new();
            for (topic, partition) in group.map(|g| g.offsets.keys()).into_iter().flatten() {
                by_topic
                    .entry(topic)
                    .or_default()
                    .push(found(topic, *partition));
            }
            by_topic
                .into_iter()
                .map(|(t, p)| (t.to_string(), p))
                .collect()
        }
    };
    OffsetFetchResponse {
        error: ErrorCode::None,
        topics,
    }
}

impl GroupCoordinator {
    /// A deleted topic's committed offsets go with it, in every group (Kafka's
    /// onPartitionsDeleted): otherwise a topic re-created under the same name would resume from
    /// positions in data that no longer exists. Groups left with nothing are forgotten.
    pub fn forget_topics(&mut self, now_ms: i64, topics: &[String]) -> Effects {
        let mut fx = Effects::default();
        let mut emptied = Vec::new();
        for (id, group) in self.groups.iter_mut() {
            let doomed: Vec<(String, i32)> = group
                .offsets
                .keys()
                .filter(|(t, _)| topics.contains(t))
                .cloned()
                .collect();
            for key in doomed {
                group.offsets.remove(&key);
                fx.persist.push(offset_record(id, &key.0, key.1, None));
            }
            if group.is_disposable() {
                emptied.push(id.clone());
            }
        }
        for id in emptied {
            self.settle(now_ms, &id, &mut fx);
        }
        fx
    }
}
