//! The admin APIs a single-node Kafka answers (ACLs, elections, reassignments, client quotas,
//! SCRAM credentials): every version answers, and quotas and credentials survive a restart.

mod common;

use bytes::Bytes;
use common::{call, versions, RawClient, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strata::network::NetworkLimits;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

#[tokio::test]
async fn every_admin_api_answers_at_every_version() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    for v in versions(ApiKey::DescribeAcls) {
        let r: DescribeAclsResponse = call(
            &mut c,
            ApiKey::DescribeAcls,
            v,
            &DescribeAclsRequest::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1),
        )
        .await;
        assert_eq!(r.error_code, 54, "SECURITY_DISABLED");
    }
    for v in versions(ApiKey::CreateAcls) {
        let r: CreateAclsResponse = call(
            &mut c,
            ApiKey::CreateAcls,
            v,
            &CreateAclsRequest::default().with_creations(vec![
                create_acls_request::AclCreation::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_resource_pattern_type(3)
                    .with_principal(s("User:a"))
                    .with_host(s("*"))
                    .with_operation(3)
                    .with_permission_type(3),
            ]),
        )
        .await;
        assert_eq!(r.results[0].error_code, 54);
    }
    for v in versions(ApiKey::DeleteAcls) {
        let r: DeleteAclsResponse = call(
            &mut c,
            ApiKey::DeleteAcls,
            v,
            &DeleteAclsRequest::default().with_filters(vec![
                delete_acls_request::DeleteAclsFilter::default()
                    .with_resource_type_filter(1)
                    .with_pattern_type_filter(1)
                    .with_operation(1)
                    .with_permission_type(1),
            ]),
        )
        .await;
        assert_eq!(r.filter_results[0].error_code, 54);
    }
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: "t".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create");
    for v in versions(ApiKey::ElectLeaders) {
        let r: ElectLeadersResponse = call(
            &mut c,
            ApiKey::ElectLeaders,
            v,
            &ElectLeadersRequest::default().with_topic_partitions(Some(vec![
                elect_leaders_request::TopicPartitions::default()
                    .with_topic(TopicName(s("t")))
                    .with_partitions(vec![0]),
            ])),
        )
        .await;
        assert_eq!(
            r.replica_election_results[0].partition_result[0].error_code,
            84
        );
    }
    for v in versions(ApiKey::AlterPartitionReassignments) {
        let r: AlterPartitionReassignmentsResponse = call(
            &mut c,
            ApiKey::AlterPartitionReassignments,
            v,
            &AlterPartitionReassignmentsRequest::default().with_topics(vec![
                alter_partition_reassignments_request::ReassignableTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(0)
                            .with_replicas(Some(vec![BrokerId(b.broker.node_id())])),
                    ]),
            ]),
        )
        .await;
        assert_eq!(r.responses[0].partitions[0].error_code, 0);
    }
    for v in versions(ApiKey::ListPartitionReassignments) {
        let r: ListPartitionReassignmentsResponse = call(
            &mut c,
            ApiKey::ListPartitionReassignments,
            v,
            &ListPartitionReassignmentsRequest::default(),
        )
        .await;
        assert!(r.topics.is_empty());
    }
    for v in versions(ApiKey::AlterClientQuotas) {
        let r: AlterClientQuotasResponse = call(
            &mut c,
            ApiKey::AlterClientQuotas,
            v,
            &alter_quota(&format!("u{v}"), 1000.0),
        )
        .await;
        assert_eq!(r.entries[0].error_code, 0);
    }
    for v in versions(ApiKey::DescribeClientQuotas) {
        let r: DescribeClientQuotasResponse = call(
            &mut c,
            ApiKey::DescribeClientQuotas,
            v,
            &DescribeClientQuotasRequest::default(),
        )
        .await;
        assert_eq!(r.entries.map(|e| e.len()), Some(2));
    }
    for v in versions(ApiKey::AlterUserScramCredentials) {
        let r: AlterUserScramCredentialsResponse = call(
            &mut c,
            ApiKey::AlterUserScramCredentials,
            v,
            &upsert("alice", 8192),
        )
        .await;
        assert_eq!(r.results[0].error_code, 0);
    }
    for v in versions(ApiKey::SaslHandshake) {
        let r: SaslHandshakeResponse = call(
            &mut c,
            ApiKey::SaslHandshake,
            v,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        )
        .await;
        assert_eq!(r.error_code, 34, "ILLEGAL_SASL_STATE");
    }
    for v in versions(ApiKey::SaslAuthenticate) {
        let r: SaslAuthenticateResponse = call(
            &mut c,
            ApiKey::SaslAuthenticate,
            v,
            &SaslAuthenticateRequest::default(),
        )
        .await;
        assert_eq!(r.error_code, 34);
    }
    for v in versions(ApiKey::CreateDelegationToken) {
        let r: CreateDelegationTokenResponse = call(
            &mut c,
            ApiKey::CreateDelegationToken,
            v,
            &CreateDelegationTokenRequest::default(),
        )
        .await;
        assert_eq!(r.error_code, 64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED");
    }
    for v in versions(ApiKey::RenewDelegationToken) {
        let r: RenewDelegationTokenResponse = call(
            &mut c,
            ApiKey::RenewDelegationToken,
            v,
            &RenewDelegationTokenRequest::default(),
        )
        .await;
        assert_eq!(r.error_code, 64);
    }
    for v in versions(ApiKey::ExpireDelegationToken) {
        let r: ExpireDelegationTokenResponse = call(
            &mut c,
            ApiKey::ExpireDelegationToken,
            v,
            &ExpireDelegationTokenRequest::default(),
        )
        .await;
        assert_eq!(r.error_code, 64);
    }
    for v in versions(ApiKey::DescribeDelegationToken) {
        let r: DescribeDelegationTokenResponse = call(
            &mut c,
            ApiKey::DescribeDelegationToken,
            v,
            &DescribeDelegationTokenRequest::default(),
        )
        .await;
        assert_eq!(r.error_code, 64);
    }
    for v in versions(ApiKey::DescribeUserScramCredentials) {
        let r: DescribeUserScramCredentialsResponse = call(
            &mut c,
            ApiKey::DescribeUserScramCredentials,
            v,
            &DescribeUserScramCredentialsRequest::default(),
        )
        .await;
        assert_eq!(r.results.len(), 1);
    }
}

fn alter_quota(user: &str, rate: f64) -> AlterClientQuotasRequest {
    AlterClientQuotasRequest::default().with_entries(vec![
        alter_client_quotas_request::EntryData::default()
            .with_entity(vec![alter_client_quotas_request::EntityData::default()
                .with_entity_type(s("user"))
                .with_entity_name(Some(s(user)))])
            .with_ops(vec![alter_client_quotas_request::OpData::default()
                .with_key(s("producer_byte_rate"))
                .with_value(rate)]),
    ])
}

fn upsert(user: &str, iterations: i32) -> AlterUserScramCredentialsRequest {
    AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
            .with_name(s(user))
            .with_mechanism(2)
            .with_iterations(iterations)
            .with_salt(Bytes::from_static(b"salt"))
            .with_salted_password(Bytes::from(vec![3u8; 64])),
    ])
}

#[tokio::test]
async fn quotas_and_credentials_survive_a_restart() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    let r: AlterClientQuotasResponse = call(
        &mut c,
        ApiKey::AlterClientQuotas,
        1,
        &alter_quota("bob", 2048.0),
    )
    .await;
    assert_eq!(r.entries[0].error_code, 0);
    let r: AlterUserScramCredentialsResponse = call(
        &mut c,
        ApiKey::AlterUserScramCredentials,
        0,
        &upsert("bob", 10_000),
    )
    .await;
    assert_eq!(r.results[0].error_code, 0);
    drop(c);
    let dir = b.stop().await;

    let b = TestBroker::start_in(dir, NetworkLimits::default()).await;
    let mut c = RawClient::connect(b.addr).await;
    let r: DescribeClientQuotasResponse = call(
        &mut c,
        ApiKey::DescribeClientQuotas,
        1,
        &DescribeClientQuotasRequest::default(),
    )
    .await;
    let entries = r.entries.expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entity[0].entity_name.as_deref(), Some("bob"));
    assert_eq!(entries[0].values[0].key.as_str(), "producer_byte_rate");
    assert_eq!(entries[0].values[0].value, 2048.0);
    let r: DescribeUserScramCredentialsResponse = call(
        &mut c,
        ApiKey::DescribeUserScramCredentials,
        0,
        &DescribeUserScramCredentialsRequest::default(),
    )
    .await;
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].user.as_str(), "bob");
    let infos: Vec<(i8, i32)> = r.results[0]
        .credential_infos
        .iter()
        .map(|i| (i.mechanism, i.iterations))
        .collect();
    assert_eq!(infos, vec![(2, 10_000)]);
}
