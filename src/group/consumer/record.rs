//! The persisted form of a consumer group: one snapshot record per change, keyed by group id
//! (the log's compaction keeps the newest). Kafka writes finer-grained records (member,
//! target, current assignment); a whole-group snapshot is simpler to replay and validate, and a
//! group's state changes far less often than its members heartbeat.
//!
//! Value (after the record's u16 version): i64 state timestamp, i32 group epoch, i32 assignment epoch,
//! u32 count of subscribed topics (name, 16-byte id, i32 partitions), u32 count of members:
//! id, instance id?, rack id?, client id, client host, i32 rebalance timeout, u32 count of
//! topic names, regex?, assignor?, i32 epoch, i32 previous epoch, u8 state, then three
//! assignments (assigned, pending revocation, target), each a u32 count of (id, u32 count of
//! i32 partitions). Version 1 adds, per member, a u8 flag and for classic members an i32
//! session timeout and a u32 count of protocols (name, bytes metadata).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Assignment, ClassicMember, ConsumerGroup, ConsumerMember, MemberState, TopicInfo};
use crate::group::codec::{Reader, Writer};
use crate::group::error::GroupRecordError;

/// The snapshot version written; 0 (without classic members) is still read.
pub(crate) const VERSION: u16 = 1;

/// What a snapshot holds; decoded and checked before anything is rebuilt from it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerGroupValue {
    /// When the group entered its current state; offsets of an empty group expire from it.
    pub state_timestamp_ms: i64,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub subscription_metadata: Vec<(String, TopicInfo)>,
    pub members: Vec<ConsumerMemberValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerMemberValue {
    pub member: ConsumerMemberData,
    pub target: Assignment,
}

/// A member's persisted fields (timers are not persisted).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerMemberData {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: u8,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// (session timeout, protocols) of a classic member.
    pub classic: Option<(i32, Vec<(String, Bytes)>)>,
}

pub(crate) fn snapshot(cg: &ConsumerGroup, state_timestamp_ms: i64) -> ConsumerGroupValue {
    ConsumerGroupValue {
        state_timestamp_ms,
        group_epoch: cg.group_epoch,
        assignment_epoch: cg.assignment_epoch,
        subscription_metadata: cg
            .subscription_metadata
            .iter()
            .map(|(n, t)| (n.clone(), *t))
            .collect(),
        members: cg
            .members
            .values()
            .map(|m| ConsumerMemberValue {
                member: ConsumerMemberData {
                    id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    subscribed_topic_names: m.subscribed_topic_names.clone(),
                    subscribed_topic_regex: m.subscribed_topic_regex.clone(),
                    server_assignor: m.server_assignor.clone(),
                    epoch: m.epoch,
                    previous_epoch: m.previous_epoch,
                    state: m.state.code(),
                    assigned: m.assigned.clone(),
                    pending_revocation: m.pending_revocation.clone(),
                    classic: m
                        .classic
                        .as_ref()
                        .map(|c| (c.session_timeout_ms, c.protocols.clone())),
                },
                target: cg.target.get(&m.id).cloned().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Rebuilds a group from its snapshot. Members come back without timers: the coordinator arms
/// their sessions from the first moment it runs.
pub(crate) fn restore(v: &ConsumerGroupValue) -> ConsumerGroup {
    let mut cg = ConsumerGroup {
        group_epoch: v.group_epoch,
        assignment_epoch: v.assignment_epoch,
        subscription_metadata: v.subscription_metadata.iter().cloned().collect(),
        ..Default::default()
    };
    for mv in &v.members {
        let d = &mv.member;
        let member = ConsumerMember {
            id: d.id.clone(),
            instance_id: d.instance_id.clone(),
            rack_id: d.rack_id.clone(),
            client_id: d.client_id.clone(),
            client_host: d.client_host.clone(),
            rebalance_timeout_ms: d.rebalance_timeout_ms,
            subscribed_topic_names: d.subscribed_topic_names.clone(),
            subscribed_topic_regex: d.subscribed_topic_regex.clone(),
            server_assignor: d.server_assignor.clone(),
            epoch: d.epoch,
            previous_epoch: d.previous_epoch,
            state: MemberState::from_code(d.state).unwrap_or(MemberState::Stable),
            assigned: d.assigned.clone(),
            pending_revocation: d.pending_revocation.clone(),
            classic: d
                .classic
                .as_ref()
                .map(|(session, protocols)| ClassicMember {
                    session_timeout_ms: *session,
                    protocols: protocols.clone(),
                }),
            session_deadline_ms: None,
            rebalance_deadline_ms: None,
            join_deadline_ms: None,
            sync_deadline_ms: None,
        };
        cg.target.insert(d.id.clone(), mv.target.clone());
        cg.add_member(member);
    }
    cg
}

pub(crate) fn encode(w: &mut Writer, v: &ConsumerGroupValue) {
    w.i64(v.state_timestamp_ms);
    w.i32(v.group_epoch);
    w.i32(v.assignment_epoch);
    w.count(v.subscription_metadata.len());
    for (name, t) in &v.subscription_metadata {
        w.string(name);
        w.uuid(&t.id);
        w.i32(t.partitions);
    }
    w.count(v.members.len());
    for mv in &v.members {
        let m = &mv.member;
        w.string(&m.id);
        w.opt_string(m.instance_id.as_deref());
        w.opt_string(m.rack_id.as_deref());
        w.string(&m.client_id);
        w.string(&m.client_host);
        w.i32(m.rebalance_timeout_ms);
        w.count(m.subscribed_topic_names.len());
        for n in &m.subscribed_topic_names {
            w.string(n);
        }
        w.opt_string(m.subscribed_topic_regex.as_deref());
        w.opt_string(m.server_assignor.as_deref());
        w.i32(m.epoch);
        w.i32(m.previous_epoch);
        w.u8(m.state);
        for a in [&m.assigned, &m.pending_revocation, &mv.target] {
            encode_assignment(w, a);
        }
        match &m.classic {
            None => w.u8(0),
            Some((session, protocols)) => {
                w.u8(1);
                w.i32(*session);
                w.count(protocols.len());
                for (name, meta) in protocols {
                    w.string(name);
                    w.bytes(meta);
                }
            }
        }
    }
}

fn encode_assignment(w: &mut Writer, a: &Assignment) {
    w.count(a.len());
    for (t, parts) in a {
        w.uuid(t);
        w.count(parts.len());
        for p in parts {
            w.i32(*p);
        }
    }
}

/// Smallest encodings, to bound counts by the bytes left.
const MIN_TOPIC_BYTES: usize = 2 + 16 + 4;
const MIN_MEMBER_BYTES: usize = 2 + 1 + 1 + 2 + 2 + 4 + 4 + 1 + 1 + 4 + 4 + 1 + 12;

pub(crate) fn decode(
    r: &mut Reader<'_>,
    version: u16,
) -> Result<ConsumerGroupValue, GroupRecordError> {
    let state_timestamp_ms = r.i64()?;
    let group_epoch = r.i32()?;
    let assignment_epoch = r.i32()?;
    let n = r.count("subscribed topics", MIN_TOPIC_BYTES)?;
    let mut subscription_metadata = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.string("topic")?;
        let id = r.uuid()?;
        let partitions = r.i32()?;
        if partitions < 0 {
            return Err(GroupRecordError::InvalidLength {
                what: "partition count",
                len: i64::from(partitions),
            });
        }
        subscription_metadata.push((name, TopicInfo { id, partitions }));
    }
    let n = r.count("members", MIN_MEMBER_BYTES)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.string("member id")?;
        let instance_id = r.opt_string("instance id")?;
        let rack_id = r.opt_string("rack id")?;
        let client_id = r.string("client id")?;
        let client_host = r.string("client host")?;
        let rebalance_timeout_ms = r.i32()?;
        let names = r.count("topic names", 2)?;
        let mut subscribed_topic_names = Vec::with_capacity(names);
        for _ in 0..names {
            subscribed_topic_names.push(r.string("topic name")?);
        }
        let subscribed_topic_regex = r.opt_string("regex")?;
        let server_assignor = r.opt_string("assignor")?;
        let epoch = r.i32()?;
        let previous_epoch = r.i32()?;
        let state = r.u8()?;
        if MemberState::from_code(state).is_none() {
            return Err(GroupRecordError::InvalidLength {
                what: "member state",
                len: i64::from(state),
            });
        }
        let assigned = decode_assignment(r)?;
        let pending_revocation = decode_assignment(r)?;
        let target = decode_assignment(r)?;
        let classic = if version >= 1 {
            decode_classic(r)?
        } else {
            None
        };
        members.push(ConsumerMemberValue {
            member: ConsumerMemberData {
                id,
                instance_id,
                rack_id,
                client_id,
                client_host,
                rebalance_timeout_ms,
                subscribed_topic_names,
                subscribed_topic_regex,
                server_assignor,
                epoch,
                previous_epoch,
                state,
                assigned,
                pending_revocation,
                classic,
            },
            target,
        });
    }
    Ok(ConsumerGroupValue {
        state_timestamp_ms,
        group_epoch,
        assignment_epoch,
        subscription_metadata,
        members,
    })
}

type ClassicValue = Option<(i32, Vec<(String, Bytes)>)>;

fn decode_classic(r: &mut Reader<'_>) -> Result<ClassicValue, GroupRecordError> {
    match r.u8()? {
        0 => Ok(None),
        1 => {
            let session = r.i32()?;
            let n = r.count("classic protocols", 2 + 4)?;
            let mut protocols = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.string("protocol name")?;
                let meta = r.bytes("protocol metadata")?;
                protocols.push((name, meta));
            }
            Ok(Some((session, protocols)))
        }
        flag => Err(GroupRecordError::InvalidLength {
            what: "classic member flag",
            len: i64::from(flag),
        }),
    }
}

fn decode_assignment(r: &mut Reader<'_>) -> Result<Assignment, GroupRecordError> {
    let n = r.count("assignment topics", 16 + 4)?;
    let mut a = BTreeMap::new();
    for _ in 0..n {
        let t = r.uuid()?;
        let parts = r.count("assignment partitions", 4)?;
        let mut set = std::collections::BTreeSet::new();
        for _ in 0..parts {
            set.insert(r.i32()?);
        }
        a.insert(t, set);
    }
    Ok(a)
}
