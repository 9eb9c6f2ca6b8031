//! OffsetCommit (8), OffsetFetch (9), OffsetDelete (47): committed positions of a group.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};

use super::{answer, code, later, opt, s, submit, UNAVAILABLE};
use crate::group::{self as g, GroupRequest, GroupResponse};
use crate::handlers::{Reply, RequestContext};

pub async fn commit(ctx: RequestContext, req: OffsetCommitRequest) -> Reply {
    let v = ctx.version();
    // Kafka answers commits for topics that do not exist itself, before the coordinator.
    let mut known = Vec::new();
    let mut order: Vec<(TopicName, Vec<i32>)> = Vec::with_capacity(req.topics.len());
    let mut missing: HashMap<String, bool> = HashMap::new();
    for t in req.topics {
        let name = t.name.0.to_string();
        let exists = *missing
            .entry(name.clone())
            .or_insert_with(|| ctx.broker.topic(&name).is_some());
        order.push((
            t.name.clone(),
            t.partitions.iter().map(|p| p.partition_index).collect(),
        ));
        if exists {
            known.push(g::OffsetCommitTopic {
                name,
                partitions: t
                    .partitions
                    .into_iter()
                    .map(|p| g::OffsetCommitPartition {
                        partition: p.partition_index,
                        committed_offset: p.committed_offset,
                        committed_leader_epoch: if v >= 6 { p.committed_leader_epoch } else { -1 },
                        committed_metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    })
                    .collect(),
            });
        }
    }
    let request = g::OffsetCommit {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id_or_member_epoch,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
        topics: known,
        api_version: v,
    };
    let pending = if request.topics.is_empty() {
        None
    } else {
        Some(submit(&ctx, GroupRequest::OffsetCommit(request)).await)
    };
    later(async move {
        let c = ctx;
        let mut errors: HashMap<(String, i32), g::ErrorCode> = HashMap::new();
        let coordinator_error = match pending {
            None => None,
            Some(pending) => match answer(pending).await {
                Some(GroupResponse::OffsetCommit(r)) => {
                    for (t, ps) in r.topics {
                        for (p, e) in ps {
                            errors.insert((t.clone(), p), e);
                        }
                    }
                    None
                }
                _ => Some(UNAVAILABLE),
            },
        };
        let topics = order
            .into_iter()
            .map(|(name, partitions)| {
                let topic = name.0.to_string();
                let partitions = partitions
                    .into_iter()
                    .map(|p| {
                        let error = match (errors.get(&(topic.clone(), p)), coordinator_error) {
                            (Some(e), _) => e.code(),
                            (None, Some(e)) if !missing_topic(&c, &topic) => e.code(),
                            _ => ResponseError::UnknownTopicOrPartition.code(),
                        };
                        OffsetCommitResponsePartition::default()
                            .with_partition_index(p)
                            .with_error_code(error)
                    })
                    .collect();
                OffsetCommitResponseTopic::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect();
        c.respond(&OffsetCommitResponse::default().with_topics(topics))
    })
}

fn missing_topic(ctx: &RequestContext, topic: &str) -> bool {
    ctx.broker.topic(topic).is_none()
}

pub async fn fetch(ctx: RequestContext, req: OffsetFetchRequest) -> Reply {
    let v = ctx.version();
    // v8+ ask for several groups at once; earlier versions for one, with the answer at the top.
    let asks: Vec<g::OffsetFetch> = if v >= 8 {
        req.groups
            .into_iter()
            .map(|grp| g::OffsetFetch {
                group_id: grp.group_id.0.to_string(),
                member_id: grp.member_id.as_ref().map(|m| m.to_string()),
                member_epoch: grp.member_epoch,
                require_stable: req.require_stable,
                topics: grp.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                }),
            })
            .collect()
    } else {
        vec![g::OffsetFetch {
            group_id: req.group_id.0.to_string(),
            member_id: None,
            member_epoch: -1,
            require_stable: req.require_stable,
            // v1 has no "all topics" (null) form.
            topics: req.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes))
                    .collect()
            }),
        }]
    };
    let mut pendings = Vec::with_capacity(asks.len());
    for a in asks {
        let group_id = a.group_id.clone();
        pendings.push((group_id, submit(&ctx, GroupRequest::OffsetFetch(a)).await));
    }
    later(async move {
        let c = ctx;
        let mut answers = Vec::with_capacity(pendings.len());
        for (group_id, pending) in pendings {
            let r = match answer(pending).await {
                Some(GroupResponse::OffsetFetch(r)) => r,
                _ => g::OffsetFetchResponse {
                    error: UNAVAILABLE,
                    topics: Vec::new(),
                },
            };
            answers.push((group_id, r));
        }
        if v >= 8 {
            let groups = answers
                .into_iter()
                .map(|(group_id, r)| {
                    OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(s(&group_id)))
                        .with_error_code(code(r.error))
                        .with_topics(
                            r.topics
                                .into_iter()
                                .map(|(t, ps)| {
                                    OffsetFetchResponseTopics::default()
                                        .with_name(TopicName(s(&t)))
                                        .with_partitions(
                                            ps.into_iter()
                                                .map(|p| {
                                                    OffsetFetchResponsePartitions::default()
                                                        .with_partition_index(p.partition)
                                                        .with_committed_offset(p.committed_offset)
                                                        .with_committed_leader_epoch(
                                                            p.committed_leader_epoch,
                                                        )
                                                        .with_metadata(opt(&p.metadata))
                                                        .with_error_code(code(p.error))
                                                })
                                                .collect(),
                                        )
                                })
                                .collect(),
                        )
                })
                .collect();
            return c.respond(&OffsetFetchResponse::default().with_groups(groups));
        }
        let (_, r) = answers.pop()?;
        // v1 has no top-level error: a group-level error goes on every partition.
        let group_error = r.error;
        let topics = r
            .topics
            .into_iter()
            .map(|(t, ps)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(s(&t)))
                    .with_partitions(
                        ps.into_iter()
                            .map(|p| {
                                let error = if v < 2 && !group_error.is_ok() {
                                    group_error
                                } else {
                                    p.error
                                };
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p.partition)
                                    .with_committed_offset(p.committed_offset)
                                    .with_committed_leader_epoch(if v >= 5 {
                                        p.committed_leader_epoch
                                    } else {
                                        -1
                                    })
                                    .with_metadata(opt(&p.metadata))
                                    .with_error_code(code(error))
                            })
                            .collect(),
                    )
            })
            .collect();
        let resp = OffsetFetchResponse::default().with_topics(topics);
        let resp = if v >= 2 {
            resp.with_error_code(code(group_error))
        } else {
            resp
        };
        c.respond(&resp)
    })
}

pub async fn delete(ctx: RequestContext, req: OffsetDeleteRequest) -> Reply {
    // As for commits, Kafka answers partitions it does not have before the coordinator:
    // UNKNOWN_TOPIC_OR_PARTITION for a missing topic or a partition past its count.
    let mut unknown: Vec<(String, i32)> = Vec::new();
    let mut known: Vec<(String, Vec<i32>)> = Vec::new();
    for t in req.topics {
        let name = t.name.0.to_string();
        let count = ctx.broker.partition_count(&name).unwrap_or(0);
        let mut present = Vec::new();
        for p in t.partitions {
            if (0..count).contains(&p.partition_index) {
                present.push(p.partition_index);
            } else {
                unknown.push((name.clone(), p.partition_index));
            }
        }
        if !present.is_empty() {
            known.push((name, present));
        }
    }
    let request = g::OffsetDelete {
        group_id: req.group_id.0.to_string(),
        topics: known,
    };
    let pending = submit(&ctx, GroupRequest::OffsetDelete(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::OffsetDelete(r)) => r,
            _ => g::OffsetDeleteResponse {
                error: UNAVAILABLE,
                topics: Vec::new(),
            },
        };
        // A group-level error is the whole answer, as in Kafka.
        let mut topics: indexmap::IndexMap<String, OffsetDeleteResponseTopic> =
            indexmap::IndexMap::new();
        if r.error == g::ErrorCode::None {
            let unknown_code = ResponseError::UnknownTopicOrPartition.code();
            let errors =
                unknown
                    .into_iter()
                    .map(|(t, p)| (t, p, unknown_code))
                    .chain(r.topics.into_iter().flat_map(|(t, ps)| {
                        ps.into_iter().map(move |(p, e)| (t.clone(), p, code(e)))
                    }));
            for (t, p, e) in errors {
                let partition = OffsetDeleteResponsePartition::default()
                    .with_partition_index(p)
                    .with_error_code(e);
                topics
                    .entry(t)
                    .or_insert_with_key(|t| {
                        OffsetDeleteResponseTopic::default().with_name(TopicName(s(t)))
                    })
                    .partitions
                    .push(partition);
            }
        }
        c.respond(
            &OffsetDeleteResponse::default()
                .with_error_code(code(r.error))
                .with_topics(topics.into_values().collect()),
        )
    })
}
