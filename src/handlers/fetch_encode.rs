//! Fetch responses encoded as a list of parts, so record batches go to the socket as the bytes
//! read from the log, or straight from the segment file, instead of being copied into one
//! response buffer.
//!
//! Only the fields Strata sets are written; a response with anything else set (diverging epochs,
//! current leaders, snapshot ids, node endpoints, unknown tagged fields) falls back to the
//! protocol crate's encoder. A property test checks the bytes equal that encoder's for every
//! version the route table advertises.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchResponse};

use crate::network::codec::{self, Part, ResponseFrame};
use crate::types::FileSlice;

fn uvarint(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn array_len(buf: &mut BytesMut, flexible: bool, len: usize) {
    if flexible {
        uvarint(buf, len as u64 + 1);
    } else {
        buf.put_i32(len as i32);
    }
}

fn simple(p: &PartitionData) -> bool {
    p.unknown_tagged_fields.is_empty()
        && p.diverging_epoch == Default::default()
        && p.current_leader == Default::default()
        && p.snapshot_id == Default::default()
        && p.aborted_transactions
            .iter()
            .flatten()
            .all(|a| a.unknown_tagged_fields.is_empty())
}

/// Encodes `resp` as a response frame (size prefix, header, body). `slices` holds, in the order
/// of the response's partitions, the file ranges that stand for those partitions' records.
pub fn encode(
    correlation_id: i32,
    resp: &FetchResponse,
    slices: &[Option<FileSlice>],
    version: i16,
) -> Option<ResponseFrame> {
    let header_version = ApiKey::Fetch.response_header_version(version);
    let plain = resp.node_endpoints.is_empty()
        && resp.unknown_tagged_fields.is_empty()
        && resp
            .responses
            .iter()
            .all(|t| t.unknown_tagged_fields.is_empty() && t.partitions.iter().all(simple));
    if !plain || !(4..=18).contains(&version) || (version < 7 && resp.session_id != 0) {
        let filled;
        let resp = if slices.iter().any(Option::is_some) {
            filled = with_slices_read(resp, slices)?;
            &filled
        } else {
            resp
        };
        return codec::encode_response(correlation_id, header_version, resp, version)
            .ok()
            .map(ResponseFrame::from);
    }
    let mut slices = slices.iter();
    let flexible = version >= 12;
    let mut parts: Vec<Part> = Vec::new();
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0); // size, patched below
    buf.put_i32(correlation_id);
    if header_version >= 1 {
        buf.put_u8(0);
    }
    buf.put_i32(resp.throttle_time_ms);
    if version >= 7 {
        buf.put_i16(resp.error_code);
        buf.put_i32(resp.session_id);
    }
    array_len(&mut buf, flexible, resp.responses.len());
    for t in &resp.responses {
        if version >= 13 {
            buf.put_slice(t.topic_id.as_bytes());
        } else {
            let name = t.topic.0.as_bytes();
            if flexible {
                uvarint(&mut buf, name.len() as u64 + 1);
            } else {
                buf.put_i16(name.len() as i16);
            }
            buf.put_slice(name);
        }
        array_len(&mut buf, flexible, t.partitions.len());
        for p in &t.partitions {
            buf.put_i32(p.partition_index);
            buf.put_i16(p.error_code);
            buf.put_i64(p.high_watermark);
            buf.put_i64(p.last_stable_offset);
            if version >= 5 {
                buf.put_i64(p.log_start_offset);
            }
            match &p.aborted_transactions {
                None => {
                    if flexible {
                        buf.put_u8(0);
                    } else {
                        buf.put_i32(-1);
                    }
                }
                Some(list) => {
                    array_len(&mut buf, flexible, list.len());
                    for a in list {
                        buf.put_i64(a.producer_id.0);
                        buf.put_i64(a.first_offset);
                        if flexible {
                            buf.put_u8(0);
                        }
                    }
                }
            }
            if version >= 11 {
                buf.put_i32(p.preferred_read_replica.0);
            }
            let slice = slices.next().cloned().flatten();
            if let Some(slice) = slice {
                if flexible {
                    uvarint(&mut buf, slice.len as u64 + 1);
                } else {
                    buf.put_i32(i32::try_from(slice.len).ok()?);
                }
                parts.push(Part::Bytes(buf.split().freeze()));
                parts.push(Part::File(slice));
            } else {
                match &p.records {
                    None => {
                        if flexible {
                            buf.put_u8(0);
                        } else {
                            buf.put_i32(-1);
                        }
                    }
                    Some(records) => {
                        if flexible {
                            uvarint(&mut buf, records.len() as u64 + 1);
                        } else {
                            buf.put_i32(records.len() as i32);
                        }
                        if !records.is_empty() {
                            // The batches travel as their own buffer: no copy.
                            parts.push(Part::Bytes(buf.split().freeze()));
                            parts.push(Part::Bytes(records.clone()));
                        }
                    }
                }
            }
            if flexible {
                buf.put_u8(0);
            }
        }
        if flexible {
            buf.put_u8(0);
        }
    }
    if flexible {
        buf.put_u8(0);
    }
    if !buf.is_empty() {
        parts.push(Part::Bytes(buf.freeze()));
    }
    let total: usize = parts.iter().map(Part::len).sum();
    let size = i32::try_from(total - 4).ok()?;
    let Some(Part::Bytes(head)) = parts.first() else {
        return None;
    };
    let mut first = BytesMut::from(&head[..]);
    first[..4].copy_from_slice(&size.to_be_bytes());
    parts[0] = Part::Bytes(first.freeze());
    Some(ResponseFrame::from_parts(parts))
}

/// The response with each sliced partition's records read into memory, for the encoder that
/// needs them as buffers.
fn with_slices_read(resp: &FetchResponse, slices: &[Option<FileSlice>]) -> Option<FetchResponse> {
    let mut filled = resp.clone();
    let mut slices = slices.iter();
    for t in &mut filled.responses {
        for p in &mut t.partitions {
            if let Some(Some(slice)) = slices.next() {
                match slice.read() {
                    Ok(bytes) => p.records = Some(bytes),
                    Err(e) => {
                        tracing::error!(error = %e, "reading fetched records failed");
                        return None;
                    }
                }
            }
        }
    }
    Some(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse};
    use kafka_protocol::messages::{BrokerId, ProducerId, TopicName};
    use kafka_protocol::protocol::StrBytes;
    use proptest::prelude::*;

    /// (partition, error, high watermark, records, read_committed)
    type Part = (i32, i16, i64, Option<Vec<u8>>, bool);

    fn response(version: i16, topics: Vec<(String, Vec<Part>)>) -> FetchResponse {
        let responses = topics
            .into_iter()
            .map(|(name, parts)| {
                let mut t = FetchableTopicResponse::default();
                if version >= 13 {
                    t.topic_id = uuid::Uuid::from_u128(name.len() as u128 + 7);
                } else {
                    t.topic = TopicName(StrBytes::from_string(name));
                }
                t.partitions = parts
                    .into_iter()
                    .map(|(i, e, hw, records, committed)| {
                        PartitionData::default()
                            .with_partition_index(i)
                            .with_error_code(e)
                            .with_high_watermark(hw)
                            .with_last_stable_offset(hw)
                            .with_log_start_offset(if version >= 5 { hw / 2 } else { -1 })
                            .with_preferred_read_replica(BrokerId(-1))
                            .with_aborted_transactions(committed.then(|| {
                                vec![AbortedTransaction::default()
                                    .with_producer_id(ProducerId(3))
                                    .with_first_offset(9)]
                            }))
                            .with_records(records.map(Bytes::from))
                    })
                    .collect();
                t
            })
            .collect();
        let mut r = FetchResponse::default()
            .with_responses(responses)
            .with_throttle_time_ms(5);
        if version >= 7 {
            r.session_id = 42;
            r.error_code = 0;
        }
        r
    }

    proptest! {
        #[test]
        fn bytes_equal_the_protocol_crate_encoding(
            version in 4i16..=18,
            topics in proptest::collection::vec(("[a-z]{1,12}", proptest::collection::vec((0i32..100, 0i16..3, 0i64..1_000_000, proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)), any::<bool>()), 0..4)), 0..4),
        ) {
            let r = response(version, topics);
            let ours = encode(77, &r, &[], version).unwrap().concat().unwrap();
            let theirs = codec::encode_response(77, ApiKey::Fetch.response_header_version(version), &r, version).unwrap();
            prop_assert_eq!(&ours[..], &theirs[..]);
        }
    }
}
