//! The KIP-848 consumer protocol over real sockets: both ConsumerGroupHeartbeat versions, two
//! members reconciling to a split, describe, and members, epochs, assignments and offsets
//! surviving a broker restart.

mod common;

use common::{call, versions, RawClient, TestBroker};
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata::network::NetworkLimits;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn topic(b: &TestBroker, name: &str, partitions: i32) {
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create topic");
}

/// A member as the Java consumer runs one: id, epoch, owned partitions.
struct Member {
    group: String,
    id: String,
    epoch: i32,
    owned: Vec<TopicPartitions>,
    topic: String,
}

impl Member {
    fn new(group: &str, id: &str, topic: &str) -> Self {
        Member {
            group: group.into(),
            id: id.into(),
            epoch: 0,
            owned: Vec::new(),
            topic: topic.into(),
        }
    }

    fn owned_count(&self) -> usize {
        self.owned.iter().map(|t| t.partitions.len()).sum()
    }

    async fn heartbeat(&mut self, c: &mut RawClient, v: i16) -> ConsumerGroupHeartbeatResponse {
        let mut req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_member_id(s(&self.id))
            .with_member_epoch(self.epoch)
            .with_rebalance_timeout_ms(-1)
            .with_topic_partitions(Some(self.owned.clone()));
        if self.epoch == 0 {
            req = req
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![TopicName(s(&self.topic))]));
        }
        let r: ConsumerGroupHeartbeatResponse =
            call(c, ApiKey::ConsumerGroupHeartbeat, v, &req).await;
        if r.error_code == 0 {
            if let Some(id) = &r.member_id {
                self.id = id.to_string();
            }
            self.epoch = r.member_epoch;
            if let Some(a) = &r.assignment {
                self.owned = a
                    .topic_partitions
                    .iter()
                    .map(|tp| {
                        TopicPartitions::default()
                            .with_topic_id(tp.topic_id)
                            .with_partitions(tp.partitions.clone())
                    })
                    .collect();
            }
        }
        r
    }
}

#[tokio::test]
async fn both_versions_join_split_and_describe() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    topic(&b, "t", 4);
    let mut c = RawClient::connect(b.addr).await;
    for v in versions(ApiKey::ConsumerGroupHeartbeat) {
        let group = format!("g-v{v}");
        // v0 lets the coordinator choose the id; v1 members bring their own.
        let first_id = if v == 0 { "" } else { "member-a" };
        let mut a = Member::new(&group, first_id, "t");
        let r = a.heartbeat(&mut c, v).await;
        assert_eq!(r.error_code, 0, "v{v}: {r:?}");
        assert!(!a.id.is_empty());
        assert_eq!((a.epoch, a.owned_count()), (1, 4), "v{v}");
        let mut m = Member::new(&group, "member-b", "t");
        // Heartbeat both until each owns two partitions (bounded).
        for _ in 0..10 {
            m.heartbeat(&mut c, v).await;
            a.heartbeat(&mut c, v).await;
            if a.owned_count() == 2 && m.owned_count() == 2 {
                break;
            }
        }
        assert_eq!((a.owned_count(), m.owned_count()), (2, 2), "v{v}");
        assert_eq!(a.epoch, 2);
        let d: ConsumerGroupDescribeResponse = call(
            &mut c,
            ApiKey::ConsumerGroupDescribe,
            1,
            &ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(&group))]),
        )
        .await;
        let g = &d.groups[0];
        assert_eq!(g.error_code, 0);
        assert_eq!(g.group_state.as_str(), "Stable");
        assert_eq!(g.members.len(), 2);
        assert!(g.members.iter().all(|m| m.member_type == 1
            && m.client_host.starts_with('/')
            && m.assignment.topic_partitions[0].topic_name.0.as_str() == "t"));
    }
}

#[tokio::test]
async fn members_epochs_and_offsets_survive_a_restart() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    topic(&b, "t", 2);
    let mut c = RawClient::connect(b.addr).await;
    let mut a = Member::new("durable", "member-a", "t");
    a.heartbeat(&mut c, 1).await;
    let mut m = Member::new("durable", "member-b", "t");
    for _ in 0..10 {
        m.heartbeat(&mut c, 1).await;
        a.heartbeat(&mut c, 1).await;
    }
    assert_eq!((a.owned_count(), m.owned_count()), (1, 1));
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("durable")))
        .with_generation_id_or_member_epoch(a.epoch)
        .with_member_id(s(&a.id))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(a.owned[0].partitions[0])
                        .with_committed_offset(42),
                ]),
        ]);
    let r: OffsetCommitResponse = call(&mut c, ApiKey::OffsetCommit, 9, &commit).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);

    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    // Both members carry on at their epochs with their partitions: no rebalance.
    let (ea, eb) = (a.epoch, m.epoch);
    let ra = a.heartbeat(&mut c, 1).await;
    let rb = m.heartbeat(&mut c, 1).await;
    assert_eq!((ra.error_code, rb.error_code), (0, 0));
    assert_eq!((a.epoch, m.epoch), (ea, eb));
    assert_eq!((a.owned_count(), m.owned_count()), (1, 1));
    let fetch = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("durable")))
            .with_member_id(Some(s(&a.id)))
            .with_member_epoch(a.epoch)
            .with_topics(None),
    ]);
    let r: OffsetFetchResponse = call(&mut c, ApiKey::OffsetFetch, 9, &fetch).await;
    assert_eq!(r.groups[0].error_code, 0);
    assert_eq!(r.groups[0].topics[0].partitions[0].committed_offset, 42);
}
