//! Deterministic tests of KIP-848 groups: injected time, simulated members that follow the
//! protocol as Kafka's clients do, and the invariant checked after every step — no partition is
//! ever owned by two members at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::group::records::GroupRecord;
use crate::group::*;

const G: &str = "cg";

mod migration;

fn topic_id(name: &str) -> Uuid {
    let mut b = [0u8; 16];
    for (i, c) in name.bytes().enumerate().take(16) {
        b[i] = c;
    }
    b[15] = 1;
    Uuid::from_bytes(b)
}

fn image(topics: &[(&str, i32)]) -> Arc<TopicImage> {
    Arc::new(TopicImage::new(topics.iter().map(|(n, p)| {
        (
            n.to_string(),
            TopicInfo {
                id: topic_id(n),
                partitions: *p,
            },
        )
    })))
}

/// A member as a client runs it: its id, epoch and the partitions it owns right now.
#[derive(Debug, Clone)]
struct Client {
    id: String,
    instance: Option<String>,
    epoch: i32,
    owned: Assignment,
    topics: Vec<String>,
    regex: Option<String>,
}

impl Client {
    fn new(id: &str, topics: &[&str]) -> Self {
        Client {
            id: id.to_string(),
            instance: None,
            epoch: 0,
            owned: Assignment::new(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            regex: None,
        }
    }

    fn owned_vec(&self) -> Vec<(Uuid, Vec<i32>)> {
        assignment_to_vec(&self.owned)
    }
}

struct Sim {
    c: GroupCoordinator,
    now: i64,
    image: Arc<TopicImage>,
    persisted: Vec<GroupRecord>,
    next_id: u64,
}

impl Sim {
    fn new(topics: &[(&str, i32)]) -> Self {
        Sim {
            c: GroupCoordinator::with_seed(GroupConfig::default(), 7),
            now: 1_000,
            image: image(topics),
            persisted: Vec::new(),
            next_id: 1,
        }
    }

    fn call(&mut self, req: GroupRequest) -> GroupResponse {
        self.next_id += 1;
        let fx = self.c.handle(self.now, self.next_id, req);
        self.persisted.extend(fx.persist);
        let mut rs = fx.responses;
        assert_eq!(rs.len(), 1, "one answer per request");
        rs.pop().map(|(_, r)| r).expect("answer")
    }

    fn request(&self, c: &Client, full: bool) -> ConsumerGroupHeartbeat {
        ConsumerGroupHeartbeat {
            group_id: G.to_string(),
            member_id: c.id.clone(),
            member_epoch: c.epoch,
            instance_id: c.instance.clone(),
            rack_id: None,
            rebalance_timeout_ms: if full || c.epoch == 0 { 30_000 } else { -1 },
            subscribed_topic_names: (full || c.epoch == 0).then(|| c.topics.clone()),
            subscribed_topic_regex: if full || c.epoch == 0 {
                c.regex.clone()
            } else {
                None
            },
            server_assignor: None,
            owned: Some(c.owned_vec()),
            client_id: "client".to_string(),
            client_host: "/127.0.0.1".to_string(),
            api_version: 1,
            topics: self.image.clone(),
        }
    }

    fn heartbeat_raw(&mut self, req: ConsumerGroupHeartbeat) -> ConsumerGroupHeartbeatResponse {
        match self.call(GroupRequest::ConsumerHeartbeat(req)) {
            GroupResponse::ConsumerHeartbeat(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// One heartbeat; the client applies the answer as Kafka's consumer does: a new assignment
    /// replaces what it owns (revoking first, then taking the rest).
    fn heartbeat(&mut self, c: &mut Client) -> ConsumerGroupHeartbeatResponse {
        let req = self.request(c, false);
        let r = self.heartbeat_raw(req);
        if r.error == ErrorCode::None {
            c.epoch = r.member_epoch;
            if let Some(a) = &r.assignment {
                c.owned = a
                    .iter()
                    .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                    .collect();
            }
        }
        r
    }

    fn tick(&mut self, ms: i64) {
        self.now += ms;
        let fx = self.c.tick(self.now);
        self.persisted.extend(fx.persist);
    }

    fn group(&self) -> &ConsumerGroup {
        self.c
            .groups
            .get(G)
            .and_then(|g| g.consumer.as_ref())
            .expect("consumer group")
    }

    /// Heartbeats every client round-robin until the group is Stable (bounded).
    fn settle(&mut self, clients: &mut [Client]) {
        for _ in 0..20 {
            for c in clients.iter_mut() {
                let r = self.heartbeat(c);
                assert_eq!(r.error, ErrorCode::None, "{r:?}");
                check_no_double_ownership(self.group());
            }
            check_clients(clients);
            if self.group().state() == ConsumerGroupState::Stable {
                return;
            }
            self.now += 100;
        }
        panic!("group did not settle: {:?}", self.group().state());
    }
}

/// Server side: assigned and pending-revocation partitions of all members are disjoint.
fn check_no_double_ownership(g: &ConsumerGroup) {
    let mut seen = BTreeSet::new();
    for m in g.members.values() {
        for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for p in ps {
                assert!(
                    seen.insert((*t, *p)),
                    "partition {t}/{p} held twice: {g:#?}"
                );
            }
        }
    }
}

/// Client side: no two clients own one partition.
fn check_clients(clients: &[Client]) {
    let mut seen = BTreeSet::new();
    for c in clients {
        for (t, ps) in &c.owned {
            for p in ps {
                assert!(seen.insert((*t, *p)), "{t}/{p} owned by two clients");
            }
        }
    }
}

fn total(c: &Client) -> usize {
    c.owned.values().map(BTreeSet::len).sum()
}

#[test]
fn first_member_gets_every_partition_at_epoch_one() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut a = Client::new("a", &["t"]);
    let r = sim.heartbeat(&mut a);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.member_epoch, 1);
    assert_eq!(r.heartbeat_interval_ms, 5_000);
    assert_eq!(total(&a), 4);
    assert_eq!(sim.group().state(), ConsumerGroupState::Stable);
    // A plain heartbeat with nothing new carries no assignment.
    let r = sim.heartbeat(&mut a);
    assert_eq!(r.assignment, None);
    assert_eq!(r.member_epoch, 1);
}

#[test]
fn members_joining_one_by_one_end_balanced_without_double_ownership() {
    let mut sim = Sim::new(&[("t", 6)]);
    let mut clients = vec![Client::new("a", &["t"])];
    sim.settle(&mut clients);
    clients.push(Client::new("b", &["t"]));
    sim.settle(&mut clients);
    clients.push(Client::new("c", &["t"]));
    sim.settle(&mut clients);
    let counts: Vec<usize> = clients.iter().map(total).collect();
    assert_eq!(counts, vec![2, 2, 2]);
    let epoch = sim.group().group_epoch;
    assert_eq!(epoch, 3);
    assert!(clients.iter().all(|c| c.epoch == epoch));
}

#[test]
fn a_revoking_member_keeps_its_epoch_until_it_lets_go() {
    let mut sim = Sim::new(&[("t", 2)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    assert_eq!(total(&a), 2);
    let mut b = Client::new("b", &["t"]);
    let rb = sim.heartbeat(&mut b);
    // b is at the new epoch but gets nothing: a still holds both partitions.
    assert_eq!(rb.member_epoch, 2);
    assert_eq!(total(&b), 0);
    // a is told to give one up and stays at epoch 1 until it confirms.
    let ra = sim.heartbeat(&mut a);
    assert_eq!(ra.member_epoch, 1);
    assert_eq!(total(&a), 1);
    let ra = sim.heartbeat(&mut a);
    assert_eq!(ra.member_epoch, 2);
    let rb = sim.heartbeat(&mut b);
    assert_eq!(total(&b), 1, "{rb:?}");
    assert_eq!(sim.group().state(), ConsumerGroupState::Stable);
}

#[test]
fn a_leaving_member_hands_its_partitions_to_the_rest() {
    let mut sim = Sim::new(&[("t", 6)]);
    let mut clients = vec![
        Client::new("a", &["t"]),
        Client::new("b", &["t"]),
        Client::new("c", &["t"]),
    ];
    sim.settle(&mut clients);
    let mut leave = sim.request(&clients[2], false);
    leave.member_epoch = LEAVE_EPOCH;
    let r = sim.heartbeat_raw(leave);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.member_epoch, LEAVE_EPOCH);
    clients.pop();
    sim.settle(&mut clients);
    assert_eq!(clients.iter().map(total).sum::<usize>(), 6);
    assert_eq!(clients.iter().map(total).collect::<Vec<_>>(), vec![3, 3]);
}

#[test]
fn a_silent_member_is_fenced_after_its_session_and_its_partitions_move() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut clients = vec![Client::new("a", &["t"]), Client::new("b", &["t"])];
    sim.settle(&mut clients);
    // b goes silent; a keeps heartbeating.
    for _ in 0..10 {
        sim.tick(5_000);
        sim.heartbeat(&mut clients[0]);
    }
    assert!(!sim.group().members.contains_key("b"));
    let mut rest = vec![clients[0].clone()];
    sim.settle(&mut rest);
    assert_eq!(total(&rest[0]), 4);
    // b comes back with its old epoch: it no longer exists.
    let r = sim.heartbeat(&mut clients[1]);
    assert_eq!(r.error, ErrorCode::UnknownMemberId);
}

#[test]
fn a_member_that_never_revokes_is_fenced_after_its_rebalance_timeout() {
    let mut sim = Sim::new(&[("t", 2)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    let mut b = Client::new("b", &["t"]);
    sim.heartbeat(&mut b);
    // a is asked to revoke but keeps reporting both partitions.
    let req = sim.request(&a, false);
    let r = sim.heartbeat_raw(req);
    assert_eq!(r.member_epoch, 1);
    for _ in 0..7 {
        sim.tick(5_000);
        let req = sim.request(&a, false);
        let _ = sim.heartbeat_raw(req);
        sim.heartbeat(&mut b);
    }
    assert!(!sim.group().members.contains_key("a"), "a must be fenced");
    sim.heartbeat(&mut b);
    assert_eq!(total(&b), 2);
}

#[test]
fn epochs_ahead_or_far_behind_are_fenced_and_a_lost_response_is_tolerated() {
    let mut sim = Sim::new(&[("t", 2)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    let mut ahead = sim.request(&a, false);
    ahead.member_epoch = 5;
    assert_eq!(sim.heartbeat_raw(ahead).error, ErrorCode::FencedMemberEpoch);
    // b joins: a's epoch moves to 2 after revoking; a then retries with epoch 1 (the response
    // carrying 2 was "lost") owning a subset of its partitions: accepted.
    let mut b = Client::new("b", &["t"]);
    sim.heartbeat(&mut b);
    sim.heartbeat(&mut a);
    let r = sim.heartbeat(&mut a);
    assert_eq!(r.member_epoch, 2);
    let mut stale = sim.request(&a, false);
    stale.member_epoch = 1;
    assert_eq!(sim.heartbeat_raw(stale).error, ErrorCode::None);
    let mut ancient = sim.request(&a, false);
    ancient.member_epoch = 0;
    ancient.owned = Some(vec![(topic_id("t"), vec![0, 1])]);
    ancient.rebalance_timeout_ms = -1;
    // Epoch 0 with owned partitions is not a valid join.
    assert_eq!(sim.heartbeat_raw(ancient).error, ErrorCode::InvalidRequest);
}

#[test]
fn requests_kafka_refuses_are_refused_with_its_codes() {
    let mut sim = Sim::new(&[("t", 1)]);
    let a = Client::new("a", &["t"]);
    let base = sim.request(&a, true);
    type Change = Box<dyn Fn(&mut ConsumerGroupHeartbeat)>;
    let cases: Vec<(Change, ErrorCode)> = vec![
        (Box::new(|r| r.group_id.clear()), ErrorCode::InvalidRequest),
        (Box::new(|r| r.member_id.clear()), ErrorCode::InvalidRequest),
        (
            Box::new(|r| r.rebalance_timeout_ms = -1),
            ErrorCode::InvalidRequest,
        ),
        (
            Box::new(|r| r.subscribed_topic_names = Some(vec![])),
            ErrorCode::InvalidRequest,
        ),
        (Box::new(|r| r.owned = None), ErrorCode::InvalidRequest),
        (
            Box::new(|r| r.instance_id = Some(String::new())),
            ErrorCode::InvalidRequest,
        ),
        (Box::new(|r| r.member_epoch = -3), ErrorCode::InvalidRequest),
        (
            Box::new(|r| r.server_assignor = Some("sticky".into())),
            ErrorCode::UnsupportedAssignor,
        ),
        (
            Box::new(|r| r.subscribed_topic_regex = Some("(".into())),
            ErrorCode::InvalidRegularExpression,
        ),
        (Box::new(|r| r.member_epoch = 3), ErrorCode::GroupIdNotFound),
    ];
    for (change, want) in cases {
        let mut req = base.clone();
        change(&mut req);
        let r = sim.heartbeat_raw(req.clone());
        assert_eq!(r.error, want, "{req:?}");
        assert!(r.error_message.is_some());
    }
    // v0 members may leave the id to the coordinator.
    let mut v0 = base.clone();
    v0.member_id.clear();
    v0.api_version = 0;
    let r = sim.heartbeat_raw(v0);
    assert_eq!(r.error, ErrorCode::None);
    assert!(r.member_id.is_some_and(|m| m.len() == 36));
}

#[test]
fn a_static_member_leaving_briefly_gets_its_partitions_back_without_a_rebalance() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut a = Client::new("a", &["t"]);
    a.instance = Some("i-a".into());
    let mut b = Client::new("b", &["t"]);
    let mut clients = vec![a, b.clone()];
    sim.settle(&mut clients);
    let before = clients[0].owned.clone();
    let epoch = sim.group().group_epoch;
    let mut leave = sim.request(&clients[0], false);
    leave.member_epoch = LEAVE_STATIC_EPOCH;
    assert_eq!(sim.heartbeat_raw(leave).member_epoch, LEAVE_STATIC_EPOCH);
    // Another process claiming the instance while it is held... is fine only once released;
    // it is released now, so a new member id takes it over with the same partitions.
    let mut back = Client::new("a2", &["t"]);
    back.instance = Some("i-a".into());
    let r = sim.heartbeat(&mut back);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(back.owned, before);
    assert_eq!(sim.group().group_epoch, epoch, "no rebalance");
    // A second claimant while a2 holds the instance is refused.
    let mut dup = Client::new("a3", &["t"]);
    dup.instance = Some("i-a".into());
    assert_eq!(
        sim.heartbeat(&mut dup).error,
        ErrorCode::UnreleasedInstanceId
    );
    // The replaced member id is fenced.
    let mut old = sim.request(&clients[0], false);
    old.member_epoch = epoch;
    assert_eq!(sim.heartbeat_raw(old).error, ErrorCode::FencedInstanceId);
    sim.heartbeat(&mut b);
}

#[test]
fn a_regex_subscription_follows_topics_as_they_appear() {
    let mut sim = Sim::new(&[("orders-1", 2), ("orders-2", 1), ("other", 3)]);
    let mut a = Client::new("a", &[]);
    a.regex = Some("orders-.*".into());
    sim.heartbeat(&mut a);
    assert_eq!(total(&a), 3);
    let epoch = a.epoch;
    sim.image = image(&[
        ("orders-1", 2),
        ("orders-2", 1),
        ("orders-3", 2),
        ("other", 3),
    ]);
    sim.heartbeat(&mut a);
    assert_eq!(total(&a), 5);
    assert!(a.epoch > epoch);
}

#[test]
fn new_partitions_bump_the_epoch_and_are_assigned() {
    let mut sim = Sim::new(&[("t", 2)]);
    let mut clients = vec![Client::new("a", &["t"]), Client::new("b", &["t"])];
    sim.settle(&mut clients);
    sim.image = image(&[("t", 6)]);
    sim.settle(&mut clients);
    assert_eq!(clients.iter().map(total).collect::<Vec<_>>(), vec![3, 3]);
}

#[test]
fn state_survives_a_replay_of_what_was_persisted() {
    let mut sim = Sim::new(&[("t", 6)]);
    let mut clients = vec![
        Client::new("a", &["t"]),
        Client::new("b", &["t"]),
        Client::new("c", &["t"]),
    ];
    sim.settle(&mut clients);
    let mut fresh = GroupCoordinator::with_seed(GroupConfig::default(), 9);
    for r in &sim.persisted {
        // Through the byte encoding, as the log stores them.
        let (k, v) = r.encode();
        let back = GroupRecord::decode(&k, v.as_deref()).expect("decode");
        assert_eq!(&back, r);
        fresh.replay(&back);
    }
    let (old, new) = (sim.group(), fresh.groups[G].consumer.as_ref().expect("cg"));
    assert_eq!(old.group_epoch, new.group_epoch);
    assert_eq!(old.target, new.target);
    for (id, m) in &old.members {
        assert!(m.same_persisted(&new.members[id]), "{id}");
    }
    // Members carry on against the rebuilt coordinator with their epochs.
    sim.c = fresh;
    for c in clients.iter_mut() {
        let r = sim.heartbeat(c);
        assert_eq!(r.error, ErrorCode::None);
    }
}

fn commit(sim: &mut Sim, member: &str, epoch: i32, version: i16) -> ErrorCode {
    let req = OffsetCommit {
        group_id: G.to_string(),
        generation_id: epoch,
        member_id: member.to_string(),
        group_instance_id: None,
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition: 0,
                committed_offset: 5,
                committed_leader_epoch: -1,
                committed_metadata: None,
            }],
        }],
        api_version: version,
    };
    match sim.call(GroupRequest::OffsetCommit(req)) {
        GroupResponse::OffsetCommit(r) => r.topics[0].1[0].1,
        other => panic!("{other:?}"),
    }
}

#[test]
fn offsets_are_committed_and_fetched_with_the_member_epoch() {
    let mut sim = Sim::new(&[("t", 2)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    assert_eq!(commit(&mut sim, "a", a.epoch, 9), ErrorCode::None);
    assert_eq!(
        commit(&mut sim, "a", a.epoch + 1, 9),
        ErrorCode::StaleMemberEpoch
    );
    assert_eq!(
        commit(&mut sim, "a", a.epoch, 8),
        ErrorCode::UnsupportedVersion
    );
    assert_eq!(commit(&mut sim, "", -1, 9), ErrorCode::UnknownMemberId);
    let fetch = |member: Option<&str>, epoch: i32| OffsetFetch {
        group_id: G.to_string(),
        member_id: member.map(str::to_string),
        member_epoch: epoch,
        topics: None,
        require_stable: false,
    };
    let r = sim.call(GroupRequest::OffsetFetch(fetch(Some("a"), a.epoch)));
    let GroupResponse::OffsetFetch(r) = r else {
        panic!()
    };
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.topics[0].1[0].committed_offset, 5);
    let GroupResponse::OffsetFetch(r) =
        sim.call(GroupRequest::OffsetFetch(fetch(Some("a"), a.epoch + 3)))
    else {
        panic!()
    };
    assert_eq!(r.error, ErrorCode::StaleMemberEpoch);
    let GroupResponse::OffsetFetch(r) = sim.call(GroupRequest::OffsetFetch(fetch(None, -1))) else {
        panic!()
    };
    assert_eq!(r.error, ErrorCode::None);
    // Once everyone left, anyone may commit again, and a classic member may take the group
    // back (offsets stay).
    let mut leave = sim.request(&a, false);
    leave.member_epoch = LEAVE_EPOCH;
    sim.heartbeat_raw(leave);
    assert_eq!(commit(&mut sim, "", -1, 9), ErrorCode::None);
}

#[test]
fn listed_and_described_as_a_consumer_group() {
    let mut sim = Sim::new(&[("t", 3)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    let GroupResponse::List(l) = sim.call(GroupRequest::List(ListGroups {
        states_filter: vec!["stable".into()],
        types_filter: vec!["consumer".into()],
    })) else {
        panic!()
    };
    assert_eq!(l.groups.len(), 1);
    assert_eq!(l.groups[0].group_type, "consumer");
    let GroupResponse::ConsumerDescribe(d) =
        sim.call(GroupRequest::ConsumerDescribe(ConsumerGroupDescribe {
            group_ids: vec![G.into(), "nope".into()],
            topics: sim.image.clone(),
        }))
    else {
        panic!()
    };
    assert_eq!(d.groups[0].group_state, "Stable");
    assert_eq!(d.groups[0].assignor_name, "uniform");
    assert_eq!(d.groups[0].members[0].assignment[0].1, "t");
    assert_eq!(d.groups[0].members[0].assignment[0].2, vec![0, 1, 2]);
    assert_eq!(d.groups[1].error, ErrorCode::GroupIdNotFound);
    // The classic API does not describe it (as Kafka: not a classic group).
    let GroupResponse::Describe(d) = sim.call(GroupRequest::Describe(DescribeGroups {
        group_ids: vec![G.into()],
    })) else {
        panic!()
    };
    assert_eq!(d.groups[0].group_state, "Dead");
}

/// Many members joining, heartbeating, leaving and going silent in a seeded random order: the
/// invariant holds at every step and the group settles with every partition assigned once.
#[test]
fn seeded_churn_never_double_assigns() {
    for seed in 0..20u64 {
        let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = move |n: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) % n
        };
        let mut sim = Sim::new(&[("t", 12), ("u", 5)]);
        let mut clients: Vec<Client> = Vec::new();
        let mut made = 0;
        for _ in 0..300 {
            match next(10) {
                0 | 1 if clients.len() < 8 => {
                    made += 1;
                    let topics: &[&str] = if next(3) == 0 { &["t"] } else { &["t", "u"] };
                    clients.push(Client::new(&format!("m{made}"), topics));
                }
                2 if !clients.is_empty() => {
                    let i = next(clients.len() as u64) as usize;
                    let c = clients.remove(i);
                    let mut leave = sim.request(&c, false);
                    leave.member_epoch = LEAVE_EPOCH;
                    sim.heartbeat_raw(leave);
                }
                3 => sim.tick(next(3_000) as i64),
                _ if !clients.is_empty() => {
                    let i = next(clients.len() as u64) as usize;
                    let r = sim.heartbeat(&mut clients[i]);
                    if r.error == ErrorCode::UnknownMemberId
                        || r.error == ErrorCode::FencedMemberEpoch
                    {
                        // Fenced: abandon everything and rejoin, as clients do.
                        clients[i].epoch = 0;
                        clients[i].owned.clear();
                    }
                }
                _ => {}
            }
            if sim
                .c
                .groups
                .get(G)
                .and_then(|g| g.consumer.as_ref())
                .is_some()
            {
                check_no_double_ownership(sim.group());
            }
            check_clients(&clients);
        }
        if clients.is_empty() {
            continue;
        }
        for c in clients.iter_mut() {
            if !sim.group().members.contains_key(&c.id) {
                c.epoch = 0;
                c.owned.clear();
            }
        }
        sim.settle(&mut clients);
        let sum: usize = clients.iter().map(total).sum();
        assert_eq!(sum, 17, "seed {seed}");
    }
}

proptest! {
    /// Uniform: every subscribed partition assigned exactly once, only to subscribers, and with
    /// one subscription for all, counts differ by at most one; stable under a recompute.
    #[test]
    fn uniform_assignments_are_complete_disjoint_and_balanced(
        members in 1usize..12,
        parts in proptest::collection::vec(1i32..20, 1..4),
        hetero in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let topics: BTreeMap<Uuid, i32> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (Uuid::from_u128(i as u128 + 1), *p))
            .collect();
        let ids: Vec<Uuid> = topics.keys().copied().collect();
        let mut subs = assignor::Subscriptions::new();
        for m in 0..members {
            let set: BTreeSet<Uuid> = if hetero {
                ids.iter().enumerate()
                    .filter(|(i, _)| (seed >> ((m * 3 + i) % 64)) & 1 == 1 || *i == 0)
                    .map(|(_, t)| *t)
                    .collect()
            } else {
                ids.iter().copied().collect()
            };
            subs.insert(format!("m{m:02}"), set);
        }
        let out = assignor::assign("uniform", &subs, &topics, &BTreeMap::new());
        let mut seen = BTreeSet::new();
        for (m, a) in &out {
            for (t, ps) in a {
                prop_assert!(subs[m].contains(t));
                for p in ps {
                    prop_assert!(seen.insert((*t, *p)));
                }
            }
        }
        let wanted: usize = topics
            .iter()
            .filter(|(t, _)| subs.values().any(|s| s.contains(t)))
            .map(|(_, n)| *n as usize)
            .sum();
        prop_assert_eq!(seen.len(), wanted);
        if !hetero {
            let counts: Vec<usize> = out.values().map(|a| a.values().map(BTreeSet::len).sum()).collect();
            let (lo, hi) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
            prop_assert!(hi - lo <= 1, "{counts:?}");
        }
        // Sticky: recomputing from its own result changes nothing.
        let again = assignor::assign("uniform", &subs, &topics, &out);
        prop_assert_eq!(again, out);
    }

    /// Range: contiguous, complete and disjoint per topic.
    #[test]
    fn range_assignments_are_complete_and_contiguous(members in 1usize..8, parts in 1i32..30) {
        let t = Uuid::from_u128(1);
        let topics: BTreeMap<Uuid, i32> = [(t, parts)].into_iter().collect();
        let subs: assignor::Subscriptions = (0..members)
            .map(|m| (format!("m{m}"), [t].into_iter().collect()))
            .collect();
        let out = assignor::assign("range", &subs, &topics, &BTreeMap::new());
        let mut all = Vec::new();
        for a in out.values() {
            if let Some(ps) = a.get(&t) {
                let v: Vec<i32> = ps.iter().copied().collect();
                prop_assert!(v.windows(2).all(|w| w[1] == w[0] + 1));
                all.extend(v);
            }
        }
        all.sort();
        prop_assert_eq!(all, (0..parts).collect::<Vec<_>>());
    }

    /// Corrupt snapshot bytes never panic the decoder.
    #[test]
    fn snapshot_decoding_survives_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = GroupRecord::ConsumerGroup { group_id: "g".into(), value: None }.encode().0;
        let _ = GroupRecord::decode(&key, Some(&bytes));
    }
}
