//! KIP-345 static membership.

use super::*;

fn static_join(member_id: &str, instance: &str) -> JoinGroup {
    JoinGroup {
        group_instance_id: Some(instance.to_string()),
        ..join_req(member_id, instance)
    }
}

/// Two static members in a Stable group: (ids by instance "i0", "i1"), generation.
fn stable_static(h: &mut Harness) -> (Vec<String>, i32) {
    let j0 = h.send(GroupRequest::Join(static_join("", "i0")));
    let j1 = h.send(GroupRequest::Join(static_join("", "i1")));
    h.finish_join();
    let r0 = h.join(j0);
    let r1 = h.join(j1);
    assert_eq!(
        r0.error,
        ErrorCode::None,
        "static members skip MEMBER_ID_REQUIRED"
    );
    assert!(r0.member_id.starts_with("i0-"));
    let generation = r0.generation_id;
    let leader = r0.leader.clone();
    let ids = vec![r0.member_id, r1.member_id];
    let assignments = ids
        .iter()
        .map(|m| (m.clone(), Bytes::from(format!("a-{m}"))))
        .collect();
    let follower = ids
        .iter()
        .find(|m| **m != leader)
        .cloned()
        .unwrap_or_default();
    let fs = h.send(GroupRequest::Sync(sync_req(
        &follower,
        generation,
        Vec::new(),
    )));
    let ls = h.send(GroupRequest::Sync(sync_req(
        &leader,
        generation,
        assignments,
    )));
    assert_eq!(h.sync(fs).error, ErrorCode::None);
    assert_eq!(h.sync(ls).error, ErrorCode::None);
    (ids, generation)
}

#[test]
fn restart_with_same_protocols_does_not_rebalance() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, generation) = stable_static(&mut h);
    let before = h.persisted.len();
    let j = h.send(GroupRequest::Join(static_join("", "i1")));
    let r = h.join(j);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.generation_id, generation);
    assert_ne!(r.member_id, ids[1]);
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Stable));
    assert!(h.persisted.len() > before, "the new member id is persisted");
    // The new id resumes with the old assignment.
    let s = h.send(GroupRequest::Sync(sync_req(
        &r.member_id,
        generation,
        Vec::new(),
    )));
    assert_eq!(h.sync(s).assignment, Bytes::from(format!("a-{}", ids[1])));
    // The old id is fenced.
    let hb = Heartbeat {
        group_instance_id: Some("i1".into()),
        ..heartbeat_req(&ids[1], generation)
    };
    let id = h.send(GroupRequest::Heartbeat(hb));
    assert!(matches!(
        h.response(id),
        GroupResponse::Heartbeat(HeartbeatResponse {
            error: ErrorCode::FencedInstanceId
        })
    ));
    let id = h.send(GroupRequest::Join(static_join(&ids[1], "i1")));
    assert_eq!(h.join(id).error, ErrorCode::FencedInstanceId);
    let commit = OffsetCommit {
        api_version: 9,
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: ids[1].clone(),
        group_instance_id: Some("i1".into()),
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition: 0,
                committed_offset: 1,
                ..Default::default()
            }],
        }],
    };
    let id = h.send(GroupRequest::OffsetCommit(commit));
    let GroupResponse::OffsetCommit(c) = h.response(id) else {
        panic!()
    };
    assert_eq!(c.topics[0].1[0].1, ErrorCode::FencedInstanceId);
}

#[test]
fn static_leader_restart_gets_skip_assignment() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, generation) = stable_static(&mut h);
    let j = h.send(GroupRequest::Join(static_join("", "i0")));
    let r = h.join(j);
    assert_eq!(r.generation_id, generation);
    assert_eq!(r.leader, r.member_id, "leadership moves to the new id");
    assert!(r.skip_assignment);
    assert_eq!(r.members.len(), 2);
    assert_ne!(r.member_id, ids[0]);
}

#[test]
fn restart_with_changed_metadata_but_same_protocol_keeps_generation() {
    let mut h = Harness::new(GroupConfig::default());
    let (_, generation) = stable_static(&mut h);
    let mut req = static_join("", "i1");
    req.protocols = vec![("range".into(), subscription(&["t", "u"]))];
    let j1 = h.send(GroupRequest::Join(req));
    // Kafka only rebalances when the group's selected protocol would change.
    assert_eq!(h.join(j1).generation_id, generation);
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Stable));
}

#[test]
fn restart_during_completing_rebalance_rebalances() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, generation) = stable_static(&mut h);
    let j0 = h.send(GroupRequest::Join(static_join(&ids[0], "i0")));
    let j1 = h.send(GroupRequest::Join(static_join(&ids[1], "i1")));
    h.finish_join();
    assert_eq!(h.join(j0).generation_id, generation + 1);
    h.join(j1);
    assert_eq!(
        h.c.group_state(GROUP),
        Some(GroupState::CompletingRebalance)
    );
    // The leader may already hold the old id in its assignment: only a new rebalance is safe.
    let restarted = h.send(GroupRequest::Join(static_join("", "i1")));
    assert!(!h.answered(restarted));
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    let j0 = h.send(GroupRequest::Join(static_join(&ids[0], "i0")));
    let r = h.join(restarted);
    assert_eq!(r.generation_id, generation + 2);
    assert_eq!(h.join(j0).generation_id, generation + 2);
}

#[test]
fn duplicate_instance_fences_the_parked_join() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, _) = stable_static(&mut h);
    // The old instance rejoins (parked in a rebalance), then a duplicate with the same
    // instance id and no member id arrives: the parked join is fenced.
    let old = h.send(GroupRequest::Join(JoinGroup {
        protocols: vec![("range".into(), subscription(&["t", "u"]))],
        ..static_join(&ids[1], "i1")
    }));
    assert!(!h.answered(old));
    let dup = h.send(GroupRequest::Join(static_join("", "i1")));
    assert_eq!(h.join(old).error, ErrorCode::FencedInstanceId);
    let j0 = h.send(GroupRequest::Join(static_join(&ids[0], "i0")));
    h.finish_join();
    assert_eq!(h.join(dup).error, ErrorCode::None);
    assert_eq!(h.join(j0).error, ErrorCode::None);
}

#[test]
fn static_member_survives_missed_join_until_session_expiry() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, generation) = stable_static(&mut h);
    // i0 rejoins with new metadata; i1 does not rejoin but keeps its place.
    let j0 = h.send(GroupRequest::Join(JoinGroup {
        protocols: vec![("range".into(), subscription(&["t", "u"]))],
        ..static_join(&ids[0], "i0")
    }));
    // i1 stays alive (heartbeats answer REBALANCE_IN_PROGRESS) but does not rejoin.
    while !h.answered(j0) {
        h.run_for(5_000);
        let hb = Heartbeat {
            group_instance_id: Some("i1".into()),
            ..heartbeat_req(&ids[1], generation)
        };
        h.send(GroupRequest::Heartbeat(hb));
    }
    let r = h.join(j0);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(
        r.members.len(),
        2,
        "the static member that did not rejoin is kept"
    );
}

#[test]
fn leave_by_instance_id() {
    let mut h = Harness::new(GroupConfig::default());
    let (ids, generation) = stable_static(&mut h);
    let id = h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![
            LeavingMember {
                member_id: String::new(),
                group_instance_id: Some("i1".into()),
                reason: None,
            },
            LeavingMember {
                member_id: String::new(),
                group_instance_id: Some("nope".into()),
                reason: None,
            },
            LeavingMember {
                member_id: "stale".into(),
                group_instance_id: Some("i0".into()),
                reason: None,
            },
        ],
    }));
    let GroupResponse::Leave(l) = h.response(id) else {
        panic!()
    };
    assert_eq!(l.members[0].error, ErrorCode::None);
    assert_eq!(l.members[1].error, ErrorCode::UnknownMemberId);
    assert_eq!(l.members[2].error, ErrorCode::FencedInstanceId);
    assert_eq!(h.heartbeat(&ids[1], generation), ErrorCode::UnknownMemberId);
}
