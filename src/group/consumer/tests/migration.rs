//! Classic members inside consumer groups and the online upgrade and downgrade between the
//! protocols, with simulated classic consumers (eager and cooperative) beside KIP-848 ones.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition;
use kafka_protocol::messages::{ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;
use crate::group::consumer::embedded;

/// A classic consumer as Kafka's ConsumerCoordinator runs it against a consumer group.
#[derive(Debug, Clone)]
struct Classic {
    name: String,
    id: String,
    instance: Option<String>,
    generation: i32,
    owned: Assignment,
    topics: Vec<String>,
    cooperative: bool,
}

impl Classic {
    fn new(name: &str, topics: &[&str], cooperative: bool) -> Self {
        Classic {
            name: name.to_string(),
            id: String::new(),
            instance: None,
            generation: -1,
            owned: Assignment::new(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            cooperative,
        }
    }

    fn protocol(&self) -> &'static str {
        if self.cooperative {
            "cooperative-sticky"
        } else {
            "range"
        }
    }

    /// The subscription (v1, with owned partitions) the member sends.
    fn subscription(&self, image: &TopicImage) -> Bytes {
        let owned = self
            .owned
            .iter()
            .filter_map(|(t, ps)| {
                Some(
                    TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_string(image.name(t)?.to_string())))
                        .with_partitions(ps.iter().copied().collect()),
                )
            })
            .collect();
        let sub = ConsumerProtocolSubscription::default()
            .with_topics(
                self.topics
                    .iter()
                    .map(|t| StrBytes::from_string(t.clone()))
                    .collect(),
            )
            .with_owned_partitions(owned);
        let mut buf = BytesMut::new();
        buf.put_i16(1);
        sub.encode(&mut buf, 1).expect("encode");
        buf.freeze()
    }
}

fn total_classic(c: &Classic) -> usize {
    c.owned.values().map(BTreeSet::len).sum()
}

impl Sim {
    fn with_config(topics: &[(&str, i32)], cfg: GroupConfig) -> Self {
        let mut sim = Sim::new(topics);
        sim.c = GroupCoordinator::with_seed(cfg, 7);
        sim
    }

    fn join_request(&self, c: &Classic) -> JoinGroup {
        JoinGroup {
            group_id: G.to_string(),
            member_id: c.id.clone(),
            group_instance_id: c.instance.clone(),
            client_id: c.name.clone(),
            client_host: "/127.0.0.1".into(),
            protocol_type: "consumer".into(),
            protocols: vec![(c.protocol().to_string(), c.subscription(&self.image))],
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 20_000,
            require_known_member_id: true,
            reason: None,
            topics: self.image.clone(),
        }
    }

    /// JoinGroup as the client sends it: an eager member gives up everything first; a
    /// MEMBER_ID_REQUIRED answer is followed by the second join.
    fn classic_join(&mut self, c: &mut Classic) -> JoinGroupResponse {
        if !c.cooperative {
            c.owned.clear();
        }
        for _ in 0..2 {
            let GroupResponse::Join(r) = self.call(GroupRequest::Join(self.join_request(c))) else {
                panic!("not a join answer")
            };
            if r.error == ErrorCode::MemberIdRequired {
                c.id = r.member_id.clone();
                continue;
            }
            if r.error == ErrorCode::None {
                c.id = r.member_id.clone();
                c.generation = r.generation_id;
            }
            return r;
        }
        panic!("two MEMBER_ID_REQUIRED in a row")
    }

    /// SyncGroup; the client takes the assignment (a cooperative member keeps what stays and
    /// drops what is gone; an eager one owned nothing since its join).
    fn classic_sync(&mut self, c: &mut Classic) -> SyncGroupResponse {
        let req = SyncGroup {
            group_id: G.to_string(),
            generation_id: c.generation,
            member_id: c.id.clone(),
            group_instance_id: c.instance.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: Some(c.protocol().into()),
            assignments: Vec::new(),
            topics: self.image.clone(),
        };
        let GroupResponse::Sync(r) = self.call(GroupRequest::Sync(req)) else {
            panic!("not a sync answer")
        };
        if r.error == ErrorCode::None {
            c.owned = embedded::assignment(&r.assignment, &self.image).expect("assignment");
        }
        r
    }

    fn classic_heartbeat(&mut self, c: &Classic) -> ErrorCode {
        let req = Heartbeat {
            group_id: G.to_string(),
            generation_id: c.generation,
            member_id: c.id.clone(),
            group_instance_id: c.instance.clone(),
        };
        let GroupResponse::Heartbeat(r) = self.call(GroupRequest::Heartbeat(req)) else {
            panic!("not a heartbeat answer")
        };
        r.error
    }

    /// One poll of a classic consumer: heartbeat, and rejoin + sync when told to.
    fn classic_poll(&mut self, c: &mut Classic) {
        let e = self.classic_heartbeat(c);
        if e == ErrorCode::RebalanceInProgress {
            let r = self.classic_join(c);
            assert_eq!(r.error, ErrorCode::None, "{r:?}");
            let r = self.classic_sync(c);
            assert!(
                matches!(r.error, ErrorCode::None | ErrorCode::RebalanceInProgress),
                "{r:?}"
            );
        } else {
            assert_eq!(e, ErrorCode::None);
        }
    }

    /// Polls every member round-robin until the group is Stable, checking that no partition is
    /// owned twice, on either side, after every step.
    fn settle_mixed(&mut self, consumers: &mut [Client], classics: &mut [Classic]) {
        for _ in 0..30 {
            for c in consumers.iter_mut() {
                let r = self.heartbeat(c);
                assert_eq!(r.error, ErrorCode::None, "{r:?}");
                check_no_double_ownership(self.group());
            }
            for c in classics.iter_mut() {
                self.classic_poll(c);
                check_no_double_ownership(self.group());
            }
            check_mixed(consumers, classics);
            if self.group().state() == ConsumerGroupState::Stable
                && classics
                    .iter()
                    .all(|c| self.classic_heartbeat(c) == ErrorCode::None)
            {
                return;
            }
            self.now += 100;
        }
        panic!("group did not settle: {:#?}", self.group());
    }

    /// A classic group at generation 1 whose only member owns every partition.
    fn stable_classic_group(&mut self, c: &mut Classic) {
        let GroupResponse::Join(r) = self.call(GroupRequest::Join(JoinGroup {
            require_known_member_id: false,
            ..self.join_request(c)
        })) else {
            panic!()
        };
        assert_eq!(r.error, ErrorCode::None, "{r:?}");
        c.id = r.member_id.clone();
        c.generation = r.generation_id;
        assert_eq!(r.leader, c.id);
        let mut all = Assignment::new();
        for (_, t) in self.image.iter() {
            all.insert(t.id, (0..t.partitions).collect());
        }
        let assignment = embedded::encode_assignment(&all, &self.image, 1);
        let GroupResponse::Sync(r) = self.call(GroupRequest::Sync(SyncGroup {
            group_id: G.into(),
            generation_id: c.generation,
            member_id: c.id.clone(),
            assignments: vec![(c.id.clone(), assignment)],
            topics: self.image.clone(),
            ..SyncGroup::default()
        })) else {
            panic!()
        };
        assert_eq!(r.error, ErrorCode::None);
        c.owned = embedded::assignment(&r.assignment, &self.image).expect("assignment");
        assert_eq!(self.c.group_state(G), Some(GroupState::Stable));
    }
}

fn check_mixed(consumers: &[Client], classics: &[Classic]) {
    let mut seen = BTreeSet::new();
    let owned = consumers
        .iter()
        .map(|c| &c.owned)
        .chain(classics.iter().map(|c| &c.owned));
    for a in owned {
        for (t, ps) in a {
            for p in ps {
                assert!(seen.insert((*t, *p)), "{t}/{p} owned by two members");
            }
        }
    }
}

fn no_delay() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

fn upgrade_then_share(cooperative: bool) {
    let mut sim = Sim::with_config(&[("t", 4)], no_delay());
    let mut old = Classic::new("old", &["t"], cooperative);
    sim.stable_classic_group(&mut old);
    assert_eq!(total_classic(&old), 4);

    // A KIP-848 member joins the live classic group: it becomes a consumer group at once.
    let mut new = Client::new("new", &["t"]);
    let r = sim.heartbeat(&mut new);
    assert_eq!(r.error, ErrorCode::None, "{r:?}");
    assert!(sim
        .persisted
        .iter()
        .any(|r| matches!(r, GroupRecord::GroupMetadata { value: None, .. })));
    let g = sim.group();
    let m = &g.members[&old.id];
    assert!(m.is_classic());
    assert_eq!(
        m.epoch, 1,
        "the classic member keeps its generation as its epoch"
    );
    assert_eq!(m.assigned.values().map(BTreeSet::len).sum::<usize>(), 4);
    // Its partitions are still the old member's: the newcomer waits.
    assert_eq!(total(&new), 0);
    assert_eq!(new.epoch, 2);

    // The classic member learns of the rebalance from its heartbeat and rejoins.
    assert_eq!(sim.classic_heartbeat(&old), ErrorCode::RebalanceInProgress);
    let mut consumers = vec![new];
    let mut classics = vec![old];
    sim.settle_mixed(&mut consumers, &mut classics);
    assert_eq!(total(&consumers[0]), 2);
    assert_eq!(total_classic(&classics[0]), 2);
    assert_eq!(classics[0].generation, sim.group().group_epoch);
}

#[test]
fn an_eager_classic_group_upgrades_online_and_shares_with_the_new_member() {
    upgrade_then_share(false);
}

#[test]
fn a_cooperative_classic_group_upgrades_online_revoking_before_handing_over() {
    let mut sim = Sim::with_config(&[("t", 4)], no_delay());
    let mut old = Classic::new("old", &["t"], true);
    sim.stable_classic_group(&mut old);
    let mut new = Client::new("new", &["t"]);
    sim.heartbeat(&mut new);
    // The cooperative member rejoins still owning all four: it stays at its epoch and is told
    // to keep only its share; the newcomer gets nothing until it lets go.
    assert_eq!(sim.classic_heartbeat(&old), ErrorCode::RebalanceInProgress);
    let r = sim.classic_join(&mut old);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader, "");
    assert!(r.members.is_empty());
    sim.classic_sync(&mut old);
    assert_eq!(total_classic(&old), 2);
    assert_eq!(
        sim.group().members[&old.id].state,
        MemberState::UnrevokedPartitions
    );
    sim.heartbeat(&mut new);
    assert_eq!(total(&new), 0);
    check_mixed(std::slice::from_ref(&new), std::slice::from_ref(&old));
    upgrade_then_share(true);
}

#[test]
fn a_classic_member_joins_a_live_consumer_group_and_commits_with_its_generation() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    assert_eq!(total(&a), 4);
    let mut b = Classic::new("b", &["t"], false);
    let r = sim.classic_join(&mut b);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
    let mut consumers = vec![a];
    let mut classics = vec![b];
    sim.settle_mixed(&mut consumers, &mut classics);
    assert_eq!(total(&consumers[0]), 2);
    assert_eq!(total_classic(&classics[0]), 2);
    let b = &classics[0];
    // Classic members commit as before (any version), checked against their generation.
    assert_eq!(commit(&mut sim, &b.id, b.generation, 8), ErrorCode::None);
    assert_eq!(
        commit(&mut sim, &b.id, b.generation - 1, 8),
        ErrorCode::IllegalGeneration
    );
    // A consumer-protocol request under a classic member's id is refused.
    let mut impostor = Client::new(&b.id, &["t"]);
    impostor.epoch = b.generation;
    assert_eq!(
        sim.heartbeat(&mut impostor).error,
        ErrorCode::UnknownMemberId
    );
    // Described as a classic member.
    let GroupResponse::ConsumerDescribe(d) =
        sim.call(GroupRequest::ConsumerDescribe(ConsumerGroupDescribe {
            group_ids: vec![G.into()],
            topics: sim.image.clone(),
        }))
    else {
        panic!()
    };
    let kinds: BTreeMap<&str, bool> = d.groups[0]
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.classic))
        .collect();
    assert!(kinds[b.id.as_str()]);
    assert!(!kinds["a"]);
}

#[test]
fn the_group_downgrades_when_its_last_consumer_member_leaves() {
    let mut sim = Sim::with_config(&[("t", 4)], no_delay());
    let mut old = Classic::new("old", &["t"], false);
    sim.stable_classic_group(&mut old);
    let mut new = Client::new("new", &["t"]);
    sim.heartbeat(&mut new);
    let mut consumers = vec![new];
    let mut classics = vec![old];
    sim.settle_mixed(&mut consumers, &mut classics);
    let epoch = sim.group().group_epoch;
    assert_eq!(
        commit(&mut sim, &classics[0].id, classics[0].generation, 8),
        ErrorCode::None
    );

    let mut leave = sim.request(&consumers[0], false);
    leave.member_epoch = LEAVE_EPOCH;
    assert_eq!(sim.heartbeat_raw(leave).error, ErrorCode::None);
    assert!(
        sim.c.groups[G].consumer.is_none(),
        "back to a classic group"
    );
    assert!(sim
        .persisted
        .iter()
        .any(|r| matches!(r, GroupRecord::ConsumerGroup { value: None, .. })));
    assert_eq!(sim.c.generation(G), Some(epoch));
    assert_eq!(sim.c.group_state(G), Some(GroupState::PreparingRebalance));
    assert!(sim.c.groups[G].offsets.contains_key(&("t".to_string(), 0)));

    // The classic member rejoins through the classic protocol and leads the next generation.
    let old = &mut classics[0];
    assert_eq!(sim.classic_heartbeat(old), ErrorCode::RebalanceInProgress);
    let r = sim.classic_join(old);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.leader, old.id);
    assert_eq!(r.generation_id, epoch + 1);
    assert_eq!(sim.c.group_state(G), Some(GroupState::CompletingRebalance));
}

#[test]
fn the_migration_policy_is_honoured() {
    let cfg = GroupConfig {
        migration_policy: MigrationPolicy::Disabled,
        ..no_delay()
    };
    let mut sim = Sim::with_config(&[("t", 2)], cfg);
    let mut old = Classic::new("old", &["t"], false);
    sim.stable_classic_group(&mut old);
    let mut new = Client::new("new", &["t"]);
    assert_eq!(sim.heartbeat(&mut new).error, ErrorCode::GroupIdNotFound);
    assert_eq!(sim.c.group_state(G), Some(GroupState::Stable));

    // Upgrade only: the group converts but does not come back when the new member leaves.
    let cfg = GroupConfig {
        migration_policy: MigrationPolicy::Upgrade,
        ..no_delay()
    };
    let mut sim = Sim::with_config(&[("t", 2)], cfg);
    let mut old = Classic::new("old", &["t"], false);
    sim.stable_classic_group(&mut old);
    let mut new = Client::new("new", &["t"]);
    assert_eq!(sim.heartbeat(&mut new).error, ErrorCode::None);
    let mut leave = sim.request(&new, false);
    leave.member_epoch = LEAVE_EPOCH;
    sim.heartbeat_raw(leave);
    assert!(sim.c.groups[G].consumer.is_some());
}

#[test]
fn classic_members_are_fenced_by_their_own_timers_and_the_group_downgrades_when_the_last_consumer_member_expires(
) {
    let mut sim = Sim::with_config(&[("t", 4)], no_delay());
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    // A classic member that joins but never syncs is gone after its rebalance timeout.
    let mut quiet = Classic::new("quiet", &["t"], false);
    assert_eq!(sim.classic_join(&mut quiet).error, ErrorCode::None);
    sim.heartbeat(&mut a);
    sim.tick(20_001);
    assert!(!sim.group().members.contains_key(&quiet.id));

    // A classic member that keeps polling stays; when the consumer member goes silent past
    // its session, only classic members are left and the group becomes classic again.
    let mut b = Classic::new("b", &["t"], false);
    let mut consumers = vec![a];
    sim.classic_join(&mut b);
    let mut classics = vec![b];
    sim.settle_mixed(&mut consumers, &mut classics);
    for _ in 0..10 {
        sim.now += 5_000;
        sim.classic_poll(&mut classics[0]);
        let fx = sim.c.tick(sim.now);
        sim.persisted.extend(fx.persist);
    }
    assert!(sim.c.groups[G].consumer.is_none(), "downgraded");
    assert!(sim.c.groups[G].members.contains_key(&classics[0].id));
}

#[test]
fn classic_members_survive_a_replay_of_what_was_persisted() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut a = Client::new("a", &["t"]);
    sim.heartbeat(&mut a);
    let mut b = Classic::new("b", &["t"], true);
    sim.classic_join(&mut b);
    let mut consumers = vec![a];
    let mut classics = vec![b];
    sim.settle_mixed(&mut consumers, &mut classics);
    let mut fresh = GroupCoordinator::with_seed(GroupConfig::default(), 9);
    for r in &sim.persisted {
        let (k, v) = r.encode();
        let back = GroupRecord::decode(&k, v.as_deref()).expect("decode");
        assert_eq!(&back, r);
        fresh.replay(&back);
    }
    let restored = &fresh.groups[G].consumer.as_ref().expect("cg").members[&classics[0].id];
    assert!(restored.same_persisted(&sim.group().members[&classics[0].id]));
    assert!(restored.is_classic());
    sim.c = fresh;
    assert_eq!(sim.classic_heartbeat(&classics[0]), ErrorCode::None);
}

#[test]
fn a_classic_static_member_replacing_the_last_consumer_member_downgrades_without_a_rebalance() {
    let mut sim = Sim::new(&[("t", 4)]);
    let mut s = Client::new("s", &["t"]);
    s.instance = Some("i".into());
    sim.heartbeat(&mut s);
    let mut b = Classic::new("b", &["t"], false);
    sim.classic_join(&mut b);
    let mut consumers = vec![s];
    let mut classics = vec![b];
    sim.settle_mixed(&mut consumers, &mut classics);
    let epoch = sim.group().group_epoch;
    let target = sim.group().target["s"].clone();

    // The instance restarts as a classic consumer.
    let mut again = Classic::new("again", &["t"], false);
    again.instance = Some("i".into());
    let r = sim.classic_join(&mut again);
    assert_eq!(r.error, ErrorCode::None, "{r:?}");
    assert!(sim.c.groups[G].consumer.is_none(), "downgraded");
    assert_eq!(sim.c.group_state(G), Some(GroupState::Stable));
    assert_eq!(sim.c.generation(G), Some(epoch));
    assert_eq!(r.generation_id, epoch);
    // It gets the replaced member's partitions; the other member carries on untouched.
    let r = sim.classic_sync(&mut again);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(again.owned, target);
    assert_eq!(sim.classic_heartbeat(&classics[0]), ErrorCode::None);
}
