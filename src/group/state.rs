//! One classic group's in-memory state: members, pending (KIP-394) members, static instance
//! mapping, generation and chosen protocol, plus the helpers every phase shares.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

use super::api::RequestId;
use super::records::{GroupMetadataValue, GroupRecord, MemberValue, OffsetValue};

pub(crate) const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The names Kafka reports in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub awaiting_join: Option<RequestId>,
    pub awaiting_sync: Option<RequestId>,
    /// Joined but not yet part of a completed generation: such a member is expired by the
    /// new-member join timeout even while its JoinGroup is parked (a client that gave up on a
    /// long rebalance retries with a fresh join, and its old entry must not block the group).
    pub is_new: bool,
    /// None right after replay: armed with `now + session_timeout` on the first tick.
    pub deadline_ms: Option<i64>,
}

impl Member {
    pub(crate) fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, meta)| meta.clone())
            .unwrap_or_default()
    }

    /// Whether the session deadline has passed for a member that must be evicted. Members parked
    /// in a join or sync are exempt (Kafka's hasSatisfiedHeartbeat), except new ones.
    pub(crate) fn expired(&self, now_ms: i64) -> bool {
        let Some(deadline) = self.deadline_ms else {
            return false;
        };
        if now_ms < deadline {
            return false;
        }
        self.is_new || (self.awaiting_join.is_none() && self.awaiting_sync.is_none())
    }

    /// The deadline that matters for the timer index (None when the member cannot expire now).
    pub(crate) fn timer(&self) -> Option<i64> {
        if !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some()) {
            return None;
        }
        self.deadline_ms
    }
}

/// The first rebalance of an Empty group waits `initial_rebalance_delay_ms`, extended while new
/// members keep arriving, up to the rebalance timeout (Kafka's InitialDelayedJoin).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InitialDelay {
    pub delay_ms: i64,
    pub remaining_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub state: GroupState,
    pub state_since_ms: i64,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: IndexMap<String, Member>,
    /// KIP-394 member ids handed out with MEMBER_ID_REQUIRED, with their rejoin deadline.
    pub pending: IndexMap<String, i64>,
    pub static_members: HashMap<String, String>,
    /// Topics the members subscribe to (consumer protocol); None when unknown.
    pub subscribed_topics: Option<BTreeSet<String>>,
    pub join_deadline_ms: Option<i64>,
    pub initial_delay: Option<InitialDelay>,
    pub new_member_added: bool,
    /// Members that must send SyncGroup for the current generation before `sync_deadline_ms`.
    pub pending_sync: BTreeSet<String>,
    pub sync_deadline_ms: Option<i64>,
    pub offsets: BTreeMap<(String, i32), OffsetValue>,
    /// Offsets committed inside open transactions, by producer id: applied by the
    /// transaction's COMMIT marker, dropped by its ABORT.
    pub pending_txn: BTreeMap<i64, BTreeMap<(String, i32), OffsetValue>>,
    /// Set while the group is a KIP-848 consumer group; the classic fields above are then unused
    /// (no classic members) and only `offsets` and `state_since_ms` are shared.
    pub consumer: Option<super::consumer::ConsumerGroup>,
}

impl Group {
    pub(crate) fn new(id: &str, now_ms: i64) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            state_since_ms: now_ms,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            pending: IndexMap::new(),
            static_members: HashMap::new(),
            subscribed_topics: None,
            join_deadline_ms: None,
            initial_delay: None,
            new_member_added: false,
            pending_sync: BTreeSet::new(),
            sync_deadline_ms: None,
            offsets: BTreeMap::new(),
            pending_txn: BTreeMap::new(),
            consumer: None,
        }
    }

    pub(crate) fn transition(&mut self, to: GroupState, now_ms: i64) {
        tracing::debug!(group = %self.id, from = self.state.name(), to = to.name(), "group state");
        self.state = to;
        self.state_since_ms = now_ms;
    }

    pub(crate) fn size(&self) -> usize {
        self.members.len() + self.pending.len()
    }

    pub(crate) fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// A static member whose instance id now maps to another member id has been replaced.
    pub(crate) fn is_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        instance_id
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|current| current != member_id)
    }

    pub(crate) fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = None;
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member; the caller answers its parked requests. A new leader is the earliest
    /// joined remaining member.
    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let member = self.members.shift_remove(member_id)?;
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        Some(member)
    }

    /// Kafka's supportsProtocols: an Empty group takes any non-empty protocol list; otherwise the
    /// type must match and one of the protocols must be supported by every member.
    pub(crate) fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// Each member votes for its most preferred protocol among those all support; the most
    /// votes wins, ties going to the earlier candidate in the first member's preference order.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            })
            .collect();
        let mut votes = vec![0usize; candidates.len()];
        for m in self.members.values() {
            let choice = m
                .protocols
                .iter()
                .find_map(|(n, _)| candidates.iter().position(|c| c == n));
            if let Some(slot) = choice.and_then(|i| votes.get_mut(i)) {
                *slot += 1;
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, v) in votes.iter().enumerate() {
            if best.is_none_or(|(_, bv)| *v > bv) {
                best = Some((i, *v));
            }
        }
        best.and_then(|(i, _)| candidates.get(i))
            .map(|s| s.to_string())
    }

    pub(crate) fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Topics named by the members' consumer-protocol subscriptions; None when the group does not
    /// use the consumer protocol or a subscription cannot be read (then OffsetDelete treats every
    /// topic as subscribed, the safe side).
    pub(crate) fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for m in self.members.values() {
            for t in decode_subscription(&m.metadata_for(protocol))? {
                topics.insert(t);
            }
        }
        Some(topics)
    }

    pub(crate) fn metadata_record(&self) -> GroupRecord {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = self
            .members
            .values()
            .map(|m| MemberValue {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                subscription: m.metadata_for(&protocol),
                assignment: m.assignment.clone(),
            })
            .collect();
        GroupRecord::GroupMetadata {
            group_id: self.id.clone(),
            value: Some(GroupMetadataValue {
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                generation: self.generation,
                protocol_name: self.protocol_name.clone(),
                leader: self.leader.clone(),
                state_timestamp_ms: self.state_since_ms,
                members,
            }),
        }
    }

    /// Earliest instant at which a timer of this group fires.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        let members = self.members.values().filter_map(Member::timer);
        let pending = self.pending.values().copied();
        let consumer = self.consumer.as_ref().and_then(|c| c.next_deadline());
        members
            .chain(pending)
            .chain(self.join_deadline_ms)
            .chain(self.sync_deadline_ms)
            .chain(consumer)
            .min()
    }

    /// A group that was never persisted and holds nothing can be forgotten.
    pub(crate) fn is_disposable(&self) -> bool {
        self.state == GroupState::Empty
            && self.consumer.is_none()
            && self.generation == 0
            && self.members.is_empty()
            && self.pending.is_empty()
            && self.offsets.is_empty()
            && self.pending_txn.is_empty()
    }
}

/// Topics of a ConsumerProtocolSubscription: an i16 version, then the body. Newer versions than
/// the crate knows are read as its newest, as Kafka's ConsumerProtocol does.
pub(crate) fn decode_subscription(raw: &[u8]) -> Option<Vec<String>> {
    let mut buf = Bytes::copy_from_slice(raw);
    if buf.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([*raw.first()?, *raw.get(1)?]);
    if version < 0 {
        return None;
    }
    let _ = buf.split_to(2);
    let sub = ConsumerProtocolSubscription::decode(&mut buf, version.min(3)).ok()?;
    Some(sub.topics.iter().map(|t| t.to_string()).collect())
}
