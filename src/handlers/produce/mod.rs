//! Produce (key 0): validate each partition's batch, append it in request order, then wait for
//! durability (group commit) off the connection's critical path and answer.

pub mod legacy;
mod transactional;
mod validate;

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::task::JoinSet;

use super::{Reply, RequestContext};
use crate::broker::{now_ms, Partition};
use crate::error::log_error;
use crate::log::{AppendOutcome, LogError};
use crate::types::{Offset, TopicPartition};

/// The lowest version the protocol crate decodes; older ones are answered by [`legacy`].
pub const MIN_DECODABLE_VERSION: i16 = 3;

/// The outcome for one partition before durability is known.
struct PartitionResult {
    index: i32,
    error: Option<(ResponseError, Option<String>)>,
    /// Records blamed for the error, by index in the batch (v8+).
    record_errors: Vec<(i32, String)>,
    base_offset: i64,
    log_append_time_ms: i64,
    log_start_offset: i64,
    /// Set when the append must be durable before the answer.
    wait: Option<(Arc<Partition>, Offset)>,
}

impl PartitionResult {
    fn failed(index: i32, e: ResponseError, message: Option<String>) -> Self {
        PartitionResult {
            index,
            error: Some((e, message)),
            record_errors: Vec::new(),
            base_offset: -1,
            log_append_time_ms: -1,
            log_start_offset: -1,
            wait: None,
        }
    }
}

pub async fn handle(ctx: RequestContext, req: ProduceRequest) -> Reply {
    let acks = req.acks;
    let valid_acks = matches!(acks, -1..=1);
    // Kafka checks this for the whole request before anything else: transactional batches need
    // the request to name their transactional id, or every partition is refused.
    let unnamed_transaction = req.transactional_id.is_none()
        && req.topic_data.iter().any(|t| {
            t.partition_data
                .iter()
                .any(|p| p.records.as_deref().is_some_and(validate::is_transactional))
        });
    let unverified = match (&req.transactional_id, unnamed_transaction) {
        (Some(id), false) if valid_acks => {
            transactional::verify(&ctx, &id.to_string(), &req.topic_data).await
        }
        _ => Default::default(),
    };
    let mut topics: Vec<(String, Vec<PartitionResult>)> = Vec::with_capacity(req.topic_data.len());
    for topic in req.topic_data {
        let name = topic.name.0.to_string();
        let mut results = Vec::with_capacity(topic.partition_data.len());
        for p in topic.partition_data {
            let unverified = unverified.get(&(name.clone(), p.index)).copied();
            results.push(if unnamed_transaction {
                PartitionResult::failed(
                    p.index,
                    ResponseError::TransactionalIdAuthorizationFailed,
                    None,
                )
            } else if !valid_acks {
                PartitionResult::failed(p.index, ResponseError::InvalidRequiredAcks, None)
            } else if let Some(e) = unverified {
                PartitionResult::failed(p.index, e, None)
            } else {
                append_partition(&ctx, &name, p.index, p.records)
            });
        }
        topics.push((name, results));
    }
    if acks == 0 {
        // acks=0 producers read no response; Kafka closes the connection on an error so the
        // client notices (it refreshes metadata and reconnects).
        let failed = topics
            .iter()
            .any(|(_, results)| results.iter().any(|r| r.error.is_some()));
        if failed {
            return Reply::Close;
        }
        // Nobody waits for these appends, but they must still join the next group-commit fsync:
        // with the fsync policy only durable data is readable, so an acks=0 record would
        // otherwise stay invisible until some later write was synced.
        let pending: Vec<_> = topics
            .iter_mut()
            .flat_map(|(_, results)| results.iter_mut().filter_map(|r| r.wait.take()))
            .collect();
        if !pending.is_empty() {
            tokio::spawn(async move {
                for (partition, end) in pending {
                    if let Err(e) = partition.log.wait_durable(end).await {
                        tracing::error!(error = %e, "flush of an acks=0 write failed");
                    }
                }
            });
        }
        return Reply::NoResponse;
    }
    Reply::Later(Box::pin(async move {
        let topics = wait_durable(topics).await;
        ctx.respond(&build_response(topics, ctx.version()))
            .map(Into::into)
    }))
}

fn append_partition(
    ctx: &RequestContext,
    topic: &str,
    index: i32,
    records: Option<Bytes>,
) -> PartitionResult {
    let broker = &ctx.broker;
    let tp = TopicPartition::new(topic, index);
    let Some(partition) = broker.partition(&tp) else {
        return PartitionResult::failed(index, ResponseError::UnknownTopicOrPartition, None);
    };
    let topic_config = partition.config();
    let records = records.unwrap_or_default();
    let checked = match validate::check_batch(&records, &topic_config, ctx.version(), now_ms()) {
        Ok(c) => c,
        Err(r) => {
            tracing::debug!(partition = %tp, error = ?r.error, msg = r.message, "produce rejected");
            return PartitionResult {
                record_errors: r.record_errors,
                ..PartitionResult::failed(index, r.error, Some(r.message))
            };
        }
    };
    let records = match validate::to_topic_codec(records, &checked.header, &topic_config) {
        Ok(r) => r,
        Err(r) => {
            tracing::debug!(partition = %tp, error = ?r.error, msg = r.message, "produce rejected");
            return PartitionResult::failed(index, r.error, Some(r.message));
        }
    };
    let now = now_ms();
    let append_time = checked.log_append_time.then_some(now);
    let outcome = partition
        .log
        .append(&[records], partition.leader_epoch(), append_time, now);
    match outcome {
        // A retried duplicate is answered like the original, and also waits for durability: the
        // original may still be waiting for its fsync and must not be acknowledged before it.
        Ok(AppendOutcome::Appended {
            base_offset,
            last_offset,
            log_append_time_ms,
            log_start_offset,
        })
        | Ok(AppendOutcome::Duplicate {
            base_offset,
            last_offset,
            log_append_time_ms,
            log_start_offset,
        }) => PartitionResult {
            index,
            error: None,
            record_errors: Vec::new(),
            base_offset: base_offset.value(),
            log_append_time_ms,
            log_start_offset: log_start_offset.value(),
            wait: (!partition.log.acknowledgeable(last_offset.next()))
                .then(|| (partition.clone(), last_offset.next())),
        },
        Err(e) => {
            if !matches!(e, LogError::Producer(_)) {
                tracing::error!(partition = %tp, error = %e, "append failed");
            }
            PartitionResult::failed(index, log_error(&e), Some(e.to_string()))
        }
    }
}

async fn wait_durable(
    mut topics: Vec<(String, Vec<PartitionResult>)>,
) -> Vec<(String, Vec<PartitionResult>)> {
    let mut waits = JoinSet::new();
    for (t, (_, results)) in topics.iter_mut().enumerate() {
        for (p, r) in results.iter_mut().enumerate() {
            if let Some((partition, end)) = r.wait.take() {
                waits.spawn(async move { (t, p, partition.log.wait_durable(end).await) });
            }
        }
    }
    while let Some(done) = waits.join_next().await {
        match done {
            Ok((t, p, Err(e))) => {
                tracing::error!(error = %e, "flush failed; write not acknowledged");
                let r = &mut topics[t].1[p];
                r.error = Some((log_error(&e), Some(e.to_string())));
                r.base_offset = -1;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "durability wait task failed"),
        }
    }
    topics
}

fn build_response(topics: Vec<(String, Vec<PartitionResult>)>, version: i16) -> ProduceResponse {
    let responses = topics
        .into_iter()
        .map(|(name, results)| {
            TopicProduceResponse::default()
                .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
                    name,
                )))
                .with_partition_responses(
                    results
                        .into_iter()
                        .map(|r| {
                            let (code, message) = match r.error {
                                Some((e, m)) => (e.code(), m),
                                None => (0, None),
                            };
                            PartitionProduceResponse::default()
                                .with_index(r.index)
                                .with_error_code(code)
                                .with_base_offset(r.base_offset)
                                .with_log_append_time_ms(r.log_append_time_ms)
                                // log_start_offset exists from v5, error_message from v8.
                                .with_log_start_offset(if version >= 5 {
                                    r.log_start_offset
                                } else {
                                    -1
                                })
                                .with_error_message(if version >= 8 {
                                    message.map(StrBytes::from_string)
                                } else {
                                    None
                                })
                                .with_record_errors(if version >= 8 {
                                    r.record_errors
                                        .into_iter()
                                        .map(|(i, m)| {
                                            BatchIndexAndErrorMessage::default()
                                                .with_batch_index(i)
                                                .with_batch_index_error_message(Some(
                                                    StrBytes::from_string(m),
                                                ))
                                        })
                                        .collect()
                                } else {
                                    Vec::new()
                                })
                        })
                        .collect(),
                )
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}
