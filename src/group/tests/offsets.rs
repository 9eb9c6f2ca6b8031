//! Offsets: commit, fetch, delete, retention; DeleteGroups, DescribeGroups, ListGroups.

use super::*;

fn commit(group: &str, generation: i32, member: &str, parts: &[(&str, i32, i64)]) -> OffsetCommit {
    let mut topics: Vec<OffsetCommitTopic> = Vec::new();
    for (t, p, o) in parts {
        let part = OffsetCommitPartition {
            partition: *p,
            committed_offset: *o,
            committed_leader_epoch: 3,
            committed_metadata: Some(format!("m{o}")),
        };
        match topics.iter_mut().find(|x| x.name == *t) {
            Some(x) => x.partitions.push(part),
            None => topics.push(OffsetCommitTopic {
                name: t.to_string(),
                partitions: vec![part],
            }),
        }
    }
    OffsetCommit {
        api_version: 9,
        group_id: group.to_string(),
        generation_id: generation,
        member_id: member.to_string(),
        group_instance_id: None,
        topics,
    }
}

fn commit_errors(h: &mut Harness, req: OffsetCommit) -> Vec<ErrorCode> {
    let id = h.send(GroupRequest::OffsetCommit(req));
    let GroupResponse::OffsetCommit(r) = h.response(id) else {
        panic!("commit")
    };
    r.topics
        .into_iter()
        .flat_map(|(_, p)| p.into_iter().map(|(_, e)| e))
        .collect()
}

fn fetch(
    h: &mut Harness,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> OffsetFetchResponse {
    let id = h.send(GroupRequest::OffsetFetch(OffsetFetch {
        member_id: None,
        member_epoch: -1,
        group_id: group.into(),
        topics,
        require_stable: false,
    }));
    let GroupResponse::OffsetFetch(r) = h.response(id) else {
        panic!("fetch")
    };
    r
}

fn delete_offsets(
    h: &mut Harness,
    group: &str,
    topic: &str,
    parts: Vec<i32>,
) -> OffsetDeleteResponse {
    let id = h.send(GroupRequest::OffsetDelete(OffsetDelete {
        group_id: group.into(),
        topics: vec![(topic.into(), parts)],
    }));
    let GroupResponse::OffsetDelete(r) = h.response(id) else {
        panic!("delete")
    };
    r
}

#[test]
fn simple_commit_and_fetch_round_trip() {
    let mut h = Harness::new(no_delay());
    let errs = commit_errors(
        &mut h,
        commit("simple", -1, "", &[("t", 0, 10), ("t", 1, 11), ("u", 0, 5)]),
    );
    assert!(errs.iter().all(|e| *e == ErrorCode::None));
    let all = fetch(&mut h, "simple", None);
    assert_eq!(all.topics.len(), 2);
    let t = &all.topics[0];
    assert_eq!(t.0, "t");
    assert_eq!(t.1[1].committed_offset, 11);
    assert_eq!(t.1[1].committed_leader_epoch, 3);
    assert_eq!(t.1[1].metadata.as_deref(), Some("m11"));
    let some = fetch(
        &mut h,
        "simple",
        Some(vec![("t".into(), vec![0, 7]), ("x".into(), vec![0])]),
    );
    assert_eq!(some.topics[0].1[0].committed_offset, 10);
    assert_eq!(some.topics[0].1[1].committed_offset, -1);
    assert_eq!(some.topics[0].1[1].error, ErrorCode::None);
    assert_eq!(some.topics[1].1[0].committed_offset, -1);
    let none = fetch(&mut h, "absent", Some(vec![("t".into(), vec![0])]));
    assert_eq!(none.topics[0].1[0].committed_offset, -1);
    assert!(fetch(&mut h, "absent", None).topics.is_empty());
    let persisted = h
        .persisted
        .iter()
        .filter(|r| matches!(r, GroupRecord::Offset { value: Some(_), .. }))
        .count();
    assert_eq!(persisted, 3);
}

#[test]
fn commit_without_group_and_generation_is_illegal() {
    let mut h = Harness::new(no_delay());
    let errs = commit_errors(&mut h, commit("nope", 3, "m", &[("t", 0, 1)]));
    assert_eq!(errs, vec![ErrorCode::IllegalGeneration]);
    assert_eq!(h.c.group_state("nope"), None);
}

#[test]
fn member_commits_are_checked() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    assert_eq!(
        commit_errors(
            &mut h,
            commit(GROUP, generation, &members[1], &[("t", 0, 1)])
        ),
        vec![ErrorCode::None]
    );
    assert_eq!(
        commit_errors(&mut h, commit(GROUP, generation, "ghost", &[("t", 0, 1)])),
        vec![ErrorCode::UnknownMemberId]
    );
    assert_eq!(
        commit_errors(
            &mut h,
            commit(GROUP, generation + 1, &members[1], &[("t", 0, 1)])
        ),
        vec![ErrorCode::IllegalGeneration]
    );
    // A simple commit to a group with members is refused.
    assert_eq!(
        commit_errors(&mut h, commit(GROUP, -1, "", &[("t", 0, 1)])),
        vec![ErrorCode::UnknownMemberId]
    );
    // PreparingRebalance still accepts commits of the current generation.
    let j0 = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    assert_eq!(
        commit_errors(
            &mut h,
            commit(GROUP, generation, &members[1], &[("t", 0, 2)])
        ),
        vec![ErrorCode::None]
    );
    // CompletingRebalance answers REBALANCE_IN_PROGRESS.
    let j1 = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    let g2 = h.join(j0).generation_id;
    h.join(j1);
    assert_eq!(
        commit_errors(&mut h, commit(GROUP, g2, &members[1], &[("t", 0, 3)])),
        vec![ErrorCode::RebalanceInProgress]
    );
}

#[test]
fn metadata_size_limit_at_and_past() {
    let cfg = GroupConfig {
        max_offset_metadata_bytes: 8,
        ..no_delay()
    };
    let mut h = Harness::new(cfg);
    let mut req = commit("s", -1, "", &[("t", 0, 1), ("t", 1, 1)]);
    req.topics[0].partitions[0].committed_metadata = Some("x".repeat(8));
    req.topics[0].partitions[1].committed_metadata = Some("x".repeat(9));
    assert_eq!(
        commit_errors(&mut h, req),
        vec![ErrorCode::None, ErrorCode::OffsetMetadataTooLarge]
    );
}

#[test]
fn offset_delete_respects_subscriptions() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(1);
    commit_errors(
        &mut h,
        commit(
            GROUP,
            generation,
            &members[0],
            &[("t", 0, 1), ("other", 0, 1)],
        ),
    );
    let r = delete_offsets(&mut h, GROUP, "t", vec![0]);
    assert_eq!(r.topics[0].1[0].1, ErrorCode::GroupSubscribedToTopic);
    let r = delete_offsets(&mut h, GROUP, "other", vec![0, 1]);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(
        r.topics[0].1,
        vec![(0, ErrorCode::None), (1, ErrorCode::None)]
    );
    assert!(matches!(
        h.persisted.last(),
        Some(GroupRecord::Offset { value: None, .. })
    ));
    let f = fetch(&mut h, GROUP, Some(vec![("other".into(), vec![0])]));
    assert_eq!(f.topics[0].1[0].committed_offset, -1);
    assert_eq!(
        delete_offsets(&mut h, "absent", "t", vec![0]).error,
        ErrorCode::GroupIdNotFound
    );
    assert_eq!(
        delete_offsets(&mut h, "", "t", vec![0]).error,
        ErrorCode::InvalidGroupId
    );
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention_from_emptiness() {
    let cfg = GroupConfig {
        offsets_retention_ms: 100_000,
        offsets_retention_check_interval_ms: 1_000,
        ..no_delay()
    };
    let mut h = Harness::new(cfg);
    let (members, generation) = h.stable_group(1);
    commit_errors(
        &mut h,
        commit(GROUP, generation, &members[0], &[("t", 0, 1)]),
    );
    // A live subscribed group keeps its offsets past retention.
    for _ in 0..30 {
        h.run_for(5_000);
        h.heartbeat(&members[0], generation);
    }
    assert_eq!(fetch(&mut h, GROUP, None).topics.len(), 1);
    h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: members[0].clone(),
            ..Default::default()
        }],
    }));
    h.run_for(98_000);
    assert_eq!(fetch(&mut h, GROUP, None).topics.len(), 1, "not yet");
    h.run_for(3_000);
    assert!(fetch(&mut h, GROUP, None).topics.is_empty());
    assert_eq!(
        h.c.group_state(GROUP),
        None,
        "the empty group without offsets is gone"
    );
    assert!(matches!(
        h.persisted.last(),
        Some(GroupRecord::GroupMetadata { value: None, .. })
    ));
}

#[test]
fn simple_offsets_expire_by_commit_time() {
    let cfg = GroupConfig {
        offsets_retention_ms: 10_000,
        offsets_retention_check_interval_ms: 1_000,
        ..no_delay()
    };
    let mut h = Harness::new(cfg);
    commit_errors(&mut h, commit("s", -1, "", &[("t", 0, 1)]));
    h.run_for(5_000);
    commit_errors(&mut h, commit("s", -1, "", &[("t", 1, 1)]));
    h.run_for(6_000);
    let f = fetch(&mut h, "s", None);
    assert_eq!(f.topics[0].1.len(), 1);
    assert_eq!(f.topics[0].1[0].partition, 1);
}

#[test]
fn delete_groups() {
    let mut h = Harness::new(no_delay());
    h.stable_group(1);
    commit_errors(&mut h, commit("s", -1, "", &[("t", 0, 1)]));
    let id = h.send(GroupRequest::Delete(DeleteGroups {
        group_ids: vec![GROUP.into(), "s".into(), "absent".into()],
    }));
    let GroupResponse::Delete(r) = h.response(id) else {
        panic!()
    };
    assert_eq!(r.results[0].1, ErrorCode::NonEmptyGroup);
    assert_eq!(r.results[1].1, ErrorCode::None);
    assert_eq!(r.results[2].1, ErrorCode::GroupIdNotFound);
    assert!(fetch(&mut h, "s", None).topics.is_empty());
    assert!(h.persisted.iter().rev().take(2).all(value_is_none));
}

fn value_is_none(r: &GroupRecord) -> bool {
    match r {
        GroupRecord::Offset { value, .. } | GroupRecord::TxnOffset { value, .. } => value.is_none(),
        GroupRecord::GroupMetadata { value, .. } => value.is_none(),
        GroupRecord::ConsumerGroup { value, .. } => value.is_none(),
    }
}

#[test]
fn describe_and_list() {
    let mut h = Harness::new(no_delay());
    let (members, _) = h.stable_group(2);
    commit_errors(&mut h, commit("s", -1, "", &[("t", 0, 1)]));
    let id = h.send(GroupRequest::Describe(DescribeGroups {
        group_ids: vec![GROUP.into(), "absent".into()],
    }));
    let GroupResponse::Describe(d) = h.response(id) else {
        panic!()
    };
    let g = &d.groups[0];
    assert_eq!(
        (
            g.group_state.as_str(),
            g.protocol_type.as_str(),
            g.protocol_data.as_str()
        ),
        ("Stable", "consumer", "range")
    );
    assert_eq!(g.members.len(), 2);
    assert_eq!(
        g.members[0].member_assignment,
        Bytes::from(format!("a-{}", g.members[0].member_id))
    );
    assert!(members.contains(&g.members[0].member_id));
    assert_eq!(d.groups[1].group_state, "Dead");
    let list = |h: &mut Harness, states: Vec<&str>, types: Vec<&str>| {
        let req = ListGroups {
            states_filter: states.into_iter().map(String::from).collect(),
            types_filter: types.into_iter().map(String::from).collect(),
        };
        let id = h.send(GroupRequest::List(req));
        let GroupResponse::List(l) = h.response(id) else {
            panic!()
        };
        l.groups
            .into_iter()
            .map(|g| (g.group_id, g.group_state))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(&mut h, vec![], vec![]),
        vec![
            (GROUP.to_string(), "Stable".to_string()),
            ("s".to_string(), "Empty".to_string())
        ]
    );
    assert_eq!(
        list(&mut h, vec!["empty"], vec![]),
        vec![("s".to_string(), "Empty".to_string())]
    );
    assert_eq!(list(&mut h, vec![], vec!["Classic"]).len(), 2);
    assert!(list(&mut h, vec![], vec!["consumer"]).is_empty());
}

#[test]
fn simple_commit_allowed_once_the_group_is_empty() {
    let mut h = Harness::new(no_delay());
    let (members, _) = h.stable_group(1);
    h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: members[0].clone(),
            ..Default::default()
        }],
    }));
    assert_eq!(
        commit_errors(&mut h, commit(GROUP, -1, "", &[("t", 0, 9)])),
        vec![ErrorCode::None]
    );
    // Kafka lets any commit without a generation into an empty group, member id or not.
    assert_eq!(
        commit_errors(&mut h, commit(GROUP, -1, "ghost", &[("t", 0, 9)])),
        vec![ErrorCode::None]
    );
    // Offsets can be deleted from an empty group whatever it subscribed to.
    assert_eq!(
        delete_offsets(&mut h, GROUP, "t", vec![0]).topics[0].1,
        vec![(0, ErrorCode::None)]
    );
}

#[test]
fn a_deleted_topics_offsets_are_tombstoned_in_every_group() {
    let mut h = Harness::new(GroupConfig::default());
    assert!(commit_errors(
        &mut h,
        commit("a", -1, "", &[("gone", 0, 5), ("kept", 0, 6)])
    )
    .iter()
    .all(|e| e.is_ok()));
    assert!(
        commit_errors(&mut h, commit("b", -1, "", &[("gone", 1, 7)]))
            .iter()
            .all(|e| e.is_ok())
    );
    h.persisted.clear();
    let fx = h.c.forget_topics(h.now, &["gone".to_string()]);
    let tombstones: Vec<(String, String, i32)> = fx
        .persist
        .iter()
        .filter_map(|r| match r {
            GroupRecord::Offset {
                group_id,
                topic,
                partition,
                value: None,
            } => Some((group_id.clone(), topic.clone(), *partition)),
            _ => None,
        })
        .collect();
    let mut sorted = tombstones.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            ("a".into(), "gone".into(), 0),
            ("b".into(), "gone".into(), 1)
        ]
    );
    let a = fetch(&mut h, "a", None);
    assert_eq!(a.topics.len(), 1);
    assert_eq!(a.topics[0].0, "kept");
    // Group b held nothing else: it is gone.
    assert!(h.c.group_state("b").is_none());
}

fn txn_commit(h: &mut Harness, pid: i64, req: OffsetCommit) -> Vec<ErrorCode> {
    let id = h.send(GroupRequest::TxnOffsetCommit(TxnOffsetCommit {
        producer_id: pid,
        producer_epoch: 0,
        commit: req,
    }));
    let GroupResponse::TxnOffsetCommit(r) = h.response(id) else {
        panic!("txn commit")
    };
    r.topics
        .into_iter()
        .flat_map(|(_, p)| p.into_iter().map(|(_, e)| e))
        .collect()
}

fn marker(h: &mut Harness, pid: i64, commit: bool) {
    let id = h.send(GroupRequest::TxnMarker(TxnMarker {
        producer_id: pid,
        commit,
    }));
    assert_eq!(h.response(id), GroupResponse::TxnMarker);
}

/// (offset, error) of t-0 as a require_stable (or plain) OffsetFetch answers it.
fn fetched(h: &mut Harness, group: &str, require_stable: bool) -> (i64, ErrorCode) {
    let id = h.send(GroupRequest::OffsetFetch(OffsetFetch {
        member_id: None,
        member_epoch: -1,
        group_id: group.into(),
        topics: Some(vec![("t".into(), vec![0])]),
        require_stable,
    }));
    let GroupResponse::OffsetFetch(r) = h.response(id) else {
        panic!("fetch")
    };
    let p = &r.topics[0].1[0];
    (p.committed_offset, p.error)
}

#[test]
fn transactional_offsets_wait_for_their_marker() {
    let mut h = Harness::new(no_delay());
    assert_eq!(
        txn_commit(&mut h, 7, commit("tg", -1, "", &[("t", 0, 10)])),
        vec![ErrorCode::None]
    );
    // Pending: invisible, and unstable for a require_stable fetch.
    assert_eq!(fetched(&mut h, "tg", false), (-1, ErrorCode::None));
    assert_eq!(
        fetched(&mut h, "tg", true),
        (-1, ErrorCode::UnstableOffsetCommit)
    );
    marker(&mut h, 7, true);
    assert_eq!(fetched(&mut h, "tg", true), (10, ErrorCode::None));
    // An aborted transaction's offsets never show.
    txn_commit(&mut h, 8, commit("tg", -1, "", &[("t", 0, 20)]));
    marker(&mut h, 8, false);
    assert_eq!(fetched(&mut h, "tg", true), (10, ErrorCode::None));
    // A marker for a producer with nothing pending changes nothing.
    marker(&mut h, 9, true);
    assert_eq!(fetched(&mut h, "tg", false), (10, ErrorCode::None));
}

#[test]
fn transactional_offsets_are_checked_against_the_group_like_kafka() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    // A member with its generation, and a producer outside the group (KIP-447 fallback).
    assert_eq!(
        txn_commit(
            &mut h,
            1,
            commit(GROUP, generation, &members[0], &[("t", 0, 5)])
        ),
        vec![ErrorCode::None]
    );
    assert_eq!(
        txn_commit(&mut h, 2, commit(GROUP, -1, "", &[("t", 1, 5)])),
        vec![ErrorCode::None]
    );
    assert_eq!(
        txn_commit(
            &mut h,
            1,
            commit(GROUP, generation + 1, &members[0], &[("t", 0, 6)])
        ),
        vec![ErrorCode::IllegalGeneration]
    );
    assert_eq!(
        txn_commit(
            &mut h,
            1,
            commit(GROUP, generation, "nobody", &[("t", 0, 6)])
        ),
        vec![ErrorCode::UnknownMemberId]
    );
    // No group, with a generation: ILLEGAL_GENERATION, as for OffsetCommit.
    assert_eq!(
        txn_commit(&mut h, 1, commit("absent", 3, "m", &[("t", 0, 6)])),
        vec![ErrorCode::IllegalGeneration]
    );
}

#[test]
fn pending_transactional_offsets_survive_a_restart_and_complete_after_it() {
    let mut h = Harness::new(no_delay());
    txn_commit(&mut h, 7, commit("tg", -1, "", &[("t", 0, 10)]));
    let mut fresh = Harness::new(h.c.config().clone());
    fresh.now = h.now;
    for r in &h.persisted {
        let (k, v) = r.encode();
        fresh
            .c
            .replay(&GroupRecord::decode(&k, v.as_deref()).expect("decodes"));
    }
    assert_eq!(
        fetched(&mut fresh, "tg", true),
        (-1, ErrorCode::UnstableOffsetCommit)
    );
    marker(&mut fresh, 7, true);
    assert_eq!(fetched(&mut fresh, "tg", true), (10, ErrorCode::None));
    // The completion itself replays: the offset is committed, nothing is pending.
    let mut again = Harness::new(h.c.config().clone());
    again.now = fresh.now;
    for r in h.persisted.iter().chain(fresh.persisted.iter()) {
        let (k, v) = r.encode();
        again
            .c
            .replay(&GroupRecord::decode(&k, v.as_deref()).expect("decodes"));
    }
    assert_eq!(fetched(&mut again, "tg", true), (10, ErrorCode::None));
}

#[test]
fn a_group_with_only_pending_transactional_offsets_does_not_expire() {
    let mut h = Harness::new(GroupConfig {
        offsets_retention_ms: 1_000,
        offsets_retention_check_interval_ms: 500,
        ..no_delay()
    });
    txn_commit(&mut h, 7, commit("tg", -1, "", &[("t", 0, 10)]));
    h.run_for(10_000);
    marker(&mut h, 7, true);
    assert_eq!(fetched(&mut h, "tg", true), (10, ErrorCode::None));
}
