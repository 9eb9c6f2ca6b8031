//! The record the coordinator persists after every change of a transactional id (Kafka's
//! `__transaction_state` value semantics: the whole metadata of the id, the latest one wins, a
//! tombstone when the id expires), and its binary form in the transaction log.
//!
//! Key:   u8 kind (1), u16 length + UTF-8 transactional id.
//! Value: u8 version (0); i64 producer id, i64 previous producer id, i64 next producer id,
//!        i16 epoch, i16 last epoch, i32 timeout ms, u8 state (Kafka's ids), u8 client
//!        transaction version (1 or 2), i64 start ms, i64 last update ms; u32 partition count,
//!        each a u16-length topic and an i32 partition; u32 group count, each a u16-length
//!        group id. Big-endian. A tombstone is an absent value.
//!
//! Decoding checks every length against the bytes left before allocating, and refuses unknown
//! kinds, versions and states and trailing bytes; it never panics.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::api::TxnVersion;
use super::error::TxnRecordError;
use super::state::{TxnMetadata, TxnState};
use crate::types::{PartitionId, ProducerEpoch, ProducerId, TopicPartition};

const KIND_TRANSACTION: u8 = 1;
const VALUE_VERSION: u8 = 0;
/// u16 topic length + i32 partition.
const MIN_PARTITION_BYTES: usize = 2 + 4;
const MIN_GROUP_BYTES: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    pub transactional_id: String,
    /// None: the id expired.
    pub value: Option<TxnMetadata>,
}

impl TxnRecord {
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = BytesMut::new();
        key.put_u8(KIND_TRANSACTION);
        put_string(&mut key, &self.transactional_id);
        (key.freeze(), self.value.as_ref().map(encode_value))
    }

    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<TxnRecord, TxnRecordError> {
        let mut r = Reader { buf: key, pos: 0 };
        match r.u8()? {
            KIND_TRANSACTION => {}
            other => return Err(TxnRecordError::UnknownKind(other)),
        }
        let transactional_id = r.string("transactional id")?;
        r.finish()?;
        let value = value.map(decode_value).transpose()?;
        Ok(TxnRecord {
            transactional_id,
            value,
        })
    }
}

/// Strings longer than u16::MAX are cut at a character boundary; transactional ids, topics and
/// group ids are far shorter (Kafka bounds them by its own int16 string lengths).
fn put_string(buf: &mut BytesMut, s: &str) {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s.get(..end).unwrap_or_default();
    buf.put_u16(u16::try_from(cut.len()).unwrap_or(0));
    buf.put_slice(cut.as_bytes());
}

fn encode_value(m: &TxnMetadata) -> Bytes {
    let mut b = BytesMut::new();
    b.put_u8(VALUE_VERSION);
    b.put_i64(m.producer_id.0);
    b.put_i64(m.prev_producer_id.0);
    b.put_i64(m.next_producer_id.0);
    b.put_i16(m.producer_epoch.0);
    b.put_i16(m.last_producer_epoch.0);
    b.put_i32(m.timeout_ms);
    b.put_u8(m.state.id());
    b.put_u8(match m.client_version {
        TxnVersion::V1 => 1,
        TxnVersion::V2 => 2,
    });
    b.put_i64(m.start_ms);
    b.put_i64(m.last_update_ms);
    b.put_u32(u32::try_from(m.partitions.len()).unwrap_or(u32::MAX));
    for tp in &m.partitions {
        put_string(&mut b, &tp.topic);
        b.put_i32(tp.partition.0);
    }
    b.put_u32(u32::try_from(m.groups.len()).unwrap_or(u32::MAX));
    for g in &m.groups {
        put_string(&mut b, g);
    }
    b.freeze()
}

fn decode_value(raw: &[u8]) -> Result<TxnMetadata, TxnRecordError> {
    let mut r = Reader { buf: raw, pos: 0 };
    let version = r.u8()?;
    if version != VALUE_VERSION {
        return Err(TxnRecordError::UnsupportedVersion(version));
    }
    let producer_id = ProducerId(r.i64()?);
    let prev_producer_id = ProducerId(r.i64()?);
    let next_producer_id = ProducerId(r.i64()?);
    let producer_epoch = ProducerEpoch(r.i16()?);
    let last_producer_epoch = ProducerEpoch(r.i16()?);
    let timeout_ms = r.i32()?;
    let state_id = r.u8()?;
    let state = TxnState::from_id(state_id).ok_or(TxnRecordError::Invalid {
        what: "state",
        value: i64::from(state_id),
    })?;
    let client_version = match r.u8()? {
        1 => TxnVersion::V1,
        2 => TxnVersion::V2,
        other => {
            return Err(TxnRecordError::Invalid {
                what: "client transaction version",
                value: i64::from(other),
            })
        }
    };
    let start_ms = r.i64()?;
    let last_update_ms = r.i64()?;
    let mut partitions = BTreeSet::new();
    for _ in 0..r.count("partition count", MIN_PARTITION_BYTES)? {
        let topic = r.string("topic")?;
        let partition = PartitionId(r.i32()?);
        partitions.insert(TopicPartition { topic, partition });
    }
    let mut groups = BTreeSet::new();
    for _ in 0..r.count("group count", MIN_GROUP_BYTES)? {
        groups.insert(r.string("group id")?);
    }
    r.finish()?;
    Ok(TxnMetadata {
        producer_id,
        prev_producer_id,
        next_producer_id,
        producer_epoch,
        last_producer_epoch,
        timeout_ms,
        state,
        partitions,
        groups,
        start_ms,
        last_update_ms,
        client_version,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], TxnRecordError> {
        let bytes = self.slice(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn slice(&mut self, n: usize) -> Result<&'a [u8], TxnRecordError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(TxnRecordError::Truncated(self.pos))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(TxnRecordError::Truncated(self.pos))?;
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, TxnRecordError> {
        Ok(self.take::<1>()?[0])
    }

    fn i16(&mut self) -> Result<i16, TxnRecordError> {
        Ok(i16::from_be_bytes(self.take()?))
    }

    fn i32(&mut self) -> Result<i32, TxnRecordError> {
        Ok(i32::from_be_bytes(self.take()?))
    }

    fn i64(&mut self) -> Result<i64, TxnRecordError> {
        Ok(i64::from_be_bytes(self.take()?))
    }

    fn string(&mut self, what: &'static str) -> Result<String, TxnRecordError> {
        let len = usize::from(u16::from_be_bytes(self.take()?));
        let raw = self.slice(len)?;
        std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| TxnRecordError::InvalidUtf8(what))
    }

    /// A u32 count, refused when that many `min_size`-byte elements cannot fit in what is left.
    fn count(&mut self, what: &'static str, min_size: usize) -> Result<usize, TxnRecordError> {
        let n = u32::from_be_bytes(self.take()?);
        let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
        if n_usize > self.remaining() / min_size.max(1) {
            return Err(TxnRecordError::Invalid {
                what,
                value: i64::from(n),
            });
        }
        Ok(n_usize)
    }

    fn finish(self) -> Result<(), TxnRecordError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(TxnRecordError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn metadata() -> impl Strategy<Value = TxnMetadata> {
        (
            (any::<i64>(), any::<i64>(), any::<i64>()),
            (any::<i16>(), any::<i16>(), any::<i32>()),
            (0usize..8, any::<bool>(), any::<i64>(), any::<i64>()),
            prop::collection::btree_set(("[a-z.é_-]{0,12}", any::<i32>()), 0..6),
            prop::collection::btree_set("[a-zA-Z0-9ü]{0,10}", 0..4),
        )
            .prop_map(|(ids, epochs, misc, partitions, groups)| TxnMetadata {
                producer_id: ProducerId(ids.0),
                prev_producer_id: ProducerId(ids.1),
                next_producer_id: ProducerId(ids.2),
                producer_epoch: ProducerEpoch(epochs.0),
                last_producer_epoch: ProducerEpoch(epochs.1),
                timeout_ms: epochs.2,
                state: TxnState::ALL[misc.0],
                client_version: if misc.1 {
                    TxnVersion::V2
                } else {
                    TxnVersion::V1
                },
                start_ms: misc.2,
                last_update_ms: misc.3,
                partitions: partitions
                    .into_iter()
                    .map(|(topic, p)| TopicPartition {
                        topic,
                        partition: PartitionId(p),
                    })
                    .collect(),
                groups,
            })
    }

    proptest! {
        #[test]
        fn records_round_trip(id in "\\PC{0,20}", value in prop::option::of(metadata())) {
            let record = TxnRecord { transactional_id: id, value };
            let (k, v) = record.encode();
            prop_assert_eq!(TxnRecord::decode(&k, v.as_deref()), Ok(record));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            key in prop::collection::vec(any::<u8>(), 0..40),
            value in prop::option::of(prop::collection::vec(any::<u8>(), 0..200)),
        ) {
            let _ = TxnRecord::decode(&key, value.as_deref());
        }

        #[test]
        fn every_truncation_or_extension_of_a_value_fails(value in metadata(), extra in 1usize..4) {
            let record = TxnRecord { transactional_id: "t".into(), value: Some(value) };
            let (k, v) = record.encode();
            let v = v.unwrap_or_default();
            for cut in 0..v.len() {
                prop_assert!(TxnRecord::decode(&k, Some(&v[..cut])).is_err());
            }
            let mut longer = v.to_vec();
            longer.extend(std::iter::repeat_n(0u8, extra));
            prop_assert!(TxnRecord::decode(&k, Some(&longer)).is_err());
        }
    }

    #[test]
    fn a_huge_partition_count_is_refused_before_allocating() {
        let record = TxnRecord {
            transactional_id: "t".into(),
            value: Some(TxnMetadata::new(ProducerId(1), 1000, 0)),
        };
        let (k, v) = record.encode();
        let mut v = v.unwrap_or_default().to_vec();
        // The partition count follows the 51 fixed bytes.
        v[51..55].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            TxnRecord::decode(&k, Some(&v)),
            Err(TxnRecordError::Invalid {
                what: "partition count",
                ..
            })
        ));
    }
}
