//! Deterministic tests of the coordinator: injected time, seeded ids, no I/O.

mod client;
mod concurrent;
mod join;
mod offsets;
mod props;
mod records;
mod replay;
mod static_members;
mod sync;

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;

pub(super) const GROUP: &str = "g";
pub(super) const SESSION_MS: i32 = 10_000;
pub(super) const REBALANCE_MS: i32 = 30_000;

/// Consumer-protocol subscription bytes (version 0) naming `topics`.
pub(super) fn subscription(topics: &[&str]) -> Bytes {
    let sub = ConsumerProtocolSubscription::default().with_topics(
        topics
            .iter()
            .map(|t| StrBytes::from_string(t.to_string()))
            .collect(),
    );
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    sub.encode(&mut buf, 0).expect("encode subscription");
    buf.freeze()
}

pub(super) fn no_delay() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

pub(super) fn join_req(member_id: &str, client: &str) -> JoinGroup {
    JoinGroup {
        group_id: GROUP.to_string(),
        member_id: member_id.to_string(),
        group_instance_id: None,
        client_id: client.to_string(),
        client_host: "/127.0.0.1".to_string(),
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), subscription(&["t"]))],
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        require_known_member_id: true,
        reason: None,
        topics: Default::default(),
    }
}

pub(super) fn sync_req(
    member_id: &str,
    generation: i32,
    assignments: Vec<(String, Bytes)>,
) -> SyncGroup {
    SyncGroup {
        group_id: GROUP.to_string(),
        generation_id: generation,
        member_id: member_id.to_string(),
        assignments,
        ..SyncGroup::default()
    }
}

pub(super) fn heartbeat_req(member_id: &str, generation: i32) -> Heartbeat {
    Heartbeat {
        group_id: GROUP.to_string(),
        generation_id: generation,
        member_id: member_id.to_string(),
        group_instance_id: None,
    }
}

/// Drives a coordinator and keeps every answer by request id; an id answered twice fails.
pub(super) struct Harness {
    pub c: GroupCoordinator,
    pub now: i64,
    next_id: RequestId,
    pub persisted: Vec<GroupRecord>,
    pub answers: HashMap<RequestId, GroupResponse>,
    pub sent: Vec<RequestId>,
    /// Every id that got an answer, even after a test consumed it.
    pub delivered: std::collections::HashSet<RequestId>,
}

impl Harness {
    pub fn new(cfg: GroupConfig) -> Self {
        Harness {
            c: GroupCoordinator::with_seed(cfg, 7),
            now: 1_000_000,
            next_id: 1,
            persisted: Vec::new(),
            answers: HashMap::new(),
            sent: Vec::new(),
            delivered: Default::default(),
        }
    }

    fn absorb(&mut self, fx: Effects) {
        self.persisted.extend(fx.persist);
        for (id, resp) in fx.responses {
            assert!(self.delivered.insert(id), "request {id} answered twice");
            self.answers.insert(id, resp);
        }
        if let Err(e) = check_invariants(&self.c) {
            panic!("invariant broken: {e}");
        }
    }

    pub fn send(&mut self, req: GroupRequest) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        self.sent.push(id);
        let fx = self.c.handle(self.now, id, req);
        self.absorb(fx);
        id
    }

    pub fn advance(&mut self, ms: i64) {
        self.now += ms;
        let fx = self.c.tick(self.now);
        self.absorb(fx);
    }

    /// Ticks at every deadline up to `now + ms`.
    pub fn run_for(&mut self, ms: i64) {
        let end = self.now + ms;
        while let Some(d) = self.c.next_deadline().filter(|d| *d <= end) {
            self.now = self.now.max(d);
            let fx = self.c.tick(self.now);
            self.absorb(fx);
        }
        self.now = end;
        let fx = self.c.tick(self.now);
        self.absorb(fx);
    }

    /// Ticks from deadline to deadline until no join is parked in the group.
    pub fn finish_join(&mut self) {
        for _ in 0..1_000 {
            let parked = self
                .c
                .groups
                .get(GROUP)
                .is_some_and(|g| g.members.values().any(|m| m.awaiting_join.is_some()));
            if !parked {
                return;
            }
            let Some(d) = self.c.next_deadline() else {
                return;
            };
            self.now = self.now.max(d);
            let fx = self.c.tick(self.now);
            self.absorb(fx);
        }
        panic!("join phase never completed");
    }

    pub fn answered(&self, id: RequestId) -> bool {
        self.answers.contains_key(&id)
    }

    pub fn join(&mut self, id: RequestId) -> JoinGroupResponse {
        match self.answers.remove(&id) {
            Some(GroupResponse::Join(j)) => j,
            other => panic!("expected a join answer for {id}, got {other:?}"),
        }
    }

    pub fn sync(&mut self, id: RequestId) -> SyncGroupResponse {
        match self.answers.remove(&id) {
            Some(GroupResponse::Sync(s)) => s,
            other => panic!("expected a sync answer for {id}, got {other:?}"),
        }
    }

    pub fn heartbeat(&mut self, member_id: &str, generation: i32) -> ErrorCode {
        let id = self.send(GroupRequest::Heartbeat(heartbeat_req(
            member_id, generation,
        )));
        match self.answers.remove(&id) {
            Some(GroupResponse::Heartbeat(h)) => h.error,
            other => panic!("expected a heartbeat answer, got {other:?}"),
        }
    }

    pub fn response(&mut self, id: RequestId) -> GroupResponse {
        self.answers.remove(&id).expect("answered")
    }

    /// KIP-394 two-step join; returns the member id and the pending join request.
    pub fn start_join(&mut self, client: &str) -> (String, RequestId) {
        let first = self.send(GroupRequest::Join(join_req("", client)));
        let resp = self.join(first);
        assert_eq!(resp.error, ErrorCode::MemberIdRequired);
        let id = self.send(GroupRequest::Join(join_req(&resp.member_id, client)));
        (resp.member_id, id)
    }

    /// `n` consumers joined, synced and Stable; returns (members, generation), the leader
    /// first. Each member's assignment is `a-<member id>`.
    pub fn stable_group(&mut self, n: usize) -> (Vec<String>, i32) {
        let mut clients: Vec<client::Client> = (0..n)
            .map(|i| client::Client::new(&format!("c{i}"), None))
            .collect();
        client::converge(self, &mut clients, &mut client::Rng(1), 5_000);
        let g = &self.c.groups[GROUP];
        let leader = g.leader.clone().unwrap_or_default();
        let mut members = vec![leader.clone()];
        members.extend(g.members.keys().filter(|m| **m != leader).cloned());
        (members, g.generation)
    }
}

/// Structural invariants that must hold after every call.
pub(super) fn check_invariants(c: &GroupCoordinator) -> Result<(), String> {
    for (id, g) in &c.groups {
        if g.id != *id {
            return Err(format!("group {id} stored under another id"));
        }
        if g.members.is_empty() {
            if !matches!(
                g.state,
                GroupState::Empty | GroupState::PreparingRebalance | GroupState::Dead
            ) {
                return Err(format!("group {id} is {:?} without members", g.state));
            }
        } else {
            let leader = g
                .leader
                .as_ref()
                .ok_or(format!("group {id} has members and no leader"))?;
            if !g.members.contains_key(leader) {
                return Err(format!("group {id} leader {leader} is not a member"));
            }
            if g.state == GroupState::Empty {
                return Err(format!("group {id} is Empty with members"));
            }
        }
        for (instance, member) in &g.static_members {
            let m = g
                .members
                .get(member)
                .ok_or(format!("static {instance} maps to a non-member"))?;
            if m.instance_id.as_deref() != Some(instance) {
                return Err(format!(
                    "static {instance} maps to a member with another instance id"
                ));
            }
        }
        if g.state == GroupState::Stable
            && g.members
                .values()
                .any(|m| m.awaiting_join.is_some() || m.awaiting_sync.is_some())
        {
            return Err(format!("stable group {id} has parked requests"));
        }
        if g.state != GroupState::CompletingRebalance
            && g.members.values().any(|m| m.awaiting_sync.is_some())
        {
            return Err(format!(
                "group {id} parks a sync outside CompletingRebalance"
            ));
        }
        if g.state != GroupState::PreparingRebalance
            && g.members.values().any(|m| m.awaiting_join.is_some())
        {
            return Err(format!(
                "group {id} parks a join outside PreparingRebalance"
            ));
        }
    }
    Ok(())
}
