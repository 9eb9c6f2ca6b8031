//! Builds uncompressed v2 batches from key/value records, for the broker's own logs (the group
//! coordinator's offsets log). Client data is never rebuilt: it is stored as the producer sent it.

use super::batch::{compute_crc, CRC_START, HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};

/// One record: key and value, each possibly absent (an absent value is a tombstone).
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A zigzag varint, as record fields are encoded.
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
        None => put_varint(out, -1),
    }
}

/// A batch holding `records` at offset deltas 0.., all with timestamp `ts`, no producer id.
/// Returns None when there are no records or the batch would not fit the i32 length field.
pub fn build(records: &[KeyValue<'_>], ts: i64) -> Option<Vec<u8>> {
    if records.is_empty() {
        return None;
    }
    let count = i32::try_from(records.len()).ok()?;
    let mut body = Vec::new();
    let mut rec = Vec::new();
    for (i, (k, v)) in records.iter().enumerate() {
        rec.clear();
        rec.push(0u8); // record attributes: unused
        put_varint(&mut rec, 0); // timestamp delta
        put_varint(&mut rec, i as i64); // offset delta
        put_bytes(&mut rec, *k);
        put_bytes(&mut rec, *v);
        put_varint(&mut rec, 0); // headers
        put_varint(&mut body, rec.len() as i64);
        body.extend_from_slice(&rec);
    }
    let batch_length = i32::try_from(HEADER_LEN - LOG_OVERHEAD + body.len()).ok()?;
    let mut b = Vec::with_capacity(HEADER_LEN + body.len());
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset: assigned by the log
    b.extend_from_slice(&batch_length.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch: set by the log
    b.push(MAGIC_V2 as u8);
    b.extend_from_slice(&0u32.to_be_bytes()); // CRC, below
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes: no compression, CreateTime
    b.extend_from_slice(&(count - 1).to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(&body);
    let crc = compute_crc(&b);
    b[CRC_START - 4..CRC_START].copy_from_slice(&crc.to_be_bytes());
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::validate;
    use crate::record::validate::records;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn built_batches_validate_and_read_back(
            kvs in proptest::collection::vec(
                (proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                 proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))),
                1..20),
            ts in 0i64..i64::MAX / 2,
        ) {
            let refs: Vec<KeyValue<'_>> =
                kvs.iter().map(|(k, v)| (k.as_deref(), v.as_deref())).collect();
            let b = build(&refs, ts).expect("batch");
            let h = validate(&b).expect("valid batch");
            prop_assert_eq!(h.record_count as usize, kvs.len());
            prop_assert_eq!(h.total_len(), b.len());
            let back: Vec<_> = records(&b).expect("records").collect::<Result<_, _>>().expect("ok");
            for (i, (r, (k, v))) in back.iter().zip(&kvs).enumerate() {
                prop_assert_eq!(r.offset_delta as usize, i);
                prop_assert_eq!(r.key.as_deref(), k.as_deref());
                prop_assert_eq!(r.value.as_deref(), v.as_deref());
            }
        }
    }

    #[test]
    fn empty_input_builds_nothing() {
        assert!(build(&[], 0).is_none());
    }
}
