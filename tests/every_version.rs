//! Every routed API at every advertised version, on success and error paths, gets a response
//! that decodes in that version (a response field set outside its version would make the encoder
//! fail and the connection close).

mod common;

use common::{batch, call, produce_request, topic_name as name, versions, RawClient, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata::network::NetworkLimits;

#[tokio::test]
async fn every_api_every_version_answers() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    let meta = b
        .broker
        .create_topic(&strata::broker::NewTopic {
            name: "t".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create");

    for v in versions(ApiKey::ApiVersions) {
        let r: ApiVersionsResponse = call(
            &mut c,
            ApiKey::ApiVersions,
            v,
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("t"))
                .with_client_software_version(StrBytes::from_static_str("1")),
        )
        .await;
        assert_eq!(r.error_code, 0);
    }
    for v in versions(ApiKey::Metadata) {
        let topics = if v >= 1 {
            Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(name("t")))
            ])
        } else {
            Some(vec![])
        };
        let _: MetadataResponse = call(
            &mut c,
            ApiKey::Metadata,
            v,
            &MetadataRequest::default().with_topics(topics),
        )
        .await;
        let missing = Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(name("bad name")))
        ]);
        let _: MetadataResponse = call(
            &mut c,
            ApiKey::Metadata,
            v,
            &MetadataRequest::default().with_topics(missing),
        )
        .await;
    }
    for v in 3..=*versions(ApiKey::Produce).end() {
        for topic in ["t", "missing"] {
            for records in [batch(2), bytes::Bytes::from_static(b"garbage")] {
                let req = produce_request(topic, 0, records);
                let r: ProduceResponse = call(&mut c, ApiKey::Produce, v, &req).await;
                assert_eq!(r.responses.len(), 1);
            }
        }
    }
    for v in versions(ApiKey::Fetch) {
        for (topic, offset) in [("t", 0i64), ("t", 999), ("missing", 0)] {
            let mut ft = fetch_request::FetchTopic::default().with_partitions(vec![
                fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20),
            ]);
            if v >= 13 {
                ft.topic_id = if topic == "t" {
                    meta.id
                } else {
                    uuid::Uuid::new_v4()
                };
            } else {
                ft.topic = name(topic);
            }
            let req = FetchRequest::default()
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_topics(vec![ft])
                .with_session_epoch(-1);
            let _: FetchResponse = call(&mut c, ApiKey::Fetch, v, &req).await;
        }
    }
    for v in versions(ApiKey::ListOffsets) {
        for ts in [-1i64, -2, -3, 0, 5_000] {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(ts),
                    ])]);
            let _: ListOffsetsResponse = call(&mut c, ApiKey::ListOffsets, v, &req).await;
        }
    }
    for v in versions(ApiKey::CreateTopics) {
        for topic in [format!("ct{v}"), format!("ct{v}"), "bad name".to_string()] {
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(name(&topic))
                    .with_num_partitions(1)
                    .with_replication_factor(1)]);
            let _: CreateTopicsResponse = call(&mut c, ApiKey::CreateTopics, v, &req).await;
        }
    }
    for v in versions(ApiKey::CreatePartitions) {
        for count in [3, 1] {
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(name(&format!("ct{}", 2 + v)))
                        .with_count(count),
                ]);
            let _: CreatePartitionsResponse = call(&mut c, ApiKey::CreatePartitions, v, &req).await;
        }
    }
    for v in versions(ApiKey::DeleteTopics) {
        for topic in [format!("ct{}", v + 1), "missing".to_string()] {
            let req = if v >= 6 {
                DeleteTopicsRequest::default()
                    .with_timeout_ms(5000)
                    .with_topics(vec![delete_topics_request::DeleteTopicState::default()
                        .with_name(Some(name(&topic)))])
            } else {
                DeleteTopicsRequest::default()
                    .with_timeout_ms(5000)
                    .with_topic_names(vec![name(&topic)])
            };
            let _: DeleteTopicsResponse = call(&mut c, ApiKey::DeleteTopics, v, &req).await;
        }
    }
    for v in versions(ApiKey::DeleteRecords) {
        for offset in [0i64, 1_000] {
            let req = DeleteRecordsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        delete_records_request::DeleteRecordsPartition::default()
                            .with_partition_index(0)
                            .with_offset(offset),
                    ])]);
            let _: DeleteRecordsResponse = call(&mut c, ApiKey::DeleteRecords, v, &req).await;
        }
    }
    for v in versions(ApiKey::InitProducerId) {
        let r: InitProducerIdResponse = call(
            &mut c,
            ApiKey::InitProducerId,
            v,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(1000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
        assert_eq!(r.error_code, 0);
    }
    for v in versions(ApiKey::OffsetForLeaderEpoch) {
        let req = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![
                        offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                            .with_partition(0)
                            .with_leader_epoch(0)
                            .with_current_leader_epoch(-1),
                    ]),
            ]);
        let _: OffsetForLeaderEpochResponse =
            call(&mut c, ApiKey::OffsetForLeaderEpoch, v, &req).await;
    }
    for v in versions(ApiKey::DescribeConfigs) {
        for (kind, res) in [(2i8, "t"), (4, "1"), (2, "missing"), (4, "")] {
            let req = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(kind)
                        .with_resource_name(StrBytes::from_string(res.to_string())),
                ]);
            let _: DescribeConfigsResponse = call(&mut c, ApiKey::DescribeConfigs, v, &req).await;
        }
    }
    for v in versions(ApiKey::AlterConfigs) {
        let req = AlterConfigsRequest::default().with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("t"))
                .with_configs(vec![alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("1000")))]),
        ]);
        let _: AlterConfigsResponse = call(&mut c, ApiKey::AlterConfigs, v, &req).await;
    }
    for v in versions(ApiKey::IncrementalAlterConfigs) {
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("t"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_static_str("2000"))),
                ]),
        ]);
        let _: IncrementalAlterConfigsResponse =
            call(&mut c, ApiKey::IncrementalAlterConfigs, v, &req).await;
    }
    for v in versions(ApiKey::DescribeCluster) {
        let _: DescribeClusterResponse = call(
            &mut c,
            ApiKey::DescribeCluster,
            v,
            &DescribeClusterRequest::default(),
        )
        .await;
    }
    for v in versions(ApiKey::DescribeLogDirs) {
        let _: DescribeLogDirsResponse = call(
            &mut c,
            ApiKey::DescribeLogDirs,
            v,
            &DescribeLogDirsRequest::default(),
        )
        .await;
    }
}

#[tokio::test]
async fn broker_config_changes_survive_a_restart() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str(""))
            .with_configs(vec![
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("log.retention.ms"))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_static_str("7200000"))),
            ]),
    ]);
    let r: IncrementalAlterConfigsResponse =
        call(&mut c, ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(r.responses[0].error_code, 0);
    let dir = b.stop().await;
    let b = TestBroker::start_in(dir, NetworkLimits::default()).await;
    let value = b.broker.with_config(|c| c.log_defaults.retention_ms);
    assert_eq!(value, 7_200_000);
}

#[tokio::test]
async fn directories_no_topic_owns_are_removed_at_start_up() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let dir = b.stop().await;
    let orphan = dir.path().join("gone-0");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("00000000000000000000.log"), b"old").unwrap();
    std::fs::write(orphan.join("recovery-point"), b"").unwrap();
    let foreign = dir.path().join("kafka-0");
    std::fs::create_dir_all(&foreign).unwrap();
    let unrelated = dir.path().join("notes");
    std::fs::create_dir_all(&unrelated).unwrap();
    let b = TestBroker::start_in(dir, NetworkLimits::default()).await;
    assert!(!b.dir.path().join("gone-0").exists());
    assert!(b.dir.path().join("notes").exists());
    assert!(
        b.dir.path().join("kafka-0").exists(),
        "directories Strata did not make are left alone"
    );
}
