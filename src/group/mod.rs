//! The classic consumer-group coordinator as a deterministic state machine.
//!
//! No I/O, no clock, no randomness after construction: the driver feeds requests and `now_ms`
//! in and gets `Effects` out — records to make durable, then responses to send — and calls
//! `tick` at `next_deadline()`. Semantics follow Apache Kafka's classic group coordinator
//! (Kafka 3.x-4.x): KIP-394 member ids, KIP-345 static members, KIP-211 offset retention,
//! KIP-496 offset deletion.
//!
//! Files: `api` (request/response types), `state` (one group and its members), `join` (join
//! phase), `sync` (sync, heartbeat, leave, timers), `offsets`, `admin` (describe, list,
//! delete), `records` and `codec` (the persisted form), `replay` (start-up rebuild),
//! `dispatch` (request routing and group-id checks).

mod admin;
pub mod api;
mod codec;
pub mod consumer;
mod dispatch;
pub mod driver;
pub mod error;
mod join;
pub mod log;
mod offsets;
pub mod records;
mod replay;
mod state;
mod sync;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

pub use api::*;
pub use error::{ErrorCode, GroupRecordError};
pub use records::{GroupMetadataValue, GroupRecord, MemberValue, OffsetValue};
pub use state::GroupState;

use state::Group;

#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// group.initial.rebalance.delay.ms
    pub initial_rebalance_delay_ms: i64,
    /// group.min.session.timeout.ms
    pub min_session_timeout_ms: i32,
    /// group.max.session.timeout.ms
    pub max_session_timeout_ms: i32,
    /// offsets.retention.minutes, in ms
    pub offsets_retention_ms: i64,
    /// offsets.retention.check.interval.ms
    pub offsets_retention_check_interval_ms: i64,
    /// group.max.size. Kafka's default is i32::MAX; ours is 10,000 members (pending ones
    /// included) so one group cannot grow without bound; a JoinGroup past it gets
    /// GROUP_MAX_SIZE_REACHED.
    pub max_group_size: usize,
    /// offset.metadata.max.bytes; capped at 65,535 by the record format.
    pub max_offset_metadata_bytes: usize,
    /// group.consumer.session.timeout.ms (KIP-848 members).
    pub consumer_session_timeout_ms: i64,
    /// group.consumer.heartbeat.interval.ms
    pub consumer_heartbeat_interval_ms: i64,
    /// group.consumer.max.size
    pub consumer_max_size: usize,
    /// group.consumer.assignors, by short name; the first is the default.
    pub consumer_assignors: Vec<String>,
    /// group.consumer.migration.policy
    pub migration_policy: consumer::MigrationPolicy,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            max_group_size: 10_000,
            max_offset_metadata_bytes: 4_096,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
            consumer_max_size: 10_000,
            consumer_assignors: consumer::ASSIGNORS.iter().map(|s| s.to_string()).collect(),
            migration_policy: consumer::MigrationPolicy::Bidirectional,
        }
    }
}

/// What the driver must do after a call: make `persist` durable, then send `responses`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    pub persist: Vec<GroupRecord>,
    pub responses: Vec<(RequestId, GroupResponse)>,
}

/// What a group operation may touch besides the group itself.
pub(crate) struct Ctx<'a> {
    pub now: i64,
    pub cfg: &'a GroupConfig,
    pub fx: &'a mut Effects,
}

/// Member-id generator: `<prefix>-<uuid>` with UUIDs drawn from a seeded splitmix64 stream, so a
/// run is reproducible from its seed.
pub(crate) struct IdGen {
    state: u64,
}

impl IdGen {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn member_id(&mut self, prefix: &str) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        format!("{prefix}-{uuid}")
    }

    /// A member id for a KIP-848 member that did not bring its own (ConsumerGroupHeartbeat v0).
    pub(crate) fn plain_uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

pub struct GroupCoordinator {
    cfg: GroupConfig,
    groups: HashMap<String, Group>,
    pub(crate) ids: IdGen,
    /// (deadline, group id) for every group with a timer, and each group's entry in it.
    timers: BTreeSet<(i64, String)>,
    timer_of: HashMap<String, i64>,
    next_expiry_check_ms: Option<i64>,
    /// Set by replay: loaded members get their session deadlines at the next call.
    unarmed: bool,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        Self::with_seed(config, seed)
    }

    /// A coordinator whose member ids are reproducible from `seed`.
    pub fn with_seed(config: GroupConfig, seed: u64) -> Self {
        GroupCoordinator {
            cfg: config,
            groups: HashMap::new(),
            ids: IdGen { state: seed },
            timers: BTreeSet::new(),
            timer_of: HashMap::new(),
            next_expiry_check_ms: None,
            unarmed: false,
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.cfg
    }

    /// Feeds one request. Responses may be immediate or deferred (a JoinGroup waits for the join
    /// phase; a follower's SyncGroup waits for the leader's).
    pub fn handle(&mut self, now_ms: i64, id: RequestId, req: GroupRequest) -> Effects {
        let mut fx = Effects::default();
        self.arm(now_ms);
        let touched = self.dispatch(now_ms, id, req, &mut fx);
        if let Some(group_id) = touched {
            self.settle(now_ms, &group_id, &mut fx);
        }
        fx
    }

    /// Advances time: expires sessions, completes join phases past their deadline, expires
    /// offsets.
    pub fn tick(&mut self, now_ms: i64) -> Effects {
        let mut fx = Effects::default();
        self.arm(now_ms);
        let due: Vec<String> = self
            .timers
            .iter()
            .take_while(|(d, _)| *d <= now_ms)
            .map(|(_, g)| g.clone())
            .collect();
        for group_id in due {
            self.settle(now_ms, &group_id, &mut fx);
        }
        if self.next_expiry_check_ms.is_none_or(|d| d <= now_ms) {
            self.expire_offsets(now_ms, &mut fx);
            self.next_expiry_check_ms =
                Some(now_ms.saturating_add(self.cfg.offsets_retention_check_interval_ms.max(1)));
        }
        fx
    }

    /// Earliest time `tick` has work to do.
    pub fn next_deadline(&self) -> Option<i64> {
        if self.unarmed {
            return Some(i64::MIN);
        }
        let timer = self.timers.iter().next().map(|(d, _)| *d);
        let expiry = if self.groups.is_empty() {
            None
        } else {
            Some(self.next_expiry_check_ms.unwrap_or(i64::MIN))
        };
        timer.into_iter().chain(expiry).min()
    }

    pub fn group_state(&self, group_id: &str) -> Option<GroupState> {
        self.groups.get(group_id).map(|g| g.state)
    }

    pub fn generation(&self, group_id: &str) -> Option<i32> {
        self.groups.get(group_id).map(|g| g.generation)
    }

    /// Fires the group's due timers, forgets it if it holds nothing, re-indexes its timer.
    pub(crate) fn settle(&mut self, now: i64, group_id: &str, fx: &mut Effects) {
        let Some(group) = self.groups.get_mut(group_id) else {
            self.set_timer(group_id, None);
            return;
        };
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            fx,
        };
        group.fire_timers(&mut ctx);
        let deadline = group.next_deadline();
        if group.is_disposable() {
            self.groups.remove(group_id);
            self.set_timer(group_id, None);
        } else {
            self.set_timer(group_id, deadline);
        }
    }

    pub(crate) fn set_timer(&mut self, group_id: &str, deadline: Option<i64>) {
        if let Some(old) = self.timer_of.remove(group_id) {
            self.timers.remove(&(old, group_id.to_string()));
        }
        if let Some(d) = deadline {
            self.timer_of.insert(group_id.to_string(), d);
            self.timers.insert((d, group_id.to_string()));
        }
    }

    fn expire_offsets(&mut self, now: i64, fx: &mut Effects) {
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            fx,
        };
        let mut dead = Vec::new();
        for (id, g) in self.groups.iter_mut() {
            if g.expire_offsets(&mut ctx) {
                dead.push(id.clone());
            }
        }
        for id in dead {
            self.groups.remove(&id);
            self.set_timer(&id, None);
        }
    }

    /// After replay, loaded members get a full session from the first call, so that they can
    /// find the coordinator and rejoin, as Kafka does after a coordinator moves.
    fn arm(&mut self, now: i64) {
        if !self.unarmed {
            return;
        }
        self.unarmed = false;
        let mut deadlines = Vec::new();
        for (id, g) in self.groups.iter_mut() {
            for m in g.members.values_mut() {
                if m.deadline_ms.is_none() {
                    m.deadline_ms = Some(now + i64::from(m.session_timeout_ms));
                }
            }
            if let Some(cg) = g.consumer.as_mut() {
                cg.arm(now, self.cfg.consumer_session_timeout_ms);
            }
            deadlines.push((id.clone(), g.next_deadline()));
        }
        for (id, d) in deadlines {
            self.set_timer(&id, d);
        }
    }
}
