//! The checks a produced partition payload passes before it reaches the log, with the error codes
//! Apache Kafka sends for each failure.

use kafka_protocol::error::ResponseError;

use crate::config::TopicConfig;
use crate::record::batch::{self, BatchError};
use crate::record::validate::{validate_records, RecordLimits, RecordRules};

pub struct CheckedBatch {
    /// The topic stamps batches with the broker's clock (message.timestamp.type=LogAppendTime).
    pub log_append_time: bool,
}

pub type Rejection = (ResponseError, String);

pub fn check_batch(
    records: &[u8],
    topic: &TopicConfig,
    now_ms: i64,
) -> Result<CheckedBatch, Rejection> {
    let (batches, complete) = batch::split_batches(records);
    if batches.len() != 1 || complete != records.len() {
        if batches.is_empty() && !records.is_empty() {
            // Either a truncated batch or one of the pre-v2 formats (whose length field sits
            // elsewhere); both are unusable as a v2 batch.
            return Err(magic_or_corrupt(records));
        }
        return Err((
            ResponseError::InvalidRecord,
            "Produce requests with version 3+ must have exactly one record batch per partition"
                .into(),
        ));
    }
    let (_, header) = batches[0];
    if header.magic != batch::MAGIC_V2 {
        return Err(magic_error(header.magic));
    }
    if records.len() > topic.max_message_bytes.max(0) as usize {
        return Err((
            ResponseError::MessageTooLarge,
            format!(
                "The batch size {} exceeds max.message.bytes {}",
                records.len(),
                topic.max_message_bytes
            ),
        ));
    }
    let header = batch::validate(records).map_err(|e| match e {
        BatchError::UnsupportedMagic(m) => magic_error(m),
        BatchError::OffsetDeltaMismatch { .. } | BatchError::InvalidRecordCount(_) => {
            (ResponseError::InvalidRecord, e.to_string())
        }
        other => (ResponseError::CorruptMessage, other.to_string()),
    })?;
    if header.is_control() {
        return Err((
            ResponseError::InvalidRecord,
            "Client produce requests should not contain control batches".into(),
        ));
    }
    if header.is_transactional() {
        // No partition can have been added to a transaction: transactions are not offered yet.
        return Err((
            ResponseError::InvalidTxnState,
            "Transactional batches are not accepted by this broker yet".into(),
        ));
    }
    let log_append_time = topic.message_timestamp_type == "LogAppendTime";
    let rules = RecordRules {
        compacted: topic.cleanup_policy.compact,
        // With LogAppendTime the broker's clock replaces the producer's, so nothing to check.
        timestamp_window: (!log_append_time).then_some((
            now_ms,
            topic.message_timestamp_before_max_ms,
            topic.message_timestamp_after_max_ms,
        )),
    };
    validate_records(records, &header, &decompression_limit(topic), &rules)
        .map_err(|e| (e.kafka_error(), e.to_string()))?;
    Ok(CheckedBatch { log_append_time })
}

/// How far one batch may inflate when decompressed for validation: generous for real data
/// (compression ratios of 30x and more happen with repetitive payloads), bounded for bombs.
fn decompression_limit(topic: &TopicConfig) -> RecordLimits {
    const FLOOR_BYTES: usize = 64 * 1024 * 1024;
    let per_topic = (topic.max_message_bytes.max(0) as usize).saturating_mul(32);
    RecordLimits {
        max_uncompressed_bytes: per_topic.max(FLOOR_BYTES),
    }
}

fn magic_error(magic: i8) -> Rejection {
    (
        ResponseError::InvalidRecord,
        format!("Produce requests with version 3+ may only contain record batches with magic version 2, got {magic}"),
    )
}

fn magic_or_corrupt(records: &[u8]) -> Rejection {
    match records.get(16) {
        Some(m) if *m as i8 != batch::MAGIC_V2 && (records.len() >= 17) => magic_error(*m as i8),
        _ => (
            ResponseError::CorruptMessage,
            "The record batch is truncated".into(),
        ),
    }
}
