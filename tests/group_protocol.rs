//! The classic group protocol over real sockets: every group API at every advertised version,
//! a whole membership lifecycle, and committed offsets and members surviving a restart.

mod common;

use bytes::Bytes;
use common::{call, versions, RawClient, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata::network::NetworkLimits;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn topic(b: &TestBroker, name: &str, partitions: i32) {
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create topic");
}

fn join_request(group: &str, member: &str, v: i16) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(if v >= 1 { 10_000 } else { 0 })
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
        )
        .with_name(s("range"))
        .with_metadata(Bytes::from_static(b"\x00\x01"))])
}

/// Joins as the only member; returns (member id, generation).
async fn join_alone(c: &mut RawClient, group: &str, v: i16) -> (String, i32) {
    let mut r: JoinGroupResponse = call(c, ApiKey::JoinGroup, v, &join_request(group, "", v)).await;
    if v >= 4 {
        // KIP-394: the first join only hands out a member id.
        assert_eq!(r.error_code, 79, "v{v}: MEMBER_ID_REQUIRED expected");
        let id = r.member_id.to_string();
        r = call(c, ApiKey::JoinGroup, v, &join_request(group, &id, v)).await;
    }
    assert_eq!(r.error_code, 0, "v{v}: join failed");
    assert_eq!(r.leader, r.member_id, "v{v}: the only member leads");
    assert_eq!(r.members.len(), 1);
    (r.member_id.to_string(), r.generation_id)
}

#[tokio::test]
async fn every_group_api_every_version_answers_a_whole_lifecycle() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    topic(&b, "t", 2).await;
    let mut c = RawClient::connect(b.addr).await;

    for v in versions(ApiKey::FindCoordinator) {
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g"), s("h")])
        } else {
            FindCoordinatorRequest::default().with_key(s("g"))
        };
        let r: FindCoordinatorResponse = call(&mut c, ApiKey::FindCoordinator, v, &req).await;
        if v >= 4 {
            assert_eq!(r.coordinators.len(), 2);
            assert!(r
                .coordinators
                .iter()
                .all(|x| x.error_code == 0 && x.port > 0));
        } else {
            assert_eq!((r.error_code, r.port), (0, i32::from(b.addr.port())));
        }
        if v >= 1 {
            let bad = if v >= 4 {
                FindCoordinatorRequest::default()
                    .with_key_type(9)
                    .with_coordinator_keys(vec![s("g")])
            } else {
                FindCoordinatorRequest::default()
                    .with_key(s("g"))
                    .with_key_type(9)
            };
            let r: FindCoordinatorResponse = call(&mut c, ApiKey::FindCoordinator, v, &bad).await;
            let e = if v >= 4 {
                r.coordinators[0].error_code
            } else {
                r.error_code
            };
            assert_eq!(e, 42, "v{v}: unknown key type is INVALID_REQUEST");
        }
    }

    // One group per JoinGroup version, each walked through its whole life with the other APIs
    // at versions cycling through their ranges.
    let cycle = |key: ApiKey, i: i16| {
        let r = versions(key);
        r.start() + i % (r.end() - r.start() + 1)
    };
    for (i, v) in versions(ApiKey::JoinGroup).enumerate() {
        let i = i as i16;
        let group = format!("g{v}");
        let (member, generation) = join_alone(&mut c, &group, v).await;

        let sv = cycle(ApiKey::SyncGroup, i);
        let mut sync = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id(generation)
            .with_member_id(s(&member))
            .with_assignments(vec![
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s(&member))
                    .with_assignment(Bytes::from_static(b"assigned")),
            ]);
        if sv >= 5 {
            sync = sync
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")));
        }
        let r: SyncGroupResponse = call(&mut c, ApiKey::SyncGroup, sv, &sync).await;
        assert_eq!(r.error_code, 0, "sync v{sv}");
        assert_eq!(&r.assignment[..], b"assigned");

        let hv = cycle(ApiKey::Heartbeat, i);
        let hb = HeartbeatRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id(generation)
            .with_member_id(s(&member));
        let r: HeartbeatResponse = call(&mut c, ApiKey::Heartbeat, hv, &hb).await;
        assert_eq!(r.error_code, 0, "heartbeat v{hv}");
        let stale = hb.clone().with_generation_id(generation + 5);
        let r: HeartbeatResponse = call(&mut c, ApiKey::Heartbeat, hv, &stale).await;
        assert_eq!(r.error_code, 22, "heartbeat v{hv}: ILLEGAL_GENERATION");

        let cv = cycle(ApiKey::OffsetCommit, i);
        let commit = OffsetCommitRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(s(&member))
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(1)
                            .with_committed_offset(42)
                            .with_committed_metadata(Some(s("meta"))),
                    ]),
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("missing")))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ]);
        let r: OffsetCommitResponse = call(&mut c, ApiKey::OffsetCommit, cv, &commit).await;
        let codes: Vec<i16> = r
            .topics
            .iter()
            .map(|t| t.partitions[0].error_code)
            .collect();
        assert_eq!(
            codes,
            vec![0, 3],
            "commit v{cv}: ok, then UNKNOWN_TOPIC_OR_PARTITION"
        );

        let fv = cycle(ApiKey::OffsetFetch, i);
        let r: OffsetFetchResponse = if fv >= 8 {
            let req = OffsetFetchRequest::default().with_groups(vec![
                offset_fetch_request::OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s(&group)))
                    .with_topics(None),
            ]);
            call(&mut c, ApiKey::OffsetFetch, fv, &req).await
        } else {
            let req = OffsetFetchRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partition_indexes(vec![0, 1]),
                ]));
            call(&mut c, ApiKey::OffsetFetch, fv, &req).await
        };
        let committed: Vec<(i32, i64, Option<String>)> = if fv >= 8 {
            r.groups[0].topics[0]
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.committed_offset,
                        p.metadata.as_ref().map(|m| m.to_string()),
                    )
                })
                .collect()
        } else {
            r.topics[0]
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        p.committed_offset,
                        p.metadata.as_ref().map(|m| m.to_string()),
                    )
                })
                .filter(|p| p.1 >= 0)
                .collect()
        };
        assert_eq!(
            committed,
            vec![(1, 42, Some("meta".to_string()))],
            "fetch v{fv}"
        );

        let dv = cycle(ApiKey::DescribeGroups, i);
        let req = DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(s(&group)), GroupId(s("nobody"))])
            .with_include_authorized_operations(dv >= 3);
        let r: DescribeGroupsResponse = call(&mut c, ApiKey::DescribeGroups, dv, &req).await;
        assert_eq!(r.groups[0].group_state.as_str(), "Stable", "describe v{dv}");
        assert_eq!(r.groups[0].members.len(), 1);
        assert_eq!(r.groups[0].members[0].client_host.as_str(), "/127.0.0.1");
        let unknown = &r.groups[1];
        if dv >= 6 {
            assert_eq!(unknown.error_code, 69, "describe v{dv}: GROUP_ID_NOT_FOUND");
        } else {
            assert_eq!(
                (unknown.error_code, unknown.group_state.as_str()),
                (0, "Dead")
            );
        }

        let lv = cycle(ApiKey::ListGroups, i);
        let mut req = ListGroupsRequest::default();
        if lv >= 4 {
            req = req.with_states_filter(vec![s("stable")]);
        }
        let r: ListGroupsResponse = call(&mut c, ApiKey::ListGroups, lv, &req).await;
        assert!(
            r.groups.iter().any(|g| g.group_id.as_str() == group),
            "list v{lv}"
        );

        let delv = cycle(ApiKey::DeleteGroups, i);
        let del = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(&group))]);
        let r: DeleteGroupsResponse = call(&mut c, ApiKey::DeleteGroups, delv, &del).await;
        assert_eq!(
            r.results[0].error_code, 68,
            "delete v{delv}: NON_EMPTY_GROUP"
        );

        let lev = cycle(ApiKey::LeaveGroup, i);
        let leave = if lev >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(s(&member))
                ])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_member_id(s(&member))
        };
        let r: LeaveGroupResponse = call(&mut c, ApiKey::LeaveGroup, lev, &leave).await;
        assert_eq!(r.error_code, 0, "leave v{lev}");
        let r: LeaveGroupResponse = call(&mut c, ApiKey::LeaveGroup, lev, &leave).await;
        let again = if lev >= 3 {
            r.members[0].error_code
        } else {
            r.error_code
        };
        assert_eq!(again, 25, "leave v{lev} twice: UNKNOWN_MEMBER_ID");

        let od = OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_topics(vec![
                offset_delete_request::OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        offset_delete_request::OffsetDeleteRequestPartition::default()
                            .with_partition_index(1),
                    ]),
            ]);
        let r: OffsetDeleteResponse = call(&mut c, ApiKey::OffsetDelete, 0, &od).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.topics[0].partitions[0].error_code, 0);

        let r: DeleteGroupsResponse = call(&mut c, ApiKey::DeleteGroups, delv, &del).await;
        assert_eq!(
            r.results[0].error_code, 0,
            "delete v{delv} of the emptied group"
        );
        let r: DeleteGroupsResponse = call(&mut c, ApiKey::DeleteGroups, delv, &del).await;
        assert_eq!(
            r.results[0].error_code, 69,
            "delete v{delv} again: GROUP_ID_NOT_FOUND"
        );
    }
}

fn commit_one(group: &str, partition: i32, offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(partition)
                        .with_committed_offset(offset)
                        .with_committed_metadata(Some(s(&format!("m{offset}")))),
                ]),
        ])
}

async fn fetch_all(c: &mut RawClient, group: &str) -> Vec<(i32, i64, String)> {
    let req = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(None),
    ]);
    let r: OffsetFetchResponse = call(c, ApiKey::OffsetFetch, 9, &req).await;
    let mut out: Vec<(i32, i64, String)> = r.groups[0]
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn committed_offsets_and_members_survive_a_restart() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    topic(&b, "t", 3).await;
    let mut c = RawClient::connect(b.addr).await;
    for (p, o) in [(0, 5), (1, 7), (2, 9), (1, 11)] {
        let r: OffsetCommitResponse =
            call(&mut c, ApiKey::OffsetCommit, 9, &commit_one("simple", p, o)).await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
    }
    let (member, generation) = join_alone(&mut c, "managed", 9).await;
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("managed")))
        .with_generation_id(generation)
        .with_member_id(s(&member))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(vec![
            sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(&member))
                .with_assignment(Bytes::from_static(b"a")),
        ]);
    let r: SyncGroupResponse = call(&mut c, ApiKey::SyncGroup, 5, &sync).await;
    assert_eq!(r.error_code, 0);
    let before = fetch_all(&mut c, "simple").await;
    assert_eq!(
        before,
        vec![
            (0, 5, "m5".into()),
            (1, 11, "m11".into()),
            (2, 9, "m9".into())
        ]
    );

    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    assert_eq!(fetch_all(&mut c, "simple").await, before);
    // The member is still known after the restart: its heartbeat at its generation is accepted.
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("managed")))
        .with_generation_id(generation)
        .with_member_id(s(&member));
    let r: HeartbeatResponse = call(&mut c, ApiKey::Heartbeat, 4, &hb).await;
    assert_eq!(r.error_code, 0);
}

/// One client as a consumer's coordinator thread behaves: join (with the member id handed out),
/// sync (the leader assigns everyone), then heartbeat, rejoining whenever a rebalance starts,
/// until the group is Stable with `expected` members. Returns its member id.
async fn member_life(addr: std::net::SocketAddr, group: String, expected: usize) -> String {
    let mut c = RawClient::connect(addr).await;
    let mut member = String::new();
    'join: loop {
        let r: JoinGroupResponse = call(
            &mut c,
            ApiKey::JoinGroup,
            9,
            &join_request(&group, &member, 9),
        )
        .await;
        match r.error_code {
            79 => {
                member = r.member_id.to_string();
                continue;
            }
            0 => {}
            e => panic!("join error {e}"),
        }
        let leader = r.leader == r.member_id;
        let assignments = r
            .members
            .iter()
            .map(|m| {
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(m.member_id.clone())
                    .with_assignment(Bytes::from(m.member_id.to_string().into_bytes()))
            })
            .collect();
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id(r.generation_id)
            .with_member_id(s(&member))
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
            .with_assignments(if leader { assignments } else { Vec::new() });
        let sr: SyncGroupResponse = call(&mut c, ApiKey::SyncGroup, 5, &sync).await;
        match sr.error_code {
            0 => assert_eq!(&sr.assignment[..], member.as_bytes()),
            27 => continue,
            e => panic!("sync error {e}"),
        }
        loop {
            let hb = HeartbeatRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_generation_id(r.generation_id)
                .with_member_id(s(&member));
            let h: HeartbeatResponse = call(&mut c, ApiKey::Heartbeat, 4, &hb).await;
            match h.error_code {
                0 => {}
                27 => continue 'join,
                e => panic!("heartbeat error {e} for {member}"),
            }
            let d: DescribeGroupsResponse = call(
                &mut c,
                ApiKey::DescribeGroups,
                5,
                &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(&group))]),
            )
            .await;
            let g = &d.groups[0];
            if g.group_state.as_str() == "Stable" && g.members.len() == expected {
                return member;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn many_members_joining_at_once_all_land_in_one_generation() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let members = 24;
    let tasks: Vec<_> = (0..members)
        .map(|_| tokio::spawn(member_life(b.addr, "crowd".to_string(), members)))
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("member task"));
    }
    let mut c = RawClient::connect(b.addr).await;
    let d: DescribeGroupsResponse = call(
        &mut c,
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(s("crowd"))]),
    )
    .await;
    let group = &d.groups[0];
    assert_eq!(group.group_state.as_str(), "Stable");
    let mut described: Vec<String> = group
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    described.sort();
    ids.sort();
    assert_eq!(described, ids, "every member is in the group, once");
    for m in &group.members {
        assert_eq!(&m.member_assignment[..], m.member_id.as_bytes());
    }
}

#[tokio::test]
async fn members_joining_one_after_another_rebalance_until_all_are_in() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let members = 12;
    let tasks: Vec<_> = (0..members)
        .map(|i| {
            let addr = b.addr;
            tokio::spawn(async move {
                // Each arrival after the first starts a rebalance the others must rejoin.
                tokio::time::sleep(std::time::Duration::from_millis(30 * i as u64)).await;
                member_life(addr, "stream".to_string(), members).await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("member task"));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), members);
}

// Several workers, so that answers built in parallel could overtake one another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_commits_from_one_connection_apply_in_the_order_sent() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    topic(&b, "t", 3).await;
    let mut c = RawClient::connect(b.addr).await;
    // An asynchronous committer sends commit after commit without waiting: the last one sent
    // must be the one that stays, as on Apache Kafka.
    let mut frames = Vec::new();
    for (i, offset) in (1..=50).enumerate() {
        frames.extend_from_slice(&common::encode_request(
            ApiKey::OffsetCommit,
            9,
            100 + i as i32,
            &commit_one("async", 0, offset),
        ));
    }
    c.send_raw(&frames).await;
    for _ in 1..=50 {
        c.read_frame().await.expect("commit answered");
    }
    assert_eq!(
        fetch_all(&mut c, "async").await,
        vec![(0, 50, "m50".into())]
    );
}
