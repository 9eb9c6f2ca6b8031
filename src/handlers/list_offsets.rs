//! ListOffsets (key 2): earliest, latest, by timestamp and max timestamp.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::{Reply, RequestContext};
use crate::broker::Partition;
use crate::error::log_error;
use crate::log::LogError;
use crate::record::locate;
use crate::types::TopicPartition;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;
const READ_COMMITTED: i8 = 1;

pub async fn handle(ctx: RequestContext, req: ListOffsetsRequest) -> Reply {
    let read_committed = req.isolation_level == READ_COMMITTED;
    let version = ctx.version();
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.name.0.to_string();
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let base = ListOffsetsPartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_timestamp(-1)
                    .with_offset(-1)
                    .with_leader_epoch(-1);
                let Some(part) = ctx
                    .broker
                    .partition(&TopicPartition::new(name.clone(), p.partition_index))
                else {
                    return base.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                };
                let epoch = part.leader_epoch();
                if let Err(e) = crate::error::check_leader_epoch(p.current_leader_epoch, epoch) {
                    return base.with_error_code(e.code());
                }
                match lookup(&part, p.timestamp, read_committed) {
                    Ok(Some((offset, ts))) => base
                        .with_offset(offset)
                        .with_timestamp(ts)
                        // The field exists from v4 on; older encoders refuse a non-default value.
                        .with_leader_epoch(if version >= 4 { epoch } else { -1 }),
                    Ok(None) => base,
                    Err(e) => base.with_error_code(log_error(&e).code()),
                }
            })
            .collect();
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ctx.reply(&ListOffsetsResponse::default().with_topics(topics))
}

/// (offset, timestamp) for one query; timestamp -1 where Kafka reports none.
fn lookup(
    part: &Partition,
    query: i64,
    read_committed: bool,
) -> Result<Option<(i64, i64)>, LogError> {
    let log = &part.log;
    // read_committed consumers read up to the last stable offset; lookups answer below it.
    let lso = read_committed.then(|| log.last_stable_offset().value());
    let below_lso = |found: Option<(i64, i64)>| match lso {
        Some(bound) => found.filter(|(offset, _)| *offset < bound),
        None => found,
    };
    match query {
        EARLIEST | EARLIEST_LOCAL => Ok(Some((log.log_start_offset().value(), -1))),
        LATEST => Ok(Some((lso.unwrap_or(log.high_watermark().value()), -1))),
        LATEST_TIERED => Ok(None),
        // Both lookups answer only batches below the high watermark (the last stable offset
        // for read_committed, the same offset until transactions exist).
        // Kafka answers from the segments, ignoring the log start: see max_timestamp_batch.
        MAX_TIMESTAMP => Ok(below_lso(
            log.max_timestamp_batch()?
                .and_then(|b| locate::max_timestamp(&b, i64::MIN)),
        )),
        ts if ts >= 0 => Ok(below_lso(log.find_batch_by_timestamp(ts)?.and_then(|b| {
            locate::first_at_or_after(&b, ts, log.log_start_offset().value())
        }))),
        _ => Ok(None),
    }
}
