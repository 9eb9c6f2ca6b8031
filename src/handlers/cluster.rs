//! DescribeCluster (60) and DescribeLogDirs (35).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use super::{Reply, RequestContext};
use crate::types::TopicPartition;

/// DescribeCluster's endpoint type for brokers (KIP-919); 2 asks for controllers.
const BROKERS: i8 = 1;

/// What Kafka without an authorizer reports a client may do on the cluster resource: CREATE,
/// ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (the bits
/// are AclOperation codes).
const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

pub async fn describe_cluster(ctx: RequestContext, req: DescribeClusterRequest) -> Reply {
    let broker = &ctx.broker;
    let mut resp = DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(StrBytes::from_string(broker.cluster_id()))
        .with_controller_id(BrokerId(broker.node_id()))
        .with_cluster_authorized_operations(if req.include_cluster_authorized_operations {
            CLUSTER_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        });
    if ctx.version() >= 1 && req.endpoint_type != BROKERS {
        resp.error_code = ResponseError::UnsupportedEndpointType.code();
        resp.error_message = Some(StrBytes::from_static_str(
            "This broker does not expose controller endpoints",
        ));
        return ctx.reply(&resp);
    }
    let (host, port) = broker.with_config(|c| (c.advertised_host.clone(), c.advertised_port));
    resp.brokers = vec![DescribeClusterBroker::default()
        .with_broker_id(BrokerId(broker.node_id()))
        .with_host(StrBytes::from_string(host))
        .with_port(port as i32)];
    ctx.reply(&resp)
}

pub async fn describe_log_dirs(ctx: RequestContext, req: DescribeLogDirsRequest) -> Reply {
    let broker = &ctx.broker;
    let wanted: Option<Vec<TopicPartition>> = req.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.topic.0.to_string(), *p))
            })
            .collect()
    });
    let parts = match wanted {
        None => broker.all_partitions(),
        Some(list) => list.iter().filter_map(|tp| broker.partition(tp)).collect(),
    };
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in parts {
        by_topic.entry(p.tp.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(p.tp.partition.0)
                .with_partition_size(p.log.size_bytes() as i64)
                .with_offset_lag(0),
        );
    }
    let dir = broker.with_config(|c| c.data_dir.clone());
    let (total, usable) = crate::broker::disk_space(&dir);
    let absolute = std::fs::canonicalize(&dir).unwrap_or(dir);
    let result = DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(absolute.display().to_string()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(name, partitions)| {
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
        .with_total_bytes(total)
        .with_usable_bytes(usable);
    ctx.reply(&DescribeLogDirsResponse::default().with_results(vec![result]))
}
