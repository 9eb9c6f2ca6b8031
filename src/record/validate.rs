//! Record-level validation of a v2 batch (after its header and CRC passed `batch::validate`), and
//! iteration over its records.
//!
//! The checks are Apache Kafka's LogValidator checks for magic v2: the records decode exactly
//! (every varint and length inside the record and the batch), their count matches the header,
//! offset deltas run 0, 1, 2, ...; on compacted topics every record has a key; with CreateTime,
//! timestamps fall inside message.timestamp.before/after.max.ms.

use std::ops::Range;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use thiserror::Error;

use super::batch::{BatchHeader, Compression, TimestampType, HEADER_LEN};
use super::compression::{decompress, DecompressError};

#[derive(Debug, Error)]
pub enum RecordError {
    #[error(transparent)]
    Decompress(#[from] DecompressError),
    #[error("record {index}: {reason}")]
    Malformed { index: usize, reason: String },
    #[error("batch declares {declared} records but holds {found}")]
    CountMismatch { declared: i32, found: usize },
    #[error("record {index} has offset delta {delta}, expected {index}")]
    OffsetDelta { index: usize, delta: i32 },
    /// Records that break a topic rule; every such record is reported, as Kafka does, so the
    /// client can tell which ones.
    #[error("{}", rejected_message(.0))]
    Rejected(Vec<RecordFault>),
}

/// A well-formed record that a topic rule turns away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFault {
    /// The record's position in its batch.
    pub index: usize,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    MissingKey,
    Timestamp { timestamp: i64, min: i64, max: i64 },
}

impl std::fmt::Display for RecordFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            FaultKind::MissingKey => {
                write!(f, "Compacted topic cannot accept message without key")
            }
            FaultKind::Timestamp {
                timestamp,
                min,
                max,
            } => write!(
                f,
                "Timestamp {timestamp} of record {} is out of range: must be within [{min}, {max}]",
                self.index
            ),
        }
    }
}

fn rejected_message(faults: &[RecordFault]) -> String {
    if faults
        .iter()
        .any(|f| matches!(f.kind, FaultKind::Timestamp { .. }))
    {
        return "One or more records have been rejected due to invalid timestamp".into();
    }
    let first: Vec<String> = faults.iter().take(3).map(|f| f.to_string()).collect();
    format!(
        "One or more records have been rejected due to {} record errors in total, showing at most the first three: {first:?}",
        faults.len()
    )
}

impl RecordError {
    /// The code Apache Kafka answers a produce request with for this problem.
    pub fn kafka_error(&self) -> ResponseError {
        match self {
            // Past the inflation limit: MESSAGE_TOO_LARGE lets the Java producer split the batch
            // and retry, where CORRUPT_MESSAGE would be retried unchanged until it times out.
            RecordError::Decompress(DecompressError::TooLarge { .. }) => {
                ResponseError::MessageTooLarge
            }
            RecordError::Decompress(_) => ResponseError::CorruptMessage,
            // Kafka's precedence: one bad timestamp makes the whole answer INVALID_TIMESTAMP.
            RecordError::Rejected(faults)
                if faults
                    .iter()
                    .any(|f| matches!(f.kind, FaultKind::Timestamp { .. })) =>
            {
                ResponseError::InvalidTimestamp
            }
            _ => ResponseError::InvalidRecord,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RecordLimits {
    /// Upper bound on a batch's decompressed size.
    pub max_uncompressed_bytes: usize,
}

/// Per-topic rules for the records of a batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordRules {
    pub compacted: bool,
    /// (now, before.max.ms, after.max.ms) when CreateTime timestamps must be checked.
    pub timestamp_window: Option<(i64, i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSummary {
    pub record_count: usize,
    pub uncompressed_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

/// Decompression bound used when reading stored batches (ListOffsets by time).
pub const READ_LIMIT_BYTES: usize = 256 * 1024 * 1024;

pub fn validate_records(
    batch: &[u8],
    header: &BatchHeader,
    limits: &RecordLimits,
    rules: &RecordRules,
) -> Result<RecordSummary, RecordError> {
    // Uncompressed records (the common case for many clients) are walked where they lie; only
    // compressed ones are inflated, with the limit.
    let inflated;
    let payload: &[u8] = if header.compression() == Ok(Compression::None) {
        let end = header.total_len().min(batch.len());
        batch.get(HEADER_LEN..end).unwrap_or_default()
    } else {
        inflated = payload(batch, header, limits.max_uncompressed_bytes)?;
        &inflated
    };
    let mut count = 0usize;
    let check_time = match (rules.timestamp_window, header.timestamp_type()) {
        (Some(w), TimestampType::CreateTime) => Some(w),
        _ => None,
    };
    // At most one fault per record, and records are bounded by the (limited) payload.
    let mut faults = Vec::new();
    let mut pos = 0usize;
    while pos < payload.len() {
        let index = count;
        let r = parse_record(payload, &mut pos, |_, _| {})
            .map_err(|reason| RecordError::Malformed { index, reason })?;
        if r.offset_delta as i64 != index as i64 {
            return Err(RecordError::OffsetDelta {
                index,
                delta: r.offset_delta,
            });
        }
        // A record is blamed for its missing key before its timestamp, as Kafka does.
        if rules.compacted && r.key.is_none() {
            faults.push(RecordFault {
                index,
                kind: FaultKind::MissingKey,
            });
        } else if let Some((now, before, after)) = check_time {
            let ts = header.base_timestamp.saturating_add(r.timestamp_delta);
            let (min, max) = (now.saturating_sub(before), now.saturating_add(after));
            if ts < min || ts > max {
                faults.push(RecordFault {
                    index,
                    kind: FaultKind::Timestamp {
                        timestamp: ts,
                        min,
                        max,
                    },
                });
            }
        }
        count += 1;
    }
    if count as i64 != header.record_count as i64 {
        return Err(RecordError::CountMismatch {
            declared: header.record_count,
            found: count,
        });
    }
    if !faults.is_empty() {
        return Err(RecordError::Rejected(faults));
    }
    Ok(RecordSummary {
        record_count: count,
        uncompressed_bytes: payload.len(),
    })
}

/// The records of a stored batch, decompressed with [`READ_LIMIT_BYTES`].
pub fn records(batch: &[u8]) -> Result<Records, RecordError> {
    let header = BatchHeader::parse(batch).map_err(|e| RecordError::Malformed {
        index: 0,
        reason: e.to_string(),
    })?;
    Ok(Records::new(payload(batch, &header, READ_LIMIT_BYTES)?))
}

fn payload(batch: &[u8], header: &BatchHeader, limit: usize) -> Result<Bytes, RecordError> {
    let end = header.total_len().min(batch.len());
    let body = batch.get(HEADER_LEN..end).unwrap_or_default();
    let codec = header.compression().map_err(|e| RecordError::Malformed {
        index: 0,
        reason: e.to_string(),
    })?;
    Ok(Bytes::from(decompress(codec, body, limit)?))
}

/// Iterates records; stops after the first error.
pub struct Records {
    data: Bytes,
    pos: usize,
    index: usize,
    failed: bool,
}

impl Records {
    fn new(data: Bytes) -> Records {
        Records {
            data,
            pos: 0,
            index: 0,
            failed: false,
        }
    }
}

impl Iterator for Records {
    type Item = Result<RecordView, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let index = self.index;
        self.index += 1;
        let r = read_record(&self.data, &mut self.pos)
            .map_err(|reason| RecordError::Malformed { index, reason });
        self.failed = r.is_err();
        Some(r)
    }
}

fn varint(data: &[u8], pos: &mut usize) -> Result<i64, String> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *data.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err("varint too long".into());
        }
        raw |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err("varint too long".into())
}

fn varint32(data: &[u8], pos: &mut usize) -> Result<i32, String> {
    i32::try_from(varint(data, pos)?).map_err(|_| "varint out of int32 range".into())
}

/// A length-prefixed field: -1 is null; anything else must fit in what is left.
fn field(data: &[u8], pos: &mut usize, end: usize) -> Result<Option<Range<usize>>, String> {
    let len = varint32(data, pos)?;
    if len < 0 {
        return if len == -1 {
            Ok(None)
        } else {
            Err(format!("invalid length {len}"))
        };
    }
    let len = len as usize;
    if len > end.saturating_sub(*pos) {
        return Err(format!("length {len} runs past the record"));
    }
    let r = *pos..*pos + len;
    *pos += len;
    Ok(Some(r))
}

/// One record's fields as positions in the payload.
struct ParsedRecord {
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

/// Reads the record at `pos` in place, handing each header to `on_header`; allocates nothing.
fn parse_record(
    data: &[u8],
    pos: &mut usize,
    mut on_header: impl FnMut(Range<usize>, Option<Range<usize>>),
) -> Result<ParsedRecord, String> {
    let len = varint32(data, pos)?;
    if len < 0 || len as usize > data.len() - *pos {
        return Err(format!("record length {len} does not fit the batch"));
    }
    let end = *pos + len as usize;
    let _attributes = *data.get(*pos).ok_or("truncated record")?;
    *pos += 1;
    let timestamp_delta = varint(data, pos)?;
    let offset_delta = varint32(data, pos)?;
    let key = field(data, pos, end)?;
    let value = field(data, pos, end)?;
    let count = varint32(data, pos)?;
    if count < 0 || count as usize > end.saturating_sub(*pos) {
        return Err(format!("invalid header count {count}"));
    }
    for _ in 0..count {
        let k = field(data, pos, end)?.ok_or("null header key")?;
        let v = field(data, pos, end)?;
        on_header(k, v);
    }
    if *pos != end {
        return Err(format!("record length {len} does not match its fields"));
    }
    Ok(ParsedRecord {
        offset_delta,
        timestamp_delta,
        key,
        value,
    })
}

fn read_record(data: &Bytes, pos: &mut usize) -> Result<RecordView, String> {
    let mut headers = Vec::new();
    let r = parse_record(data, pos, |k, v| {
        headers.push((data.slice(k), v.map(|v| data.slice(v))));
    })?;
    Ok(RecordView {
        offset_delta: r.offset_delta,
        timestamp_delta: r.timestamp_delta,
        key: r.key.map(|k| data.slice(k)),
        value: r.value.map(|v| data.slice(v)),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{self, test_util::build_batch, Compression};
    use crate::record::compression::test_codecs::{compress, xerial};
    use proptest::prelude::*;

    const LIMITS: RecordLimits = RecordLimits {
        max_uncompressed_bytes: 1 << 20,
    };

    /// Re-encodes a test batch's records with `codec` and fixes the header and CRC.
    fn with_codec(plain: &[u8], codec: Compression, java_snappy: bool) -> Vec<u8> {
        let body = &plain[HEADER_LEN..];
        let z = if java_snappy {
            xerial(body)
        } else {
            compress(codec, body)
        };
        let mut b = plain[..HEADER_LEN].to_vec();
        b.extend_from_slice(&z);
        let len = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let attrs: i16 = match codec {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        };
        b[21..23].copy_from_slice(&attrs.to_be_bytes());
        let crc = batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn plain(values: &[&[u8]]) -> Vec<u8> {
        build_batch(0, 1_000, values, -1, -1, -1)
    }

    #[test]
    fn every_codec_validates_and_iterates() {
        let p = plain(&[b"a", b"bb", b"", b"dddd"]);
        for (codec, java) in [
            (Compression::None, false),
            (Compression::Gzip, false),
            (Compression::Snappy, false),
            (Compression::Snappy, true),
            (Compression::Lz4, false),
            (Compression::Zstd, false),
        ] {
            let b = with_codec(&p, codec, java);
            let h = batch::validate(&b).expect("header");
            let s = validate_records(&b, &h, &LIMITS, &RecordRules::default())
                .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
            assert_eq!(s.record_count, 4);
            let vals: Vec<Option<Bytes>> = records(&b).unwrap().map(|r| r.unwrap().value).collect();
            assert_eq!(vals[3].as_deref(), Some(&b"dddd"[..]));
        }
    }

    #[test]
    fn count_mismatch_and_missing_keys() {
        let mut b = plain(&[b"a", b"b"]);
        b[57..61].copy_from_slice(&3i32.to_be_bytes());
        b[23..27].copy_from_slice(&2i32.to_be_bytes());
        let crc = batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let h = batch::validate(&b).unwrap();
        assert!(matches!(
            validate_records(&b, &h, &LIMITS, &RecordRules::default()),
            Err(RecordError::CountMismatch { .. })
        ));

        let b = plain(&[b"a"]);
        let h = batch::validate(&b).unwrap();
        let compacted = RecordRules {
            compacted: true,
            ..Default::default()
        };
        let e = validate_records(&b, &h, &LIMITS, &compacted).unwrap_err();
        assert_eq!(e.kafka_error(), ResponseError::InvalidRecord);
    }

    #[test]
    fn timestamp_window_at_and_past_its_bounds() {
        let b = plain(&[b"a"]);
        let h = batch::validate(&b).unwrap();
        let rules = |now, before, after| RecordRules {
            timestamp_window: Some((now, before, after)),
            ..Default::default()
        };
        assert!(validate_records(&b, &h, &LIMITS, &rules(1_000, 0, 0)).is_ok());
        assert!(validate_records(&b, &h, &LIMITS, &rules(999, 0, 1)).is_ok());
        let e = validate_records(&b, &h, &LIMITS, &rules(998, 0, 1)).unwrap_err();
        assert_eq!(e.kafka_error(), ResponseError::InvalidTimestamp);
        assert!(validate_records(&b, &h, &LIMITS, &rules(1_001, 1, 0)).is_ok());
        assert!(validate_records(&b, &h, &LIMITS, &rules(1_002, 1, 0)).is_err());
    }

    #[test]
    fn every_faulty_record_is_reported_and_timestamps_decide_the_code() {
        let b = plain(&[b"a", b"b", b"c"]);
        let h = batch::validate(&b).unwrap();
        let rules = RecordRules {
            compacted: true,
            // All three records are at 1_000: outside [2_000, 2_000].
            timestamp_window: Some((2_000, 0, 0)),
        };
        let Err(RecordError::Rejected(faults)) = validate_records(&b, &h, &LIMITS, &rules) else {
            panic!("rejected expected");
        };
        // A keyless record is blamed for its key, not also for its timestamp.
        assert_eq!(faults.len(), 3);
        assert!(faults.iter().all(|f| f.kind == FaultKind::MissingKey));
        let e = RecordError::Rejected(faults);
        assert_eq!(e.kafka_error(), ResponseError::InvalidRecord);

        let e = validate_records(
            &b,
            &h,
            &LIMITS,
            &RecordRules {
                compacted: false,
                ..rules
            },
        )
        .unwrap_err();
        assert_eq!(e.kafka_error(), ResponseError::InvalidTimestamp);
        let RecordError::Rejected(faults) = e else {
            panic!()
        };
        assert_eq!(
            faults.iter().map(|f| f.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn decompressed_size_limit_at_and_past() {
        let big = vec![b'x'; 10_000];
        let p = plain(&[&big]);
        let b = with_codec(&p, Compression::Zstd, false);
        let h = batch::validate(&b).unwrap();
        let exact = p.len() - HEADER_LEN;
        assert!(validate_records(
            &b,
            &h,
            &RecordLimits {
                max_uncompressed_bytes: exact
            },
            &RecordRules::default()
        )
        .is_ok());
        let e = validate_records(
            &b,
            &h,
            &RecordLimits {
                max_uncompressed_bytes: exact - 1,
            },
            &RecordRules::default(),
        )
        .unwrap_err();
        assert_eq!(e.kafka_error(), ResponseError::MessageTooLarge);
    }

    proptest! {
        /// Any mutation of a valid batch (after fixing its CRC, so the record walk runs) is either
        /// accepted or rejected; it never panics.
        #[test]
        fn mutated_records_never_panic(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
                                       codec in 0usize..5, at in any::<usize>(), byte in any::<u8>()) {
            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
            let mut b = with_codec(&plain(&refs), codecs[codec], false);
            let i = HEADER_LEN + at % (b.len() - HEADER_LEN);
            b[i] = byte;
            let crc = batch::compute_crc(&b);
            b[17..21].copy_from_slice(&crc.to_be_bytes());
            if let Ok(h) = batch::validate(&b) {
                let _ = validate_records(&b, &h, &LIMITS, &RecordRules::default());
                if let Ok(it) = records(&b) { for _ in it {} }
            }
        }
    }
}
