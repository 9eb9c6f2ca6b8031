//! JoinGroup: KIP-394, validation, the initial delay, protocol choice, leader choice.

use super::*;

#[test]
fn two_step_join_hands_out_member_id_first() {
    let mut h = Harness::new(no_delay());
    let first = h.send(GroupRequest::Join(join_req("", "client")));
    let r = h.join(first);
    assert_eq!(r.error, ErrorCode::MemberIdRequired);
    assert_eq!(r.generation_id, -1);
    assert!(r.member_id.starts_with("client-"), "{}", r.member_id);
    assert_eq!(r.member_id.len(), "client-".len() + 36);
    let second = h.send(GroupRequest::Join(join_req(&r.member_id, "client")));
    let r2 = h.join(second);
    assert_eq!(r2.error, ErrorCode::None);
    assert_eq!(r2.member_id, r.member_id);
    assert_eq!(r2.generation_id, 1);
    assert_eq!(r2.leader, r.member_id);
    assert_eq!(r2.protocol_name.as_deref(), Some("range"));
    assert_eq!(r2.members.len(), 1);
    assert_eq!(
        h.c.group_state(GROUP),
        Some(GroupState::CompletingRebalance)
    );
}

#[test]
fn old_versions_get_member_id_at_once() {
    let mut h = Harness::new(no_delay());
    let mut req = join_req("", "old");
    req.require_known_member_id = false;
    let id = h.send(GroupRequest::Join(req));
    let r = h.join(id);
    assert_eq!(r.error, ErrorCode::None);
    assert!(r.member_id.starts_with("old-"));
}

#[test]
fn pending_member_expires_after_session_timeout() {
    let mut h = Harness::new(no_delay());
    let first = h.send(GroupRequest::Join(join_req("", "c")));
    let member = h.join(first).member_id;
    h.run_for(i64::from(SESSION_MS));
    let id = h.send(GroupRequest::Join(join_req(&member, "c")));
    assert_eq!(h.join(id).error, ErrorCode::UnknownMemberId);
}

#[test]
fn unknown_member_id_is_rejected() {
    let mut h = Harness::new(no_delay());
    let id = h.send(GroupRequest::Join(join_req("nobody", "c")));
    assert_eq!(h.join(id).error, ErrorCode::UnknownMemberId);
    h.stable_group(1);
    let id = h.send(GroupRequest::Join(join_req("nobody", "c")));
    assert_eq!(h.join(id).error, ErrorCode::UnknownMemberId);
}

#[test]
fn empty_group_id_is_invalid() {
    let mut h = Harness::new(no_delay());
    let mut req = join_req("", "c");
    req.group_id.clear();
    let id = h.send(GroupRequest::Join(req));
    assert_eq!(h.join(id).error, ErrorCode::InvalidGroupId);
    let id = h.send(GroupRequest::Heartbeat(Heartbeat::default()));
    assert!(matches!(
        h.response(id),
        GroupResponse::Heartbeat(HeartbeatResponse {
            error: ErrorCode::InvalidGroupId
        })
    ));
    let id = h.send(GroupRequest::Sync(SyncGroup::default()));
    assert_eq!(h.sync(id).error, ErrorCode::InvalidGroupId);
}

#[test]
fn session_timeout_limits() {
    let cfg = no_delay();
    let (min, max) = (cfg.min_session_timeout_ms, cfg.max_session_timeout_ms);
    let mut h = Harness::new(cfg);
    for (timeout, ok) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
        let mut req = join_req("", "c");
        req.session_timeout_ms = timeout;
        let id = h.send(GroupRequest::Join(req));
        let err = h.join(id).error;
        if ok {
            assert_eq!(err, ErrorCode::MemberIdRequired, "timeout {timeout}");
        } else {
            assert_eq!(err, ErrorCode::InvalidSessionTimeout, "timeout {timeout}");
        }
    }
}

#[test]
fn protocol_type_must_match() {
    let mut h = Harness::new(no_delay());
    h.stable_group(1);
    let mut req = join_req("", "c");
    req.protocol_type = "connect".into();
    let id = h.send(GroupRequest::Join(req));
    assert_eq!(h.join(id).error, ErrorCode::InconsistentGroupProtocol);
}

#[test]
fn a_common_protocol_is_required() {
    let mut h = Harness::new(no_delay());
    h.stable_group(1);
    let mut req = join_req("", "c");
    req.protocols = vec![("roundrobin".into(), subscription(&["t"]))];
    let id = h.send(GroupRequest::Join(req));
    assert_eq!(h.join(id).error, ErrorCode::InconsistentGroupProtocol);
}

#[test]
fn empty_protocol_list_is_inconsistent() {
    let mut h = Harness::new(no_delay());
    let mut req = join_req("", "c");
    req.protocols.clear();
    let id = h.send(GroupRequest::Join(req));
    assert_eq!(h.join(id).error, ErrorCode::InconsistentGroupProtocol);
    assert_eq!(
        h.c.group_state(GROUP),
        None,
        "a rejected join leaves no group behind"
    );
}

#[test]
fn protocol_is_chosen_by_vote() {
    let mut h = Harness::new(GroupConfig::default());
    let prefs = [
        vec!["range", "sticky"],
        vec!["sticky", "range"],
        vec!["sticky", "range", "roundrobin"],
    ];
    let mut ids = Vec::new();
    for (i, p) in prefs.iter().enumerate() {
        let mut req = join_req("", &format!("c{i}"));
        req.require_known_member_id = false;
        req.protocols = p
            .iter()
            .map(|n| (n.to_string(), subscription(&["t"])))
            .collect();
        ids.push(h.send(GroupRequest::Join(req)));
    }
    h.finish_join();
    for id in ids {
        assert_eq!(h.join(id).protocol_name.as_deref(), Some("sticky"));
    }
}

#[test]
fn leader_is_first_joined_and_alone_gets_members() {
    let mut h = Harness::new(GroupConfig::default());
    let (a, ja) = h.start_join("a");
    let (b, jb) = h.start_join("b");
    h.finish_join();
    let ra = h.join(ja);
    let rb = h.join(jb);
    assert_eq!(ra.leader, a);
    assert_eq!(rb.leader, a);
    assert_eq!(ra.members.len(), 2);
    assert!(rb.members.is_empty());
    assert_eq!(ra.generation_id, rb.generation_id);
    assert_ne!(a, b);
}

#[test]
fn initial_delay_waits_and_extends_up_to_rebalance_timeout() {
    let cfg = GroupConfig {
        initial_rebalance_delay_ms: 3_000,
        ..GroupConfig::default()
    };
    let mut h = Harness::new(cfg);
    let (_, j1) = h.start_join("a");
    h.advance(2_999);
    assert!(!h.answered(j1), "the first rebalance waits for the delay");
    let (_, j2) = h.start_join("b");
    h.advance(1);
    assert!(!h.answered(j1), "a new member extends the delay");
    h.advance(2_999);
    assert!(!h.answered(j1));
    h.advance(1);
    assert!(h.answered(j1) && h.answered(j2));
    assert_eq!(h.join(j1).generation_id, 1);
}

#[test]
fn initial_delay_is_capped_by_rebalance_timeout() {
    let cfg = GroupConfig {
        initial_rebalance_delay_ms: 3_000,
        ..GroupConfig::default()
    };
    let mut h = Harness::new(cfg);
    let mut req = join_req("", "a");
    req.require_known_member_id = false;
    req.rebalance_timeout_ms = 5_000;
    let j1 = h.send(GroupRequest::Join(req.clone()));
    let start = h.now;
    // A new member every second keeps extending, but never past the rebalance timeout.
    for i in 0..10 {
        h.advance(1_000);
        if h.answered(j1) {
            break;
        }
        let mut r = req.clone();
        r.client_id = format!("n{i}");
        h.send(GroupRequest::Join(r));
    }
    assert!(h.answered(j1));
    assert!(
        h.now - start <= 6_000,
        "completed after {} ms",
        h.now - start
    );
}

#[test]
fn members_that_do_not_rejoin_are_removed() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(3);
    // The leader rejoins, starting a rebalance; one follower rejoins, the other stays silent.
    let j0 = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    assert_eq!(
        h.heartbeat(&members[1], generation),
        ErrorCode::RebalanceInProgress
    );
    let j1 = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    assert!(!h.answered(j0));
    h.finish_join();
    let r0 = h.join(j0);
    assert_eq!(r0.generation_id, generation + 1);
    assert_eq!(r0.members.len(), 2);
    assert_eq!(h.join(j1).error, ErrorCode::None);
    assert_eq!(
        h.heartbeat(&members[2], generation),
        ErrorCode::UnknownMemberId
    );
}

#[test]
fn follower_rejoin_without_change_in_stable_keeps_generation() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    let id = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    let r = h.join(id);
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(r.generation_id, generation);
    assert!(r.members.is_empty());
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::Stable));
}

#[test]
fn leader_rejoin_in_stable_triggers_rebalance() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    let id = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    assert!(!h.answered(id));
    assert_eq!(h.c.group_state(GROUP), Some(GroupState::PreparingRebalance));
    let id2 = h.send(GroupRequest::Join(join_req(&members[1], "c")));
    assert_eq!(h.join(id).generation_id, generation + 1);
    assert_eq!(h.join(id2).generation_id, generation + 1);
}

#[test]
fn duplicate_join_answers_the_abandoned_one() {
    let mut h = Harness::new(no_delay());
    let (members, _) = h.stable_group(2);
    let first = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    let second = h.send(GroupRequest::Join(join_req(&members[0], "c")));
    assert_eq!(h.join(first).error, ErrorCode::RebalanceInProgress);
    assert!(!h.answered(second));
    h.finish_join();
    assert_eq!(h.join(second).error, ErrorCode::None);
}

#[test]
fn group_size_limit_at_and_past() {
    let cfg = GroupConfig {
        max_group_size: 2,
        ..no_delay()
    };
    let mut h = Harness::new(cfg);
    let first = h.send(GroupRequest::Join(join_req("", "a")));
    assert_eq!(h.join(first).error, ErrorCode::MemberIdRequired);
    let second = h.send(GroupRequest::Join(join_req("", "b")));
    assert_eq!(
        h.join(second).error,
        ErrorCode::MemberIdRequired,
        "at the limit"
    );
    let third = h.send(GroupRequest::Join(join_req("", "c")));
    assert_eq!(
        h.join(third).error,
        ErrorCode::GroupMaxSizeReached,
        "past the limit"
    );
}
