//! CreateTopics (19), DeleteTopics (20), CreatePartitions (37).

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};
use crate::broker::NewTopic;
use crate::error::topic_error;

fn name_of(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub async fn create_topics(ctx: RequestContext, req: CreateTopicsRequest) -> Reply {
    let broker = &ctx.broker;
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.0.to_string()))
        .map(|t| t.name.0.to_string())
        .collect();
    let mut results = Vec::with_capacity(req.topics.len());
    let mut answered_duplicates = HashSet::new();
    for t in req.topics {
        let name = t.name.0.to_string();
        // Kafka answers a name given twice once, not once per occurrence.
        if duplicates.contains(&name) && !answered_duplicates.insert(name.clone()) {
            continue;
        }
        let result = CreatableTopicResult::default()
            .with_name(t.name.clone())
            .with_num_partitions(-1)
            .with_replication_factor(-1);
        if duplicates.contains(&name) {
            results.push(
                result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "Create topics request from client `{}` contains multiple entries for the following topics: {name}",
                        ctx.client_id
                    )))),
            );
            continue;
        }
        if !t.assignments.is_empty() && (t.num_partitions != -1 || t.replication_factor != -1) {
            results.push(result.with_error_code(ResponseError::InvalidRequest.code()).with_error_message(Some(
                StrBytes::from_static_str("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."),
            )));
            continue;
        }
        let node = broker.node_id();
        if t.assignments
            .iter()
            .any(|a| a.broker_ids.is_empty() || a.broker_ids.iter().any(|b| b.0 != node))
        {
            results.push(
                result
                    .with_error_code(ResponseError::InvalidReplicaAssignment.code())
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "Replica assignments may only name broker {node}"
                    )))),
            );
            continue;
        }
        let (partitions, rf) = if t.assignments.is_empty() {
            (t.num_partitions, t.replication_factor)
        } else {
            let rf = t
                .assignments
                .first()
                .map(|a| a.broker_ids.len() as i16)
                .unwrap_or(1);
            (t.assignments.len() as i32, rf)
        };
        let new = NewTopic {
            name: name.clone(),
            partitions,
            replication_factor: rf,
            configs: t
                .configs
                .iter()
                .filter_map(|c| {
                    c.value
                        .as_ref()
                        .map(|v| (c.name.to_string(), v.to_string()))
                })
                .collect(),
        };
        let outcome = if req.validate_only {
            broker.validate_new_topic(&new).map(|(_, p)| (p, None))
        } else {
            broker
                .create_topic(&new)
                .map(|m| (m.partition_count(), Some(m)))
        };
        results.push(match outcome {
            Ok((count, meta)) => {
                // num_partitions, replication_factor and configs exist from v5, topic_id from v7.
                // A success carries a null error message, as Kafka's does.
                let v = ctx.version();
                let result = result.with_error_message(None);
                let mut r = if v >= 5 {
                    result.with_num_partitions(count).with_replication_factor(1)
                } else {
                    result
                };
                if let Some(meta) = meta {
                    if v >= 7 {
                        r.topic_id = meta.id;
                    }
                    if v >= 5 {
                        let config = broker.config();
                        r.configs = Some(
                            meta.overrides
                                .describe(&config)
                                .into_iter()
                                .map(|e| {
                                    CreatableTopicConfigs::default()
                                        .with_name(StrBytes::from_string(e.name))
                                        .with_value(e.value.map(StrBytes::from_string))
                                        .with_read_only(e.read_only)
                                        .with_config_source(e.source as i8)
                                        .with_is_sensitive(e.sensitive)
                                })
                                .collect(),
                        );
                    }
                }
                r
            }
            Err(e) => result
                .with_error_code(topic_error(&e).code())
                .with_error_message(Some(StrBytes::from_string(e.to_string()))),
        });
    }
    ctx.reply(&CreateTopicsResponse::default().with_topics(results))
}

pub async fn delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> Reply {
    let broker = &ctx.broker;
    // Up to v5 topics come as names; from v6 as (name or id) pairs.
    let mut wanted: Vec<(Option<String>, uuid::Uuid)> = req
        .topic_names
        .iter()
        .map(|n| (Some(n.0.to_string()), uuid::Uuid::nil()))
        .collect();
    wanted.extend(
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)),
    );
    let mut results = Vec::with_capacity(wanted.len());
    let mut deleted = Vec::new();
    for (name, id) in wanted {
        let mut r = DeletableTopicResult::default()
            .with_name(name.as_deref().map(name_of))
            .with_topic_id(id);
        let resolved = match (&name, id.is_nil()) {
            (Some(n), _) => Some(n.clone()),
            (None, false) => broker.cluster().topic_by_id(id).map(|t| t.name.clone()),
            (None, true) => None,
        };
        let Some(resolved) = resolved else {
            r.error_code = if id.is_nil() {
                ResponseError::InvalidRequest.code()
            } else {
                ResponseError::UnknownTopicId.code()
            };
            results.push(r);
            continue;
        };
        match broker.delete_topic(&resolved) {
            Ok(meta) => {
                deleted.push(meta.name.clone());
                r.name = Some(name_of(&meta.name));
                // topic_id exists from v6, error_message from v5.
                if ctx.version() >= 6 {
                    r.topic_id = meta.id;
                }
            }
            Err(e) => {
                r.error_code = topic_error(&e).code();
                if ctx.version() >= 5 {
                    r.error_message = Some(StrBytes::from_string(e.to_string()));
                }
            }
        }
        results.push(r);
    }
    // The deleted topics' committed offsets go too; queued before the answer, so a commit or
    // fetch sent after it sees them gone.
    broker.groups().topics_deleted(deleted).await;
    ctx.reply(&DeleteTopicsResponse::default().with_responses(results))
}

pub async fn create_partitions(ctx: RequestContext, req: CreatePartitionsRequest) -> Reply {
    let mut results = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.name.0.to_string();
        let r = CreatePartitionsTopicResult::default().with_name(t.name);
        let node = ctx.broker.node_id();
        let assignments = t.assignments.as_ref().map(|a| {
            (
                a.len(),
                a.iter()
                    .all(|x| !x.broker_ids.is_empty() && x.broker_ids.iter().all(|b| b.0 == node)),
            )
        });
        results.push(
            match ctx
                .broker
                .create_partitions(&name, t.count, assignments, req.validate_only)
            {
                Ok(()) => r,
                Err(e) => r
                    .with_error_code(topic_error(&e).code())
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            },
        );
    }
    ctx.reply(&CreatePartitionsResponse::default().with_results(results))
}
