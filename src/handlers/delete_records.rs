//! DeleteRecords (key 21): move the log start offset forward.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{Reply, RequestContext};
use crate::error::log_error;
use crate::types::{Offset, TopicPartition};

/// Kafka's "delete up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

pub async fn handle(ctx: RequestContext, req: DeleteRecordsRequest) -> Reply {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.name.0.to_string();
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let base = DeleteRecordsPartitionResult::default()
                    .with_partition_index(p.partition_index)
                    .with_low_watermark(-1);
                let Some(part) = ctx
                    .broker
                    .partition(&TopicPartition::new(name.clone(), p.partition_index))
                else {
                    return base.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                };
                let hw = part.log.high_watermark();
                let target = if p.offset == HIGH_WATERMARK {
                    hw.value()
                } else {
                    p.offset
                };
                if target < 0 || target > hw.value() {
                    return base.with_error_code(ResponseError::OffsetOutOfRange.code());
                }
                match part.log.delete_records_before(Offset(target)) {
                    Ok(start) => base.with_low_watermark(start.value()),
                    Err(e) => base.with_error_code(log_error(&e).code()),
                }
            })
            .collect();
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ctx.reply(&DeleteRecordsResponse::default().with_topics(topics))
}
