//! Records the coordinator asks the driver to make durable, and their key/value encoding in the
//! internal compacted offsets log. The format is ours and versioned (documented below); the log's
//! batch CRC guards the bytes, and decoding bounds every length by the bytes left.
//!
//! Key:   u8 kind (1 = classic group metadata, 2 = offset, 3 = consumer group, 4 = offset
//!        pending in a transaction), u16-length group id; offset keys add a u16-length topic and
//!        an i32 partition; pending offset keys then add the producer id (i64).
//! Value: u16 version (0), then the fields in declaration order. Strings carry a u16 length,
//!        optional strings a presence byte first, byte blobs a u32 length; member lists a u32
//!        count. A tombstone is an absent value.

use bytes::Bytes;

use super::codec::{Reader, Writer};
pub use super::consumer::record::ConsumerGroupValue;
use super::error::GroupRecordError;

const KIND_GROUP: u8 = 1;
const KIND_OFFSET: u8 = 2;
const KIND_CONSUMER_GROUP: u8 = 3;
const KIND_TXN_OFFSET: u8 = 4;
const VALUE_VERSION: u16 = 0;

#[derive(Debug, Clone, PartialEq)]
pub enum GroupRecord {
    /// Full group metadata after a rebalance completes, or a tombstone when the group is deleted
    /// or expired.
    GroupMetadata {
        group_id: String,
        value: Option<GroupMetadataValue>,
    },
    /// A committed offset, or a tombstone on delete/expiry.
    Offset {
        group_id: String,
        topic: String,
        partition: i32,
        value: Option<OffsetValue>,
    },
    /// An offset committed inside producer `producer_id`'s open transaction; tombstoned when
    /// the transaction ends (a commit writes the offset as an `Offset` record too).
    TxnOffset {
        group_id: String,
        producer_id: i64,
        topic: String,
        partition: i32,
        value: Option<OffsetValue>,
    },
    /// A KIP-848 consumer group's whole state after a change (`consumer::record`), or a
    /// tombstone when the group is deleted, expires or turns back into a classic group.
    ConsumerGroup {
        group_id: String,
        value: Option<ConsumerGroupValue>,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupMetadataValue {
    /// Empty for a group used only to store offsets.
    pub protocol_type: String,
    pub generation: i32,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    /// When the group entered its current state: the base of offset expiry for Empty groups
    /// (KIP-211).
    pub state_timestamp_ms: i64,
    pub members: Vec<MemberValue>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the chosen protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// Smallest encoding of one member, used to bound the member count by the bytes left.
const MIN_MEMBER_BYTES: usize = 2 + 1 + 2 + 2 + 4 + 4 + 4 + 4;

impl GroupRecord {
    pub fn group_id(&self) -> &str {
        match self {
            GroupRecord::GroupMetadata { group_id, .. }
            | GroupRecord::Offset { group_id, .. }
            | GroupRecord::TxnOffset { group_id, .. }
            | GroupRecord::ConsumerGroup { group_id, .. } => group_id,
        }
    }

    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = Writer::new();
        match self {
            GroupRecord::GroupMetadata { group_id, value } => {
                key.u8(KIND_GROUP);
                key.string(group_id);
                (key.finish(), value.as_ref().map(encode_group))
            }
            GroupRecord::Offset {
                group_id,
                topic,
                partition,
                value,
            } => {
                key.u8(KIND_OFFSET);
                key.string(group_id);
                key.string(topic);
                key.i32(*partition);
                (key.finish(), value.as_ref().map(encode_offset))
            }
            GroupRecord::TxnOffset {
                group_id,
                producer_id,
                topic,
                partition,
                value,
            } => {
                key.u8(KIND_TXN_OFFSET);
                key.string(group_id);
                key.string(topic);
                key.i32(*partition);
                key.i64(*producer_id);
                (key.finish(), value.as_ref().map(encode_offset))
            }
            GroupRecord::ConsumerGroup { group_id, value } => {
                key.u8(KIND_CONSUMER_GROUP);
                key.string(group_id);
                let value = value.as_ref().map(|v| {
                    let mut w = Writer::new();
                    w.u16(super::consumer::record::VERSION);
                    super::consumer::record::encode(&mut w, v);
                    w.finish()
                });
                (key.finish(), value)
            }
        }
    }

    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<GroupRecord, GroupRecordError> {
        let mut k = Reader::new(key);
        match k.u8()? {
            KIND_GROUP => {
                let group_id = k.string("group id")?;
                k.finish()?;
                let value = value.map(decode_group).transpose()?;
                Ok(GroupRecord::GroupMetadata { group_id, value })
            }
            KIND_OFFSET => {
                let group_id = k.string("group id")?;
                let topic = k.string("topic")?;
                let partition = k.i32()?;
                k.finish()?;
                let value = value.map(decode_offset).transpose()?;
                Ok(GroupRecord::Offset {
                    group_id,
                    topic,
                    partition,
                    value,
                })
            }
            KIND_TXN_OFFSET => {
                let group_id = k.string("group id")?;
                let topic = k.string("topic")?;
                let partition = k.i32()?;
                let producer_id = k.i64()?;
                k.finish()?;
                let value = value.map(decode_offset).transpose()?;
                Ok(GroupRecord::TxnOffset {
                    group_id,
                    producer_id,
                    topic,
                    partition,
                    value,
                })
            }
            KIND_CONSUMER_GROUP => {
                let group_id = k.string("group id")?;
                k.finish()?;
                let value = value
                    .map(|raw| {
                        let mut r = Reader::new(raw);
                        let version = r.u16()?;
                        if version > super::consumer::record::VERSION {
                            return Err(GroupRecordError::UnsupportedVersion {
                                what: "consumer group",
                                version,
                            });
                        }
                        let v = super::consumer::record::decode(&mut r, version)?;
                        r.finish()?;
                        Ok(v)
                    })
                    .transpose()?;
                Ok(GroupRecord::ConsumerGroup { group_id, value })
            }
            other => Err(GroupRecordError::UnknownKind(other)),
        }
    }
}

fn encode_group(v: &GroupMetadataValue) -> Bytes {
    let mut w = Writer::new();
    w.u16(VALUE_VERSION);
    w.string(&v.protocol_type);
    w.i32(v.generation);
    w.opt_string(v.protocol_name.as_deref());
    w.opt_string(v.leader.as_deref());
    w.i64(v.state_timestamp_ms);
    w.u32(u32::try_from(v.members.len()).unwrap_or(u32::MAX));
    for m in &v.members {
        w.string(&m.member_id);
        w.opt_string(m.group_instance_id.as_deref());
        w.string(&m.client_id);
        w.string(&m.client_host);
        w.i32(m.rebalance_timeout_ms);
        w.i32(m.session_timeout_ms);
        w.bytes(&m.subscription);
        w.bytes(&m.assignment);
    }
    w.finish()
}

fn decode_group(raw: &[u8]) -> Result<GroupMetadataValue, GroupRecordError> {
    let mut r = Reader::new(raw);
    check_version(&mut r, "group metadata")?;
    let protocol_type = r.string("protocol type")?;
    let generation = r.i32()?;
    let protocol_name = r.opt_string("protocol name")?;
    let leader = r.opt_string("leader")?;
    let state_timestamp_ms = r.i64()?;
    let count = r.u32()?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > r.remaining() / MIN_MEMBER_BYTES {
        return Err(GroupRecordError::InvalidLength {
            what: "member count",
            len: i64::try_from(count).unwrap_or(i64::MAX),
        });
    }
    let mut members = Vec::with_capacity(count);
    for _ in 0..count {
        members.push(MemberValue {
            member_id: r.string("member id")?,
            group_instance_id: r.opt_string("group instance id")?,
            client_id: r.string("client id")?,
            client_host: r.string("client host")?,
            rebalance_timeout_ms: r.i32()?,
            session_timeout_ms: r.i32()?,
            subscription: r.bytes("subscription")?,
            assignment: r.bytes("assignment")?,
        });
    }
    r.finish()?;
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol_name,
        leader,
        state_timestamp_ms,
        members,
    })
}

fn encode_offset(v: &OffsetValue) -> Bytes {
    let mut w = Writer::new();
    w.u16(VALUE_VERSION);
    w.i64(v.offset);
    w.i32(v.leader_epoch);
    w.string(&v.metadata);
    w.i64(v.commit_timestamp_ms);
    w.finish()
}

fn decode_offset(raw: &[u8]) -> Result<OffsetValue, GroupRecordError> {
    let mut r = Reader::new(raw);
    check_version(&mut r, "offset")?;
    let v = OffsetValue {
        offset: r.i64()?,
        leader_epoch: r.i32()?,
        metadata: r.string("offset metadata")?,
        commit_timestamp_ms: r.i64()?,
    };
    r.finish()?;
    Ok(v)
}

fn check_version(r: &mut Reader<'_>, what: &'static str) -> Result<(), GroupRecordError> {
    match r.u16()? {
        VALUE_VERSION => Ok(()),
        version => Err(GroupRecordError::UnsupportedVersion { what, version }),
    }
}
