//! Metadata (key 3): brokers, controller, topics with partitions, leaders and leader epochs.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{Reply, RequestContext};
use crate::broker::Broker;
use crate::error::topic_error;
use crate::metadata::{names, TopicMeta};
use crate::types::TopicPartition;

/// Kafka's value for "authorized operations not requested".
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

pub async fn handle(ctx: RequestContext, req: MetadataRequest) -> Reply {
    let broker = &ctx.broker;
    let v = ctx.version();
    // Before v4 there was no flag: requesting a topic implied creating it when the broker allows.
    let allow_auto_create = v < 4 || req.allow_auto_topic_creation;
    let all_topics = match &req.topics {
        None => true,
        Some(t) => v == 0 && t.is_empty(),
    };

    let topics = if all_topics {
        let cluster = broker.cluster();
        cluster
            .topics
            .values()
            .map(|t| describe_topic(broker, t, v))
            .collect()
    } else {
        let mut out = Vec::new();
        for t in req.topics.unwrap_or_default() {
            // As Kafka: a non-zero topic id is a lookup by id, whatever the name says (the Java
            // consumer sends an empty name with the ids of its assigned topics, KIP-848).
            out.push(match t.name {
                Some(name) if t.topic_id.is_nil() => {
                    by_name(broker, name.0.as_str(), allow_auto_create, v)
                }
                _ => by_id(broker, t.topic_id, v),
            });
        }
        out
    };

    let (host, port) = broker.with_config(|c| (c.advertised_host.clone(), c.advertised_port));
    let node = BrokerId(broker.node_id());
    let resp = MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(StrBytes::from_string(host))
            .with_port(port as i32)])
        // cluster_id exists from v2, controller_id from v1.
        .with_cluster_id((v >= 2).then(|| StrBytes::from_string(broker.cluster_id())))
        .with_controller_id(if v >= 1 { node } else { BrokerId(-1) })
        .with_topics(topics)
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
    ctx.reply(&resp)
}

fn by_name(broker: &Broker, name: &str, allow_auto_create: bool, v: i16) -> MetadataResponseTopic {
    let error = |e: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
            .with_error_code(e.code())
            .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
    };
    if names::validate(name).is_err() {
        return error(ResponseError::InvalidTopicException);
    }
    let found = if allow_auto_create {
        broker.get_or_auto_create(name)
    } else {
        Ok(broker.topic(name))
    };
    match found {
        Ok(Some(t)) => describe_topic(broker, &t, v),
        Ok(None) => error(ResponseError::UnknownTopicOrPartition),
        Err(e) => error(topic_error(&e)),
    }
}

fn by_id(broker: &Broker, id: Uuid, v: i16) -> MetadataResponseTopic {
    let found = broker.cluster().topic_by_id(id).cloned();
    match found {
        Some(t) => describe_topic(broker, &t, v),
        None => MetadataResponseTopic::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code())
            .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED),
    }
}

/// Fields newer than `v` are left at their defaults: the encoder refuses anything else.
pub fn describe_topic(broker: &Broker, t: &TopicMeta, v: i16) -> MetadataResponseTopic {
    let node = BrokerId(broker.node_id());
    let partitions = (0..t.partition_count())
        .map(|p| {
            let epoch = broker
                .partition(&TopicPartition::new(t.name.clone(), p))
                .map(|part| part.leader_epoch())
                .unwrap_or(-1);
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(if v >= 7 { epoch } else { -1 })
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
        .with_topic_id(if v >= 10 { t.id } else { Uuid::nil() })
        .with_is_internal(v >= 1 && names::is_internal(&t.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}
