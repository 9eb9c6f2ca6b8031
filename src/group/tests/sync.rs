//! SyncGroup, Heartbeat, LeaveGroup and session expiry.

use super::*;

#[test]
fn follower_waits_for_leader_assignment() {
    let mut h = Harness::new(no_delay());
    let (a, ja) = h.start_join("a");
    let jb = {
        let first = h.send(GroupRequest::Join(join_req("", "b")));
        let b = h.join(first).member_id;
        (b.clone(), h.send(GroupRequest::Join(join_req(&b, "b"))))
    };
    // With no delay, the first member's join completed alone; it rejoins for generation 2.
    let r = h.join(ja);
    let ja2 = h.send(GroupRequest::Join(join_req(&a, "a")));
    let _ = r;
    h.finish_join();
    let ra = h.join(ja2);
    let rb = h.join(jb.1);
    assert_eq!(ra.generation_id, rb.generation_id);
    let generation = ra.generation_id;
    let leader = ra.leader.clone();
    let follower = if leader == a { jb.0.clone() } else { a.clone() };
    assert_eq!(
        h.heartbeat(&follower, generation),
        ErrorCode::None,
        "CompletingRebalance heartbeat is NONE"
    );
    let fs = h.send(GroupRequest::Sync(sync_req(
        &follower,
        generation,
        Vec::new(),
    )));
    assert!(!h.answered(fs), "follower waits for the leader");
    let commit = h.send(GroupRequest::OffsetCommit(OffsetCommit {
        api_version: 9,
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: follower.clone(),
        ..OffsetCommit::default()
    }));
    assert!(matches!(h.response(commit), GroupResponse::OffsetCommit(_)));
    let before = h.persisted.len();
    let ls = h.send(GroupRequest::Sync(sync_req(
        &leader,
        generation,
        vec![
            (follower.clone(), Bytes::from_static(b"F")),
            ("ghost".into(), Bytes::from_static(b"G")),
        ],
    )));
    assert!(matches!(
        h.persisted.get(before),
        Some(GroupRecord::GroupMetadata { value: Some(_), .. })
    ));
    assert_eq!(h.sync(fs).assignment, Bytes::from_static(b"F"));
    let l = h.sync(ls);
    assert_eq!(l.error, ErrorCode::None);
    assert!(
        l.assignment.is_empty(),
        "members the leader did not name get an empty assignment"
    );
    assert_eq!(l.protocol_name.as_deref(), Some("range"));
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Stable));
}

#[test]
fn sync_errors() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    let id = h.send(GroupRequest::Sync(sync_req(
        "ghost",
        generation,
        Vec::new(),
    )));
    assert_eq!(h.sync(id).error, ErrorCode::UnknownMemberId);
    let id = h.send(GroupRequest::Sync(sync_req(
        &members[1],
        generation + 1,
        Vec::new(),
    )));
    assert_eq!(h.sync(id).error, ErrorCode::IllegalGeneration);
    let mut req = sync_req(&members[1], generation, Vec::new());
    req.protocol_type = Some("connect".into());
    let id = h.send(GroupRequest::Sync(req));
    assert_eq!(h.sync(id).error, ErrorCode::InconsistentGroupProtocol);
    let mut req = sync_req(&members[1], generation, Vec::new());
    req.protocol_name = Some("sticky".into());
    let id = h.send(GroupRequest::Sync(req));
    assert_eq!(h.sync(id).error, ErrorCode::InconsistentGroupProtocol);
    // Stable: the current assignment again.
    let id = h.send(GroupRequest::Sync(sync_req(
        &members[1],
        generation,
        Vec::new(),
    )));
    let s = h.sync(id);
    assert_eq!(s.error, ErrorCode::None);
    assert_eq!(s.assignment, Bytes::from(format!("a-{}", members[1])));
    // PreparingRebalance.
    h.send(GroupRequest::Join(join_req(&members[0], "c")));
    let id = h.send(GroupRequest::Sync(sync_req(
        &members[1],
        generation,
        Vec::new(),
    )));
    assert_eq!(h.sync(id).error, ErrorCode::RebalanceInProgress);
    let id = h.send(GroupRequest::Sync(SyncGroup {
        group_id: "other".into(),
        ..sync_req("x", 1, Vec::new())
    }));
    assert_eq!(h.sync(id).error, ErrorCode::UnknownMemberId);
}

#[test]
fn heartbeat_errors_by_state() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    assert_eq!(h.heartbeat(&members[1], generation), ErrorCode::None);
    assert_eq!(
        h.heartbeat(&members[1], generation - 1),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(h.heartbeat("ghost", generation), ErrorCode::UnknownMemberId);
    h.send(GroupRequest::Join(join_req(&members[0], "c")));
    assert_eq!(
        h.heartbeat(&members[1], generation),
        ErrorCode::RebalanceInProgress
    );
}

#[test]
fn heartbeats_keep_a_member_and_silence_evicts_it() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    assert_eq!(h.heartbeat(&members[0], generation), ErrorCode::None);
    assert_eq!(h.heartbeat(&members[1], generation), ErrorCode::None);
    for _ in 0..5 {
        h.run_for(i64::from(SESSION_MS) - 1);
        assert_eq!(h.heartbeat(&members[0], generation), ErrorCode::None);
        assert_eq!(h.heartbeat(&members[1], generation), ErrorCode::None);
    }
    // Member 1 falls silent; member 0 keeps heartbeating and is told to rejoin.
    h.run_for(i64::from(SESSION_MS) - 1);
    assert_eq!(h.heartbeat(&members[0], generation), ErrorCode::None);
    h.run_for(1);
    assert_eq!(
        h.heartbeat(&members[0], generation),
        ErrorCode::RebalanceInProgress
    );
    let j = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    let r = h.join(j);
    assert_eq!(r.generation_id, generation + 1);
    assert_eq!(r.members.len(), 1);
}

#[test]
fn leave_is_per_member_and_rebalances() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(3);
    let id = h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![
            LeavingMember {
                member_id: members[2].clone(),
                ..Default::default()
            },
            LeavingMember {
                member_id: "ghost".into(),
                ..Default::default()
            },
        ],
    }));
    let GroupResponse::Leave(l) = h.response(id) else {
        panic!("leave")
    };
    assert_eq!(l.error, ErrorCode::None);
    assert_eq!(l.members[0].error, ErrorCode::None);
    assert_eq!(l.members[1].error, ErrorCode::UnknownMemberId);
    assert_eq!(
        h.heartbeat(&members[0], generation),
        ErrorCode::RebalanceInProgress
    );
    let id = h.send(GroupRequest::Leave(LeaveGroup {
        group_id: "nope".into(),
        members: vec![LeavingMember {
            member_id: "x".into(),
            ..Default::default()
        }],
    }));
    let GroupResponse::Leave(l) = h.response(id) else {
        panic!("leave")
    };
    assert_eq!(l.members[0].error, ErrorCode::UnknownMemberId);
}

#[test]
fn last_member_leaving_empties_the_group() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(1);
    let before = h.persisted.len();
    h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: members[0].clone(),
            ..Default::default()
        }],
    }));
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Empty));
    assert_eq!(h.c.generation(GROUP), Some(generation + 1));
    assert!(h.persisted[before..].iter().any(
        |r| matches!(r, GroupRecord::GroupMetadata { value: Some(v), .. } if v.members.is_empty())
    ));
}

#[test]
fn leader_leaves_mid_rebalance() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(3);
    let j0 = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    let j1 = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: members[0].clone(),
            ..Default::default()
        }],
    }));
    assert_eq!(
        h.join(j0).error,
        ErrorCode::UnknownMemberId,
        "the leaver's parked join is answered"
    );
    let j2 = h.send(GroupRequest::Join(join_req(&members[2], "c")));
    let r1 = h.join(j1);
    let r2 = h.join(j2);
    assert_eq!(r1.generation_id, generation + 1);
    assert_eq!(r1.leader, members[1], "a member that rejoined leads");
    assert_eq!(r1.members.len(), 2);
    assert_eq!(r2.leader, members[1]);
}

#[test]
fn leader_that_never_syncs_is_removed_and_followers_rejoin() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    let j0 = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    let j1 = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    let g2 = h.join(j0).generation_id;
    h.join(j1);
    assert_eq!(g2, generation + 1);
    let s1 = h.send(GroupRequest::Sync(sync_req(&members[1], g2, Vec::new())));
    // The follower keeps heartbeating; the leader is gone.
    for _ in 0..(REBALANCE_MS / 5_000) {
        h.run_for(5_000);
        if h.answered(s1) {
            break;
        }
        h.heartbeat(&members[1], g2);
    }
    assert_eq!(h.sync(s1).error, ErrorCode::RebalanceInProgress);
    let j = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    let r = h.join(j);
    assert_eq!(r.leader, members[1]);
    assert_eq!(r.generation_id, g2 + 1);
}

#[test]
fn pending_member_can_leave_and_empty_group_heartbeat_is_unknown() {
    let mut h = Harness::new(GroupConfig::default());
    let first = h.send(GroupRequest::Join(join_req("", "c")));
    let pending = h.join(first).member_id;
    let id = h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: pending.clone(),
            ..Default::default()
        }],
    }));
    let GroupResponse::Leave(l) = h.response(id) else {
        panic!("leave")
    };
    assert_eq!(l.members[0].error, ErrorCode::None);
    let id = h.send(GroupRequest::Join(join_req(&pending, "c")));
    assert_eq!(h.join(id).error, ErrorCode::UnknownMemberId);
    let (members, generation) = h.stable_group(1);
    h.send(GroupRequest::Leave(LeaveGroup {
        group_id: GROUP.into(),
        members: vec![LeavingMember {
            member_id: members[0].clone(),
            ..Default::default()
        }],
    }));
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Empty));
    assert_eq!(
        h.heartbeat(&members[0], generation),
        ErrorCode::UnknownMemberId
    );
}
