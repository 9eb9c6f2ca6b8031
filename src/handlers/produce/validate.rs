//! The checks a produced partition payload passes before it reaches the log, with the error codes
//! Apache Kafka sends for each failure.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use crate::config::{CompressionType, TopicConfig};
use crate::record::batch::{self, BatchError, BatchHeader, Compression};
use crate::record::compression::Levels;
use crate::record::recompress::recompress;
use crate::record::validate::{validate_records, RecordError, RecordLimits, RecordRules};

pub struct CheckedBatch {
    /// The topic stamps batches with the broker's clock (message.timestamp.type=LogAppendTime).
    pub log_append_time: bool,
    pub header: BatchHeader,
}

/// Why a partition's payload was turned away.
#[derive(Debug)]
pub struct Rejection {
    pub error: ResponseError,
    pub message: String,
    /// The records blamed, by index in the batch, with the reason (ProduceResponse v8+).
    pub record_errors: Vec<(i32, String)>,
}

impl From<(ResponseError, String)> for Rejection {
    fn from((error, message): (ResponseError, String)) -> Self {
        Rejection {
            error,
            message,
            record_errors: Vec::new(),
        }
    }
}

/// Produce v7 is the first that may carry zstd batches (KIP-110).
const MIN_VERSION_FOR_ZSTD: i16 = 7;

/// True when the payload's first batch is transactional. Kafka refuses such a request as a
/// whole unless it names a transactional id, before looking at anything else.
pub fn is_transactional(records: &[u8]) -> bool {
    BatchHeader::parse(records).is_ok_and(|h| h.magic == batch::MAGIC_V2 && h.is_transactional())
}

pub fn check_batch(
    records: &[u8],
    topic: &TopicConfig,
    version: i16,
    now_ms: i64,
) -> Result<CheckedBatch, Rejection> {
    check(records, topic, version, now_ms).map_err(|e| match e {
        Check::Batch(r) => r,
        Check::Records(e) => Rejection {
            error: e.kafka_error(),
            message: e.to_string(),
            record_errors: match &e {
                RecordError::Rejected(faults) => faults
                    .iter()
                    .map(|f| (i32::try_from(f.index).unwrap_or(i32::MAX), f.to_string()))
                    .collect(),
                _ => Vec::new(),
            },
        },
    })
}

enum Check {
    Batch(Rejection),
    Records(RecordError),
}

impl From<(ResponseError, String)> for Check {
    fn from(r: (ResponseError, String)) -> Self {
        Check::Batch(r.into())
    }
}

fn check(
    records: &[u8],
    topic: &TopicConfig,
    version: i16,
    now_ms: i64,
) -> Result<CheckedBatch, Check> {
    let (batches, complete) = batch::split_batches(records);
    if batches.len() != 1 || complete != records.len() {
        if batches.is_empty() && !records.is_empty() {
            // Either a truncated batch or one of the pre-v2 formats (whose length field sits
            // elsewhere); both are unusable as a v2 batch.
            return Err(magic_or_corrupt(records).into());
        }
        return Err((
            ResponseError::InvalidRecord,
            "Produce requests with version 3+ must have exactly one record batch per partition"
                .to_string(),
        )
            .into());
    }
    let (_, header) = batches[0];
    if header.magic != batch::MAGIC_V2 {
        return Err(magic_error(header.magic).into());
    }
    match header.compression() {
        // Kafka's request validation fails on a codec id it does not know with an unexpected
        // exception, which its handler answers UNKNOWN_SERVER_ERROR; clients see that code.
        Err(e) => return Err((ResponseError::UnknownServerError, e.to_string()).into()),
        Ok(Compression::Zstd) if version < MIN_VERSION_FOR_ZSTD => {
            return Err((
                ResponseError::UnsupportedCompressionType,
                format!("Produce requests with version {version} are not allowed to use ZStandard compression"),
            )
                .into())
        }
        Ok(_) => {}
    }
    // Offsets are the broker's to assign; a client batch must start at 0.
    if header.base_offset != 0 {
        return Err((
            ResponseError::InvalidRecord,
            format!(
                "The baseOffset of the record batch should be 0, but it is {}",
                header.base_offset
            ),
        )
            .into());
    }
    if records.len() > topic.max_message_bytes.max(0) as usize {
        return Err((
            ResponseError::MessageTooLarge,
            format!(
                "The batch size {} exceeds max.message.bytes {}",
                records.len(),
                topic.max_message_bytes
            ),
        )
            .into());
    }
    let header = batch::validate(records).map_err(|e| -> Check {
        match e {
            BatchError::UnsupportedMagic(m) => magic_error(m),
            BatchError::OffsetDeltaMismatch { .. } | BatchError::InvalidRecordCount(_) => {
                (ResponseError::InvalidRecord, e.to_string())
            }
            BatchError::UnknownCompression(_) => (ResponseError::UnknownServerError, e.to_string()),
            other => (ResponseError::CorruptMessage, other.to_string()),
        }
        .into()
    })?;
    if header.is_control() {
        return Err((
            ResponseError::InvalidRecord,
            "Client produce requests should not contain control batches".to_string(),
        )
            .into());
    }
    // A producer id promises sequence numbers; without one, duplicates could not be detected.
    if header.has_producer_id() && header.base_sequence < 0 {
        return Err((
            ResponseError::InvalidRecord,
            format!(
                "Invalid sequence number {} in record batch with producerId {}",
                header.base_sequence, header.producer_id
            ),
        )
            .into());
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
        .map_err(Check::Records)?;
    Ok(CheckedBatch {
        log_append_time,
        header,
    })
}

/// The batch in the topic's codec. A topic with `compression.type=producer`, or whose codec is
/// the batch's, keeps the producer's bytes untouched; any other has the records rewritten in its
/// codec (Kafka's rule), and the result must still fit max.message.bytes.
pub fn to_topic_codec(
    records: Bytes,
    header: &BatchHeader,
    topic: &TopicConfig,
) -> Result<Bytes, Rejection> {
    let target = match topic.compression_type {
        CompressionType::Producer => return Ok(records),
        CompressionType::Uncompressed => Compression::None,
        CompressionType::Gzip => Compression::Gzip,
        CompressionType::Snappy => Compression::Snappy,
        CompressionType::Lz4 => Compression::Lz4,
        CompressionType::Zstd => Compression::Zstd,
    };
    let levels = Levels {
        gzip: topic.compression_gzip_level,
        lz4: topic.compression_lz4_level,
        zstd: topic.compression_zstd_level,
    };
    let limit = decompression_limit(topic).max_uncompressed_bytes;
    match recompress(&records, header, target, &levels, limit) {
        Ok(None) => Ok(records),
        Ok(Some(rewritten)) if rewritten.len() > topic.max_message_bytes.max(0) as usize => Err((
            ResponseError::MessageTooLarge,
            format!(
                "The batch size {} in {} exceeds max.message.bytes {}",
                rewritten.len(),
                target.name(),
                topic.max_message_bytes
            ),
        )
            .into()),
        Ok(Some(rewritten)) => Ok(Bytes::from(rewritten)),
        Err(e) => Err((e.kafka_error(), e.to_string()).into()),
    }
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

fn magic_error(magic: i8) -> (ResponseError, String) {
    (
        ResponseError::InvalidRecord,
        format!("Produce requests with version 3+ may only contain record batches with magic version 2, got {magic}"),
    )
}

fn magic_or_corrupt(records: &[u8]) -> (ResponseError, String) {
    match records.get(16) {
        Some(m) if *m as i8 != batch::MAGIC_V2 && (records.len() >= 17) => magic_error(*m as i8),
        _ => (
            ResponseError::CorruptMessage,
            "The record batch is truncated".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{compute_crc, test_util::build_batch};

    fn check(b: &[u8], version: i16) -> Result<CheckedBatch, Rejection> {
        check_batch(b, &TopicConfig::default(), version, 1_000)
    }

    fn refresh_crc(b: &mut [u8]) {
        let crc = compute_crc(b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn a_producer_id_needs_a_sequence() {
        for seq in [-1, -5, i32::MIN] {
            let b = build_batch(0, 1_000, &[b"a"], 7, 0, seq);
            let r = check(&b, 11).err().expect("refused");
            assert_eq!(r.error, ResponseError::InvalidRecord, "sequence {seq}");
        }
        assert!(check(&build_batch(0, 1_000, &[b"a"], 7, 0, 0), 11).is_ok());
        // Without a producer id the sequence means nothing.
        assert!(check(&build_batch(0, 1_000, &[b"a"], -1, -1, 7), 11).is_ok());
    }

    #[test]
    fn client_batches_start_at_offset_0() {
        let r = check(&build_batch(5, 1_000, &[b"a"], -1, -1, -1), 11)
            .err()
            .expect("refused");
        assert_eq!(r.error, ResponseError::InvalidRecord);
    }

    #[test]
    fn codec_ids_and_zstd_versions() {
        let mut b = build_batch(0, 1_000, &[b"a"], -1, -1, -1);
        b[22] = 5;
        refresh_crc(&mut b);
        assert_eq!(
            check(&b, 11).err().expect("refused").error,
            ResponseError::UnknownServerError
        );
        // The codec bits are checked before the payload is read, so the header alone decides.
        b[22] = 4;
        refresh_crc(&mut b);
        assert_eq!(
            check(&b, 6).err().expect("refused").error,
            ResponseError::UnsupportedCompressionType
        );
    }

    #[test]
    fn every_keyless_record_is_reported() {
        let topic = TopicConfig {
            cleanup_policy: crate::config::CleanupPolicy {
                compact: true,
                delete: false,
            },
            ..TopicConfig::default()
        };
        let b = build_batch(0, 1_000, &[b"a", b"b", b"c"], -1, -1, -1);
        let r = check_batch(&b, &topic, 11, 1_000).err().expect("refused");
        assert_eq!(r.error, ResponseError::InvalidRecord);
        let blamed: Vec<i32> = r.record_errors.iter().map(|(i, _)| *i).collect();
        assert_eq!(blamed, vec![0, 1, 2]);
    }
}
