//! The async loop around the coordinator state machine: the only place group state meets time,
//! the network and the disk.
//!
//! One task owns the `GroupCoordinator`. Handlers send it requests over a channel and await the
//! answer. Each turn the loop takes every request already queued, feeds them in with one `now`,
//! appends the records they produced to the group log in one write, waits for that write to be
//! durable (one fsync for the whole turn), and only then releases the responses: a client never
//! hears of a commit or a generation the broker could forget. Timers are served by sleeping until
//! `next_deadline()`.
//!
//! If a write fails, every answer of that turn becomes COORDINATOR_NOT_AVAILABLE (clients look
//! the coordinator up again and retry) and the state machine is rebuilt from the log, so memory
//! never holds what the disk does not.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::api::*;
use super::error::ErrorCode;
use super::log::GroupLog;
use super::{Effects, GroupConfig, GroupCoordinator};
use crate::broker::now_ms;

/// Requests a turn takes at most before writing; bounds the latency one turn adds.
const MAX_REQUESTS_PER_TURN: usize = 1024;
/// Requests waiting for the loop; senders wait beyond this (backpressure on group traffic).
const QUEUE_DEPTH: usize = 4096;

enum Command {
    Call {
        /// Boxed: requests vary much in size, and the channel holds thousands.
        request: Box<GroupRequest>,
        reply: oneshot::Sender<GroupResponse>,
    },
    /// Topics were deleted: their committed offsets go too.
    TopicsDeleted(Vec<String>),
}

/// Cloneable handle the request handlers use.
#[derive(Clone)]
pub struct GroupService {
    tx: mpsc::Sender<Command>,
}

/// Why a call got no answer from the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

impl GroupService {
    /// Starts the loop on the current tokio runtime. `coordinator` already holds the replayed
    /// state of `log`.
    pub fn start(coordinator: GroupCoordinator, log: Arc<GroupLog>) -> GroupService {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let driver = Driver {
            coordinator,
            log,
            rx,
            pending: HashMap::new(),
            next_id: 0,
        };
        tokio::spawn(driver.run());
        GroupService { tx }
    }

    /// Queues one request; the receiver gets its answer (a JoinGroup's may take a whole
    /// rebalance). Requests are taken in the order they were queued.
    pub async fn submit(
        &self,
        request: GroupRequest,
    ) -> Result<oneshot::Receiver<GroupResponse>, Unavailable> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Call {
                request: Box::new(request),
                reply,
            })
            .await
            .map_err(|_| Unavailable)?;
        Ok(rx)
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, request: GroupRequest) -> Result<GroupResponse, Unavailable> {
        self.submit(request).await?.await.map_err(|_| Unavailable)
    }

    /// Drops the committed offsets of deleted topics (made durable before any later answer).
    pub async fn topics_deleted(&self, topics: Vec<String>) {
        if !topics.is_empty() {
            let _ = self.tx.send(Command::TopicsDeleted(topics)).await;
        }
    }
}

struct Driver {
    coordinator: GroupCoordinator,
    log: Arc<GroupLog>,
    rx: mpsc::Receiver<Command>,
    pending: HashMap<RequestId, oneshot::Sender<GroupResponse>>,
    next_id: RequestId,
}

impl Driver {
    async fn run(mut self) {
        loop {
            let deadline = self.coordinator.next_deadline();
            let first = match deadline {
                Some(d) => {
                    let wait = Duration::from_millis(d.saturating_sub(now_ms()).max(0) as u64);
                    tokio::select! {
                        call = self.rx.recv() => match call {
                            Some(c) => Some(c),
                            None => break,
                        },
                        _ = tokio::time::sleep(wait) => None,
                    }
                }
                None => match self.rx.recv().await {
                    Some(c) => Some(c),
                    None => break,
                },
            };
            let now = now_ms();
            let mut fx = Effects::default();
            if let Some(call) = first {
                self.feed(now, call, &mut fx);
                for _ in 1..MAX_REQUESTS_PER_TURN {
                    match self.rx.try_recv() {
                        Ok(call) => self.feed(now, call, &mut fx),
                        Err(_) => break,
                    }
                }
            }
            if self.coordinator.next_deadline().is_some_and(|d| d <= now) {
                merge(&mut fx, self.coordinator.tick(now));
            }
            self.complete(now, fx).await;
            if self.log.needs_rewrite() {
                if let Err(e) = self.log.rewrite(now_ms()).await {
                    tracing::error!(error = %e, "group log rewrite failed");
                }
            }
        }
        tracing::debug!("group coordinator stopped");
    }

    fn feed(&mut self, now: i64, command: Command, fx: &mut Effects) {
        match command {
            Command::Call { request, reply } => {
                self.next_id = self.next_id.wrapping_add(1);
                let id = self.next_id;
                self.pending.insert(id, reply);
                merge(fx, self.coordinator.handle(now, id, *request));
            }
            Command::TopicsDeleted(topics) => {
                merge(fx, self.coordinator.forget_topics(now, &topics));
            }
        }
    }

    /// Makes the turn's records durable, then answers.
    async fn complete(&mut self, now: i64, fx: Effects) {
        let Effects { persist, responses } = fx;
        let mut failed = false;
        if !persist.is_empty() {
            let written = match self.log.append(&persist, now) {
                Ok(end) => self.log.wait_durable(end).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::error!(error = %e, records = persist.len(), "group log write failed");
                failed = true;
            }
        }
        for (id, response) in responses {
            let response = if failed {
                unavailable(response)
            } else {
                response
            };
            if let Some(reply) = self.pending.remove(&id) {
                // The client may have gone; its answer has nowhere to go.
                let _ = reply.send(response);
            }
        }
        if failed {
            self.reload();
        }
    }

    /// Rebuilds the state machine from what the log holds. Requests still parked in the old
    /// one (joins, syncs) are dropped: their callers answer COORDINATOR_NOT_AVAILABLE.
    fn reload(&mut self) {
        self.pending.clear();
        let mut fresh = GroupCoordinator::new(self.coordinator.config().clone());
        match self.log.read_all() {
            Ok((records, _)) => {
                for r in &records {
                    fresh.replay(r);
                }
                tracing::warn!(
                    records = records.len(),
                    "group coordinator rebuilt from its log"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "group log unreadable; groups restart empty until the broker restarts");
            }
        }
        self.coordinator = fresh;
    }
}

fn merge(into: &mut Effects, from: Effects) {
    into.persist.extend(from.persist);
    into.responses.extend(from.responses);
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
