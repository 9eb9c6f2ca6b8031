//! Rebuilding from persisted records reproduces groups, static members and offsets.

use super::*;

fn replayed(h: &Harness) -> Harness {
    let mut fresh = Harness::new(h.c.config().clone());
    fresh.now = h.now;
    for r in &h.persisted {
        // Through the codec, as the driver would read them back.
        let (k, v) = r.encode();
        let decoded = GroupRecord::decode(&k, v.as_deref()).expect("decodes");
        fresh.c.replay(&decoded);
    }
    fresh
}

#[test]
fn offsets_and_group_survive_restart() {
    let mut h = Harness::new(no_delay());
    let (members, generation) = h.stable_group(2);
    let req = OffsetCommit {
        api_version: 9,
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: members[0].clone(),
        group_instance_id: None,
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition: 2,
                committed_offset: 42,
                committed_leader_epoch: 1,
                committed_metadata: Some("md".into()),
            }],
        }],
    };
    h.send(GroupRequest::OffsetCommit(req));
    let mut r = replayed(&h);
    assert_eq!(
        r.c.next_deadline(),
        Some(i64::MIN),
        "loaded members need arming"
    );
    assert_eq!(r.c.group_state(GROUP), Some(GroupState::Stable));
    assert_eq!(r.c.generation(GROUP), Some(generation));
    let id = r.send(GroupRequest::OffsetFetch(OffsetFetch {
        member_id: None,
        member_epoch: -1,
        group_id: GROUP.into(),
        topics: None,
        require_stable: false,
    }));
    let GroupResponse::OffsetFetch(f) = r.response(id) else {
        panic!()
    };
    assert_eq!(f.topics[0].1[0].committed_offset, 42);
    assert_eq!(f.topics[0].1[0].metadata.as_deref(), Some("md"));
    // Members get a full session from the restart, then must heartbeat.
    r.run_for(i64::from(SESSION_MS) - 1);
    assert_eq!(r.heartbeat(&members[1], generation), ErrorCode::None);
    let s = r.send(GroupRequest::Sync(sync_req(
        &members[1],
        generation,
        Vec::new(),
    )));
    assert_eq!(
        r.sync(s).assignment,
        Bytes::from(format!("a-{}", members[1]))
    );
    r.run_for(i64::from(SESSION_MS));
    // Member 0 stayed silent: evicted; member 1 is told to rejoin.
    assert_eq!(
        r.heartbeat(&members[0], generation),
        ErrorCode::UnknownMemberId
    );
}

#[test]
fn static_member_survives_restart_and_rejoins_without_rebalance() {
    let mut h = Harness::new(GroupConfig::default());
    let j = h.send(GroupRequest::Join(JoinGroup {
        group_instance_id: Some("inst".into()),
        ..join_req("", "c")
    }));
    h.finish_join();
    let r = h.join(j);
    let s = h.send(GroupRequest::Sync(sync_req(
        &r.member_id,
        r.generation_id,
        vec![(r.member_id.clone(), Bytes::from_static(b"A"))],
    )));
    assert_eq!(h.sync(s).error, ErrorCode::None);
    let mut re = replayed(&h);
    let j = re.send(GroupRequest::Join(JoinGroup {
        group_instance_id: Some("inst".into()),
        ..join_req("", "c")
    }));
    let again = re.join(j);
    assert_eq!(again.error, ErrorCode::None);
    assert_eq!(
        again.generation_id, r.generation_id,
        "no rebalance after restart"
    );
    assert_ne!(again.member_id, r.member_id);
}

#[test]
fn tombstones_replay_to_nothing() {
    let mut h = Harness::new(no_delay());
    let req = OffsetCommit {
        api_version: 9,
        group_id: "s".into(),
        generation_id: -1,
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition: 0,
                committed_offset: 1,
                ..Default::default()
            }],
        }],
        ..OffsetCommit::default()
    };
    h.send(GroupRequest::OffsetCommit(req));
    h.send(GroupRequest::Delete(DeleteGroups {
        group_ids: vec!["s".into()],
    }));
    let r = replayed(&h);
    assert_eq!(r.c.group_state("s"), None);
    assert_eq!(r.c.next_deadline(), None);
}
