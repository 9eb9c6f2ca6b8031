//! The group coordinator as a shard of the coordinator runtime (`crate::coordinator`): the
//! runtime owns the `GroupCoordinator`, batches each turn's records into one durable append to
//! the group log, and releases answers only once they are durable. On a failed write every
//! answer of the turn becomes COORDINATOR_NOT_AVAILABLE and the state is rebuilt from the log.

use std::convert::Infallible;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::api::*;
use super::error::ErrorCode;
use super::log::GroupLog;
use super::records::GroupRecord;
use super::{Effects, GroupConfig, GroupCoordinator};
use crate::coordinator::{self, CoordinatorHandle, CoordinatorShard, NoTasks};

pub use crate::coordinator::Unavailable;

/// What the group runtime is fed.
// Not boxed here: the runtime boxes every queued request already.
#[allow(clippy::large_enum_variant)]
pub enum GroupInput {
    Request(GroupRequest),
    /// Topics were deleted: their committed offsets go too.
    TopicsDeleted(Vec<String>),
}

/// Cloneable handle the request handlers use.
#[derive(Clone)]
pub struct GroupService {
    handle: CoordinatorHandle<GroupCoordinator>,
}

impl GroupService {
    /// Starts the loop on the current tokio runtime. `coordinator` already holds the replayed
    /// state of `log`.
    pub fn start(coordinator: GroupCoordinator, log: Arc<GroupLog>) -> GroupService {
        GroupService {
            handle: CoordinatorHandle::start(coordinator, log, Arc::new(NoTasks)),
        }
    }

    /// Queues one request; the receiver gets its answer (a JoinGroup's may take a whole
    /// rebalance). Requests are taken in the order they were queued.
    pub async fn submit(
        &self,
        request: GroupRequest,
    ) -> Result<oneshot::Receiver<GroupResponse>, Unavailable> {
        self.handle.submit(GroupInput::Request(request)).await
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, request: GroupRequest) -> Result<GroupResponse, Unavailable> {
        self.handle.call(GroupInput::Request(request)).await
    }

    /// Drops the committed offsets of deleted topics (made durable before any later answer).
    pub async fn topics_deleted(&self, topics: Vec<String>) {
        if !topics.is_empty() {
            let _ = self.handle.cast(GroupInput::TopicsDeleted(topics)).await;
        }
    }
}

impl CoordinatorShard for GroupCoordinator {
    type Request = GroupInput;
    type Response = GroupResponse;
    type Record = GroupRecord;
    type Task = Infallible;

    fn handle(
        &mut self,
        now_ms: i64,
        id: RequestId,
        request: GroupInput,
    ) -> coordinator::Effects<Self> {
        let fx = match request {
            GroupInput::Request(r) => GroupCoordinator::handle(self, now_ms, id, r),
            GroupInput::TopicsDeleted(topics) => self.forget_topics(now_ms, &topics),
        };
        lift(fx)
    }

    fn tick(&mut self, now_ms: i64) -> coordinator::Effects<Self> {
        lift(GroupCoordinator::tick(self, now_ms))
    }

    fn next_deadline(&self) -> Option<i64> {
        GroupCoordinator::next_deadline(self)
    }

    fn replay(&mut self, record: &GroupRecord) {
        GroupCoordinator::replay(self, record)
    }

    fn empty_like(&self) -> Self {
        GroupCoordinator::new(self.config().clone())
    }

    fn unavailable(response: GroupResponse) -> GroupResponse {
        unavailable(response)
    }
}

fn lift(fx: Effects) -> coordinator::Effects<GroupCoordinator> {
    coordinator::Effects {
        persist: fx.persist,
        responses: fx.responses,
        tasks: Vec::new(),
    }
}

/// The answer a request gets when its turn could not be made durable.
fn unavailable(response: GroupResponse) -> GroupResponse {
    let e = ErrorCode::CoordinatorNotAvailable;
    match response {
        GroupResponse::Join(r) => GroupResponse::Join(JoinGroupResponse::error(&r.member_id, e)),
        GroupResponse::Sync(_) => GroupResponse::Sync(SyncGroupResponse::error(e)),
        GroupResponse::Heartbeat(_) => GroupResponse::Heartbeat(HeartbeatResponse { error: e }),
        GroupResponse::Leave(r) => GroupResponse::Leave(LeaveGroupResponse {
            error: e,
            members: r.members,
        }),
        GroupResponse::OffsetCommit(r) => GroupResponse::OffsetCommit(OffsetCommitResponse {
            topics: r
                .topics
                .into_iter()
                .map(|(t, ps)| (t, ps.into_iter().map(|(p, _)| (p, e)).collect()))
                .collect(),
        }),
        GroupResponse::TxnOffsetCommit(r) => GroupResponse::TxnOffsetCommit(OffsetCommitResponse {
            topics: r
                .topics
                .into_iter()
                .map(|(t, ps)| (t, ps.into_iter().map(|(p, _)| (p, e)).collect()))
                .collect(),
        }),
        GroupResponse::OffsetDelete(r) => GroupResponse::OffsetDelete(OffsetDeleteResponse {
            error: e,
            topics: r.topics,
        }),
        GroupResponse::Delete(r) => GroupResponse::Delete(DeleteGroupsResponse {
            results: r.results.into_iter().map(|(g, _)| (g, e)).collect(),
        }),
        GroupResponse::ConsumerHeartbeat(r) => GroupResponse::ConsumerHeartbeat(
            ConsumerGroupHeartbeatResponse::error(e, "the group log could not be written"),
        )
        .with_member(r.member_id),
        // Reads: what they saw was already durable. A marker's caller retries the whole
        // marker on a failure of its own and learns nothing more from a failed turn here.
        other @ (GroupResponse::OffsetFetch(_)
        | GroupResponse::TxnMarker
        | GroupResponse::Describe(_)
        | GroupResponse::List(_)
        | GroupResponse::ConsumerDescribe(_)) => other,
    }
}

/// Builds the coordinator configuration from the broker's (Kafka's key names).
pub fn group_config(c: &crate::config::BrokerConfig) -> GroupConfig {
    let clamp = |v: u64| i32::try_from(v).unwrap_or(i32::MAX);
    GroupConfig {
        initial_rebalance_delay_ms: c.group_initial_rebalance_delay_ms.min(i64::MAX as u64) as i64,
        min_session_timeout_ms: clamp(c.group_min_session_timeout_ms),
        max_session_timeout_ms: clamp(c.group_max_session_timeout_ms),
        offsets_retention_ms: (c.offsets_retention_minutes.min(i64::MAX as u64 / 60_000) as i64)
            * 60_000,
        offsets_retention_check_interval_ms: c
            .offsets_retention_check_interval_ms
            .min(i64::MAX as u64) as i64,
        max_group_size: usize::try_from(c.num("group.max.size")).unwrap_or(1).max(1),
        max_offset_metadata_bytes: usize::try_from(c.num("offset.metadata.max.bytes"))
            .unwrap_or(0)
            .min(usize::from(u16::MAX)),
        consumer_session_timeout_ms: c.num("group.consumer.session.timeout.ms").max(1),
        consumer_heartbeat_interval_ms: c.num("group.consumer.heartbeat.interval.ms").max(1),
        consumer_max_size: usize::try_from(c.num("group.consumer.max.size"))
            .unwrap_or(1)
            .max(1),
        consumer_assignors: consumer_assignors(&c.raw("group.consumer.assignors")),
        // Validated at start-up (one of the four names, any case).
        migration_policy: super::consumer::MigrationPolicy::parse(
            &c.raw("group.consumer.migration.policy"),
        )
        .unwrap_or(super::consumer::MigrationPolicy::Bidirectional),
    }
}

/// Kafka names assignors by class (`...assignor.UniformAssignor`); the short names are
/// accepted too. Unknown entries are skipped; none left means the defaults.
fn consumer_assignors(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let short = entry
            .rsplit('.')
            .next()
            .unwrap_or(entry)
            .to_ascii_lowercase();
        let name = short.strip_suffix("assignor").unwrap_or(&short);
        match super::consumer::ASSIGNORS.iter().find(|a| **a == name) {
            Some(a) if !out.iter().any(|o| o == a) => out.push(a.to_string()),
            Some(_) => {}
            None => tracing::warn!(assignor = entry, "unknown consumer group assignor ignored"),
        }
    }
    if out.is_empty() {
        out = super::consumer::ASSIGNORS
            .iter()
            .map(|a| a.to_string())
            .collect();
    }
    out
}
