//! Control batches: the COMMIT and ABORT markers that end a transaction in each partition.
//!
//! A marker is a v2 batch with the transactional and control attribute bits, the producer id
//! and epoch of the transaction, no sequence, and one record whose key is `version i16 (0) |
//! type i16 (0 abort, 1 commit)` and whose value is `version i16 (0) | coordinator epoch i32`,
//! as Kafka writes them.

use super::batch::{BatchHeader, HEADER_LEN};
use super::builder::put_varint;

const TRANSACTIONAL_AND_CONTROL: i16 = 0x10 | 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
}

impl ControlType {
    fn code(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }
}

/// A marker as read back from a control batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub kind: ControlType,
    /// -1 when the value is missing or unreadable (the type alone decides the outcome).
    pub coordinator_epoch: i32,
}

/// A complete control batch at base offset 0 (the log assigns the real one), CRC included.
pub fn build_marker(
    producer_id: i64,
    producer_epoch: i16,
    kind: ControlType,
    coordinator_epoch: i32,
    timestamp_ms: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.code().to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut body = Vec::with_capacity(24);
    body.push(0); // record attributes
    put_varint(&mut body, 0); // timestamp delta
    put_varint(&mut body, 0); // offset delta
    put_varint(&mut body, key.len() as i64);
    body.extend_from_slice(&key);
    put_varint(&mut body, value.len() as i64);
    body.extend_from_slice(&value);
    put_varint(&mut body, 0); // headers
    let mut record = Vec::with_capacity(body.len() + 2);
    put_varint(&mut record, body.len() as i64);
    record.extend_from_slice(&body);

    let mut b = Vec::with_capacity(HEADER_LEN + record.len());
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((HEADER_LEN - 12 + record.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch, set on append
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&TRANSACTIONAL_AND_CONTROL.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&timestamp_ms.to_be_bytes());
    b.extend_from_slice(&timestamp_ms.to_be_bytes());
    b.extend_from_slice(&producer_id.to_be_bytes());
    b.extend_from_slice(&producer_epoch.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&1i32.to_be_bytes()); // record count
    b.extend_from_slice(&record);
    let crc = crc32c::crc32c(&b[super::batch::CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn varint(&mut self) -> Option<i64> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            z |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        None
    }
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
}

/// The marker in a control batch: `bytes` starts with the batch header and holds at least the
/// first record. `None` for a batch that is not a control batch or whose key is unreadable
/// (Kafka skips such records as unknown control types).
pub fn read_marker(bytes: &[u8]) -> Option<Marker> {
    let h = BatchHeader::parse(bytes).ok()?;
    if !h.is_control() {
        return None;
    }
    let mut c = Cursor(bytes.get(HEADER_LEN..)?);
    let _len = c.varint()?;
    c.take(1)?; // attributes
    c.varint()?; // timestamp delta
    c.varint()?; // offset delta
    let key_len = usize::try_from(c.varint()?).ok()?;
    let key = c.take(key_len)?;
    if key.len() < 4 {
        return None;
    }
    let kind = match i16::from_be_bytes([key[2], key[3]]) {
        0 => ControlType::Abort,
        1 => ControlType::Commit,
        _ => return None,
    };
    let coordinator_epoch = c
        .varint()
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| c.take(n))
        .filter(|v| v.len() >= 6)
        .map(|v| i32::from_be_bytes([v[2], v[3], v[4], v[5]]))
        .unwrap_or(-1);
    Some(Marker {
        kind,
        coordinator_epoch,
    })
}

/// Bytes after the header that [`read_marker`] needs at most (a marker record is small; a
/// longer one only has a larger value, which is not needed past the coordinator epoch).
pub const MARKER_READ_LEN: usize = HEADER_LEN + 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch;
    use proptest::prelude::*;

    #[test]
    fn a_built_marker_is_a_valid_control_batch_that_reads_back() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let b = build_marker(42, 7, kind, 3, 1_000);
            let h = batch::validate(&b).expect("valid batch");
            assert!(h.is_control() && h.is_transactional());
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.base_sequence),
                (42, 7, -1)
            );
            assert_eq!(h.record_count, 1);
            assert_eq!(h.total_len(), b.len());
            assert!(b.len() <= MARKER_READ_LEN);
            assert_eq!(
                read_marker(&b),
                Some(Marker {
                    kind,
                    coordinator_epoch: 3
                })
            );
        }
    }

    #[test]
    fn data_batches_are_not_markers() {
        let b = batch::test_util::build_batch(0, 1, &[b"x".as_slice()], 1, 0, 0);
        assert_eq!(read_marker(&b), None);
    }

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut b = build_marker(1, 1, ControlType::Commit, 1, 1);
            b.truncate(HEADER_LEN);
            b.extend_from_slice(&tail);
            let _ = read_marker(&b);
        }
    }
}
