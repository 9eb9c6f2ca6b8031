//! KIP-848 consumer groups: the broker computes assignments and each member reconciles towards
//! its target through ConsumerGroupHeartbeat, one epoch at a time.
//!
//! A group id names one group of either type: a `Group` carries `consumer: Some(..)` while it is
//! a consumer group; its committed offsets live beside, in the same `Group`, so an empty classic
//! group with offsets becomes a consumer group (and back) without losing them.
//!
//! Files: `heartbeat` (validation, join/leave, the heartbeat transition), `reconcile` (one
//! member's next assignment), `assignor` (uniform and range), `timers` (session and rebalance
//! timeouts), `record` (the persisted snapshot), `describe` (ConsumerGroupDescribe and listing),
//! `classic` (JoinGroup/SyncGroup/Heartbeat/LeaveGroup from classic members of a consumer
//! group), `migration` (online upgrade of a classic group and downgrade back).

mod assignor;
pub(crate) mod classic;
pub(crate) mod describe;
pub(crate) mod embedded;
pub(crate) mod heartbeat;
pub(crate) mod migration;
mod reconcile;
pub(crate) mod record;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use uuid::Uuid;

pub use assignor::ASSIGNORS;
pub use migration::MigrationPolicy;

/// Partitions per topic id. Ordered maps keep records and responses reproducible.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// Member epoch a member sends to leave for good.
pub const LEAVE_EPOCH: i32 = -1;
/// Member epoch a static member sends to leave temporarily (it keeps its partitions until its
/// session expires or its instance rejoins).
pub const LEAVE_STATIC_EPOCH: i32 = -2;

/// What the coordinator knows of one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicInfo {
    pub id: Uuid,
    pub partitions: i32,
}

/// The topics that exist, as the assignors see them. The broker rebuilds it (a new `Arc`) when
/// topics change, so a group can tell "nothing changed" by pointer.
#[derive(Debug, Clone, Default)]
pub struct TopicImage {
    by_name: BTreeMap<String, TopicInfo>,
    by_id: HashMap<Uuid, String>,
}

impl TopicImage {
    pub fn new(topics: impl IntoIterator<Item = (String, TopicInfo)>) -> Self {
        let by_name: BTreeMap<String, TopicInfo> = topics.into_iter().collect();
        let by_id = by_name.iter().map(|(n, t)| (t.id, n.clone())).collect();
        TopicImage { by_name, by_id }
    }

    pub fn get(&self, name: &str) -> Option<TopicInfo> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, id: &Uuid) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &TopicInfo)> {
        self.by_name.iter()
    }
}

/// Kafka's MemberState: where a member is on its way to the target assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Owns its target for the current epoch (or all of it that is free).
    Stable,
    /// Must give up `pending_revocation` before it moves to the next epoch.
    UnrevokedPartitions,
    /// At the target epoch but waiting for partitions other members still hold.
    UnreleasedPartitions,
}

impl MemberState {
    pub(crate) fn code(self) -> u8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(MemberState::Stable),
            1 => Some(MemberState::UnrevokedPartitions),
            2 => Some(MemberState::UnreleasedPartitions),
            _ => None,
        }
    }
}

/// What a member that speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat) told the
/// coordinator; such members live in consumer groups during an online upgrade or downgrade.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClassicMember {
    pub session_timeout_ms: i32,
    /// (protocol name, ConsumerProtocolSubscription bytes), most preferred first.
    pub protocols: Vec<(String, Bytes)>,
}

impl ClassicMember {
    /// The protocol the member is answered with: its most preferred one, as Kafka does.
    pub(crate) fn protocol_name(&self) -> &str {
        self.protocols.first().map_or("", |(n, _)| n.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// Some for a member that uses the classic protocol.
    pub classic: Option<ClassicMember>,
    /// Not persisted: armed from `now` when the member is loaded or heard from.
    pub session_deadline_ms: Option<i64>,
    /// Set while the member must revoke partitions; past it the member is fenced.
    pub rebalance_deadline_ms: Option<i64>,
    /// Classic members only: a member told to rejoin must do so by then (Kafka's join timer).
    pub join_deadline_ms: Option<i64>,
    /// Classic members only: a member that joined must sync by then (Kafka's sync timer).
    pub sync_deadline_ms: Option<i64>,
}

impl ConsumerMember {
    pub(crate) fn new(id: &str) -> Self {
        ConsumerMember {
            id: id.to_string(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: 0,
            subscribed_topic_names: Vec::new(),
            subscribed_topic_regex: None,
            server_assignor: None,
            epoch: 0,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            classic: None,
            session_deadline_ms: None,
            rebalance_deadline_ms: None,
            join_deadline_ms: None,
            sync_deadline_ms: None,
        }
    }

    pub(crate) fn is_classic(&self) -> bool {
        self.classic.is_some()
    }

    /// Whether persisted fields differ (deadlines are not persisted).
    pub(crate) fn same_persisted(&self, other: &ConsumerMember) -> bool {
        let strip = |m: &ConsumerMember| ConsumerMember {
            session_deadline_ms: None,
            rebalance_deadline_ms: None,
            join_deadline_ms: None,
            sync_deadline_ms: None,
            ..m.clone()
        };
        strip(self) == strip(other)
    }

    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.session_deadline_ms
            .into_iter()
            .chain(self.rebalance_deadline_ms)
            .chain(self.join_deadline_ms)
            .chain(self.sync_deadline_ms)
            .min()
    }
}

/// Kafka's ConsumerGroupState, as DescribeGroups/ListGroups/ConsumerGroupDescribe name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerGroup {
    /// Bumped whenever what the assignor sees changes (members, subscriptions, partitions).
    pub group_epoch: i32,
    /// The group epoch `target` was computed for.
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// Instance id -> member id.
    pub static_members: HashMap<String, String>,
    /// Member id -> the partitions it should own at `assignment_epoch`.
    pub target: BTreeMap<String, Assignment>,
    /// The subscribed topics as they were when `group_epoch` was last bumped for them.
    pub subscription_metadata: BTreeMap<String, TopicInfo>,
    /// The image `subscription_metadata` was last checked against (not persisted).
    pub seen_image: Option<std::sync::Arc<TopicImage>>,
}

impl ConsumerGroup {
    pub(crate) fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    pub(crate) fn add_member(&mut self, member: ConsumerMember) {
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        self.members.insert(member.id.clone(), member);
    }

    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let member = self.members.remove(member_id)?;
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        Some(member)
    }

    /// Topic names the members subscribe to, by name or by regular expression.
    pub(crate) fn subscribed_names(&self, image: &TopicImage) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for m in self.members.values() {
            names.extend(m.subscribed_topic_names.iter().cloned());
            if let Some(re) = m.subscribed_topic_regex.as_deref().and_then(compile_regex) {
                names.extend(matching_topics(&re, image));
            }
        }
        names
    }

    /// The subscribed topics that exist, with their ids and partition counts.
    pub(crate) fn compute_subscription_metadata(
        &self,
        image: &TopicImage,
    ) -> BTreeMap<String, TopicInfo> {
        self.subscribed_names(image)
            .into_iter()
            .filter_map(|n| image.get(&n).map(|t| (n, t)))
            .collect()
    }

    /// Partition -> epoch of the member that holds it (assigned or still revoking), for
    /// every member but `except`. A partition can be given to a member only once nobody else
    /// holds it.
    pub(crate) fn held_by_others(&self, except: &str) -> BTreeSet<(Uuid, i32)> {
        let mut held = BTreeSet::new();
        for m in self.members.values().filter(|m| m.id != except) {
            for (t, parts) in m.assigned.iter().chain(m.pending_revocation.iter()) {
                for p in parts {
                    held.insert((*t, *p));
                }
            }
        }
        held
    }

    /// Kafka's supportsClassicProtocols: a classic member may join if it speaks the consumer
    /// protocol type and one of its protocols is supported by every classic member already in.
    pub(crate) fn supports_classic(
        &self,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
        if protocol_type != crate::group::state::CONSUMER_PROTOCOL_TYPE || protocols.is_empty() {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .filter_map(|m| m.classic.as_ref())
                .all(|c| c.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// Kafka's waitingOnUnreleasedPartition: some partition of the member's target is still
    /// held by another member.
    pub(crate) fn waiting_on_unreleased(&self, member: &ConsumerMember) -> bool {
        let Some(target) = self.target.get(&member.id) else {
            return false;
        };
        let held = self.held_by_others(&member.id);
        target.iter().any(|(t, parts)| {
            parts.iter().any(|p| {
                !member.assigned.get(t).is_some_and(|a| a.contains(p)) && held.contains(&(*t, *p))
            })
        })
    }

    /// The assignor the group uses: the one most members ask for, else the configured default.
    pub(crate) fn preferred_assignor<'a>(&'a self, default: &'a str) -> &'a str {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = m.server_assignor.as_deref() {
                *votes.entry(a).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(name, _)| name)
            .unwrap_or(default)
    }

    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.members
            .values()
            .filter_map(ConsumerMember::next_deadline)
            .min()
    }
}

/// Regular expressions are bounded so a subscription cannot make the broker build a huge
/// automaton. Kafka uses RE2/J, whose syntax the `regex` crate shares for everything clients
/// send in practice; like RE2/J's `matches`, the whole topic name must match.
pub(crate) fn compile_regex(pattern: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .ok()
}

fn matching_topics<'a>(
    re: &'a regex::Regex,
    image: &'a TopicImage,
) -> impl Iterator<Item = String> + 'a {
    image
        .iter()
        .filter(|(n, _)| !crate::metadata::names::is_internal(n) && re.is_match(n))
        .map(|(n, _)| n.clone())
}

/// Sorted (topic id, partitions) pairs as the wire carries them.
pub fn assignment_to_vec(a: &Assignment) -> Vec<(Uuid, Vec<i32>)> {
    a.iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(t, p)| (*t, p.iter().copied().collect()))
        .collect()
}
