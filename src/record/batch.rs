//! The fixed 61-byte header of a v2 record batch.
//!
//! Layout (big-endian), as in Kafka's `DefaultRecordBatch`:
//!
//! | offset | size | field                                   |
//! |--------|------|-----------------------------------------|
//! | 0      | 8    | base offset                             |
//! | 8      | 4    | batch length (bytes after this field)   |
//! | 12     | 4    | partition leader epoch                  |
//! | 16     | 1    | magic (2)                               |
//! | 17     | 4    | CRC-32C of bytes 21..end                |
//! | 21     | 2    | attributes                              |
//! | 23     | 4    | last offset delta                       |
//! | 27     | 8    | base timestamp                          |
//! | 35     | 8    | max timestamp                           |
//! | 43     | 8    | producer id                             |
//! | 51     | 2    | producer epoch                          |
//! | 53     | 4    | base sequence                           |
//! | 57     | 4    | record count                            |
//!
//! Base offset and leader epoch sit outside the CRC, so the broker can assign offsets without
//! touching the checksum. Changing the timestamp type or max timestamp (LogAppendTime) needs a new CRC.

use thiserror::Error;

pub const HEADER_LEN: usize = 61;
/// Bytes before the batch-length field's end: the frame header of a batch in a log.
pub const LOG_OVERHEAD: usize = 12;
pub const MAGIC_V2: i8 = 2;
pub const CRC_START: usize = 21;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch shorter than its {HEADER_LEN}-byte header ({0} bytes)")]
    TooShort(usize),
    #[error("batch length field {declared} does not match the {available} bytes present")]
    LengthMismatch { declared: i64, available: usize },
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    #[error("CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("unknown compression codec {0}")]
    UnknownCompression(i16),
    #[error("invalid record count {0}")]
    InvalidRecordCount(i32),
    #[error("last offset delta {last_offset_delta} does not fit record count {record_count}")]
    OffsetDeltaMismatch {
        last_offset_delta: i32,
        record_count: i32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn from_attributes(attributes: i16) -> Result<Self, BatchError> {
        match attributes & COMPRESSION_MASK {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(BatchError::UnknownCompression(other)),
        }
    }

    /// The codec's id in the attributes' low three bits.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// A parsed copy of a batch header. Cheap to make; holds no reference to the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Reads the header fields. Checks only that `bytes` holds a whole header; see [`validate`]
    /// for the integrity checks.
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        if bytes.len() < HEADER_LEN {
            return Err(BatchError::TooShort(bytes.len()));
        }
        Ok(BatchHeader {
            base_offset: i64_at(bytes, BASE_OFFSET),
            batch_length: i32_at(bytes, BATCH_LENGTH),
            partition_leader_epoch: i32_at(bytes, LEADER_EPOCH),
            magic: bytes[MAGIC] as i8,
            crc: i32_at(bytes, CRC) as u32,
            attributes: i16_at(bytes, ATTRIBUTES),
            last_offset_delta: i32_at(bytes, LAST_OFFSET_DELTA),
            base_timestamp: i64_at(bytes, BASE_TIMESTAMP),
            max_timestamp: i64_at(bytes, MAX_TIMESTAMP),
            producer_id: i64_at(bytes, PRODUCER_ID),
            producer_epoch: i16_at(bytes, PRODUCER_EPOCH),
            base_sequence: i32_at(bytes, BASE_SEQUENCE),
            record_count: i32_at(bytes, RECORD_COUNT),
        })
    }

    /// Total size of the batch on the wire and on disk.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    pub fn compression(&self) -> Result<Compression, BatchError> {
        Compression::from_attributes(self.attributes)
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }
}

/// Computes the CRC-32C a batch header should carry.
pub fn compute_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(&bytes[CRC_START..])
}

/// Checks the header of one complete batch: size, magic, CRC, codec and the record count against
/// the last offset delta. `bytes` must be exactly one batch.
pub fn validate(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(bytes)?;
    let declared = header.batch_length as i64 + LOG_OVERHEAD as i64;
    if header.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 || declared != bytes.len() as i64 {
        return Err(BatchError::LengthMismatch {
            declared,
            available: bytes.len(),
        });
    }
    if header.magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic(header.magic));
    }
    let computed = compute_crc(bytes);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    header.compression()?;
    if header.record_count < 0 {
        return Err(BatchError::InvalidRecordCount(header.record_count));
    }
    // Kafka producers always send lastOffsetDelta = count - 1; an empty batch exists only after
    // compaction, which a producer never sends.
    if header.record_count == 0 || header.last_offset_delta != header.record_count - 1 {
        return Err(BatchError::OffsetDeltaMismatch {
            last_offset_delta: header.last_offset_delta,
            record_count: header.record_count,
        });
    }
    Ok(header)
}

/// Sets the base offset of a batch in place. Outside the CRC.
pub fn set_base_offset(bytes: &mut [u8], base_offset: i64) {
    debug_assert!(bytes.len() >= HEADER_LEN);
    bytes[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Sets the partition leader epoch in place. Outside the CRC.
pub fn set_partition_leader_epoch(bytes: &mut [u8], epoch: i32) {
    debug_assert!(bytes.len() >= HEADER_LEN);
    bytes[LEADER_EPOCH..LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks a batch as LogAppendTime with `append_time_ms` as its max timestamp and refreshes the CRC,
/// as Kafka does for topics with `message.timestamp.type=LogAppendTime`.
pub fn set_log_append_time(bytes: &mut [u8], append_time_ms: i64) {
    debug_assert!(bytes.len() >= HEADER_LEN);
    let attributes = i16_at(bytes, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
    bytes[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    bytes[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&append_time_ms.to_be_bytes());
    let crc = compute_crc(bytes);
    bytes[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A batch with `batch`'s header and a new payload (records compressed with `codec`): the length,
/// the codec bits and the CRC change, every other header field is kept. None if the payload is
/// too large for the length field.
pub fn with_payload(batch: &[u8], codec: Compression, payload: &[u8]) -> Option<Vec<u8>> {
    let header = batch.get(..HEADER_LEN)?;
    let batch_length = i32::try_from(HEADER_LEN - LOG_OVERHEAD + payload.len()).ok()?;
    let mut b = Vec::with_capacity(HEADER_LEN + payload.len());
    b.extend_from_slice(header);
    b.extend_from_slice(payload);
    b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = (i16_at(&b, ATTRIBUTES) & !COMPRESSION_MASK) | codec.id();
    b[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    let crc = compute_crc(&b);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Some(b)
}

/// Splits a buffer holding back-to-back batches into (start, header) pairs. Stops at the first
/// incomplete batch; returns the byte length of the complete prefix.
pub fn split_batches(bytes: &[u8]) -> (Vec<(usize, BatchHeader)>, usize) {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while bytes.len() - pos >= HEADER_LEN {
        let Ok(header) = BatchHeader::parse(&bytes[pos..]) else {
            break;
        };
        if header.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            break;
        }
        let len = header.total_len();
        if bytes.len() - pos < len {
            break;
        }
        out.push((pos, header));
        pos += len;
    }
    (out, pos)
}

#[cfg(test)]
pub mod test_util {
    //! Builds uncompressed v2 batches for tests.
    use super::*;

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    /// A batch of `values`, keys absent, timestamps `ts`, with the given producer fields.
    pub fn build_batch(
        base_offset: i64,
        ts: i64,
        values: &[&[u8]],
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut body = Vec::new();
            body.push(0u8); // attributes
            put_varint(&mut body, 0); // timestamp delta
            put_varint(&mut body, i as i64); // offset delta
            put_varint(&mut body, -1); // key
            put_varint(&mut body, v.len() as i64);
            body.extend_from_slice(v);
            put_varint(&mut body, 0); // headers
            put_varint(&mut records, body.len() as i64);
            records.extend_from_slice(&body);
        }
        let mut b = Vec::with_capacity(HEADER_LEN + records.len());
        b.extend_from_slice(&base_offset.to_be_bytes());
        b.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(MAGIC_V2 as u8);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&((values.len() as i32) - 1).to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes());
        b.extend_from_slice(&producer_id.to_be_bytes());
        b.extend_from_slice(&producer_epoch.to_be_bytes());
        b.extend_from_slice(&base_sequence.to_be_bytes());
        b.extend_from_slice(&(values.len() as i32).to_be_bytes());
        b.extend_from_slice(&records);
        let crc = compute_crc(&b);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::build_batch;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_batch_passes_and_reports_fields() {
        let b = build_batch(0, 1_000, &[b"a", b"bc"], 7, 1, 3);
        let h = validate(&b).expect("valid");
        assert_eq!(h.record_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.producer_id, 7);
        assert_eq!(h.base_sequence, 3);
        assert_eq!(h.total_len(), b.len());
    }

    #[test]
    fn offset_and_epoch_rewrite_keep_crc() {
        let mut b = build_batch(0, 1_000, &[b"a"], -1, -1, -1);
        set_base_offset(&mut b, 42);
        set_partition_leader_epoch(&mut b, 9);
        let h = validate(&b).expect("still valid");
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.partition_leader_epoch, 9);
    }

    #[test]
    fn log_append_time_refreshes_crc() {
        let mut b = build_batch(0, 1_000, &[b"a"], -1, -1, -1);
        set_log_append_time(&mut b, 5_000);
        let h = validate(&b).expect("still valid");
        assert_eq!(h.max_timestamp, 5_000);
        assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    }

    #[test]
    fn truncated_and_mismatched_lengths_are_rejected() {
        let b = build_batch(0, 1_000, &[b"abc"], -1, -1, -1);
        assert!(matches!(
            validate(&b[..HEADER_LEN - 1]),
            Err(BatchError::TooShort(_))
        ));
        assert!(matches!(
            validate(&b[..b.len() - 1]),
            Err(BatchError::LengthMismatch { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_single_byte_flip_in_crc_range_is_caught(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8),
            pick in any::<usize>(),
            flip in 1u8..=255,
        ) {
            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let mut b = build_batch(0, 1, &refs, -1, -1, -1);
            let at = CRC_START + pick % (b.len() - CRC_START);
            b[at] ^= flip;
            prop_assert!(validate(&b).is_err());
        }

        #[test]
        fn split_finds_every_whole_batch(counts in proptest::collection::vec(1usize..5, 1..6), cut in any::<usize>()) {
            let mut all = Vec::new();
            let mut ends = Vec::new();
            for (i, n) in counts.iter().enumerate() {
                let vals: Vec<&[u8]> = (0..*n).map(|_| b"xy".as_slice()).collect();
                all.extend(build_batch(i as i64, 1, &vals, -1, -1, -1));
                ends.push(all.len());
            }
            let cut = cut % (all.len() + 1);
            let (batches, complete) = split_batches(&all[..cut]);
            let expected = ends.iter().filter(|e| **e <= cut).count();
            prop_assert_eq!(batches.len(), expected);
            prop_assert_eq!(complete, if expected == 0 { 0 } else { ends[expected - 1] });
        }
    }
}
