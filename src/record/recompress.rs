//! Rewriting a produced batch in the topic's codec, as Kafka does when a topic's
//! `compression.type` names one and the producer used another.
//!
//! Only the payload changes: the records are decompressed (within the same bound as validation)
//! and compressed again byte for byte; producer id, epoch, sequence, timestamps, the
//! transactional and control bits and the record count stay as the producer sent them, and the
//! CRC is recomputed.

use super::batch::{self, BatchHeader, Compression, HEADER_LEN};
use super::compression::{compress, decompress, Levels};
use super::validate::RecordError;

/// The batch with its records in `target`, or None when it is already in `target` (kept as sent).
pub fn recompress(
    batch: &[u8],
    header: &BatchHeader,
    target: Compression,
    levels: &Levels,
    max_uncompressed_bytes: usize,
) -> Result<Option<Vec<u8>>, RecordError> {
    let source = header.compression().map_err(|e| RecordError::Malformed {
        index: 0,
        reason: e.to_string(),
    })?;
    if source == target {
        return Ok(None);
    }
    let end = header.total_len().min(batch.len());
    let body = batch.get(HEADER_LEN..end).unwrap_or_default();
    let inflated;
    let records: &[u8] = if source == Compression::None {
        body
    } else {
        inflated = decompress(source, body, max_uncompressed_bytes)?;
        &inflated
    };
    let malformed = |reason: String| RecordError::Malformed { index: 0, reason };
    let payload = compress(target, records, levels)
        .map_err(|e| malformed(format!("{} compression failed: {e}", target.name())))?;
    batch::with_payload(batch, target, &payload)
        .map(Some)
        .ok_or_else(|| malformed("the recompressed batch is too large".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{set_log_append_time, test_util::build_batch};
    use crate::record::validate::{records, validate_records, RecordLimits, RecordRules};
    use proptest::prelude::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    const LIMIT: usize = 1 << 20;

    fn in_codec(plain: &[u8], codec: Compression) -> Vec<u8> {
        let h = BatchHeader::parse(plain).unwrap();
        recompress(plain, &h, codec, &Levels::default(), LIMIT)
            .unwrap()
            .unwrap_or_else(|| plain.to_vec())
    }

    /// Everything a consumer reads from a batch except the codec.
    fn content(b: &[u8]) -> (BatchHeader, Vec<crate::record::validate::RecordView>) {
        let mut h = batch::validate(b).expect("valid batch");
        let recs = records(b).unwrap().map(|r| r.unwrap()).collect();
        h.attributes &= !0x07;
        h.batch_length = 0;
        h.crc = 0;
        (h, recs)
    }

    fn check_pair(plain: &[u8], from: Compression, to: Compression) {
        let src = in_codec(plain, from);
        let h = batch::validate(&src).unwrap();
        let out = recompress(&src, &h, to, &Levels::default(), LIMIT).unwrap();
        let Some(out) = out else {
            assert_eq!(from, to, "only a batch already in the target is kept");
            return;
        };
        let oh = batch::validate(&out).expect("CRC and header valid");
        assert_eq!(oh.compression().unwrap(), to);
        assert_eq!(content(&out), content(plain), "{from:?} -> {to:?}");
        validate_records(
            &out,
            &oh,
            &RecordLimits {
                max_uncompressed_bytes: LIMIT,
            },
            &RecordRules::default(),
        )
        .expect("records valid");
    }

    #[test]
    fn every_codec_pair_keeps_header_and_records() {
        let mut plain = build_batch(0, 1_234, &[b"a", b"", b"ccc", &[7u8; 3000]], 42, 3, 17);
        // Transactional and LogAppendTime bits must survive too.
        plain[22] |= 0x10;
        set_log_append_time(&mut plain, 9_999);
        for from in ALL {
            for to in ALL {
                check_pair(&plain, from, to);
            }
        }
    }

    #[test]
    fn a_payload_past_the_bound_is_refused() {
        let plain = build_batch(0, 1, &[&[0u8; 10_000]], -1, -1, -1);
        let z = in_codec(&plain, Compression::Zstd);
        let h = batch::validate(&z).unwrap();
        let e = recompress(&z, &h, Compression::Gzip, &Levels::default(), 1_000).unwrap_err();
        assert!(matches!(e, RecordError::Decompress(_)));
    }

    proptest! {
        #[test]
        fn any_records_survive_any_codec_pair(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20),
            from in 0usize..5, to in 0usize..5, pid in -1i64..3, seq in 0i32..1000,
        ) {
            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
            let plain = build_batch(0, 77, &refs, pid, 0, seq);
            check_pair(&plain, ALL[from], ALL[to]);
        }
    }
}
