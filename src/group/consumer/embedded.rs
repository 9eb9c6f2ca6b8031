//! The consumer protocol embedded in classic JoinGroup/SyncGroup bytes (Kafka's
//! ConsumerProtocol): an i16 version, then a ConsumerProtocolSubscription or
//! ConsumerProtocolAssignment body. Classic members of a consumer group are read and answered
//! through it.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::{Assignment, TopicImage};

/// The newest embedded version the codec knows; newer ones are read as it, as Kafka does.
const NEWEST: i16 = 3;

fn split_version(raw: &[u8]) -> Option<(i16, Bytes)> {
    let first = *raw.first()?;
    let second = *raw.get(1)?;
    let version = i16::from_be_bytes([first, second]);
    if version < 0 {
        return None;
    }
    Some((version, Bytes::copy_from_slice(raw.get(2..)?)))
}

/// A member's subscription, or None when the bytes are not a consumer-protocol subscription.
pub(crate) fn subscription(raw: &[u8]) -> Option<ConsumerProtocolSubscription> {
    let (version, mut body) = split_version(raw)?;
    ConsumerProtocolSubscription::decode(&mut body, version.min(NEWEST)).ok()
}

/// The version a member's subscription was written in; its assignment is answered in it.
pub(crate) fn version(raw: &[u8]) -> i16 {
    split_version(raw).map_or(0, |(v, _)| v.min(NEWEST))
}

/// Partitions by topic id; topics the image does not know are dropped (they were deleted).
fn by_id<'a>(
    topics: impl Iterator<Item = (&'a TopicName, &'a Vec<i32>)>,
    image: &TopicImage,
) -> Assignment {
    let mut out = Assignment::new();
    for (name, parts) in topics {
        if let Some(t) = image.get(name.0.as_str()) {
            let set = out.entry(t.id).or_default();
            set.extend(
                parts
                    .iter()
                    .copied()
                    .filter(|p| (0..t.partitions).contains(p)),
            );
        }
    }
    out.retain(|_, p| !p.is_empty());
    out
}

/// The partitions a subscription says the member owns (cooperative members list them).
pub(crate) fn owned(sub: &ConsumerProtocolSubscription, image: &TopicImage) -> Assignment {
    by_id(
        sub.owned_partitions
            .iter()
            .map(|t| (&t.topic, &t.partitions)),
        image,
    )
}

/// The partitions of a classic assignment, or None when the bytes are not one. Empty bytes
/// (a member that never received an assignment) are an empty assignment.
pub(crate) fn assignment(raw: &[u8], image: &TopicImage) -> Option<Assignment> {
    if raw.is_empty() {
        return Some(Assignment::new());
    }
    let (version, mut body) = split_version(raw)?;
    let a = ConsumerProtocolAssignment::decode(&mut body, version.min(NEWEST)).ok()?;
    Some(by_id(
        a.assigned_partitions
            .iter()
            .map(|t| (&t.topic, &t.partitions)),
        image,
    ))
}

/// A classic assignment for `assigned`, written in `version`. Topics the image no longer
/// knows are left out.
pub(crate) fn encode_assignment(assigned: &Assignment, image: &TopicImage, version: i16) -> Bytes {
    let assigned_partitions = assigned
        .iter()
        .filter_map(|(id, parts)| {
            let name = image.name(id)?;
            Some(
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                    .with_partitions(parts.iter().copied().collect()),
            )
        })
        .collect();
    let a = ConsumerProtocolAssignment::default().with_assigned_partitions(assigned_partitions);
    let version = version.clamp(0, NEWEST);
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    // Encoding a struct the crate built itself only fails on a version it does not know,
    // which the clamp rules out; an empty assignment is the safe answer regardless.
    if a.encode(&mut buf, version).is_err() {
        buf.clear();
        buf.put_i16(version);
        buf.put_i32(0);
        buf.put_i32(-1);
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::consumer::TopicInfo;
    use uuid::Uuid;

    fn image() -> TopicImage {
        TopicImage::new([(
            "a".to_string(),
            TopicInfo {
                id: Uuid::from_u128(1),
                partitions: 3,
            },
        )])
    }

    #[test]
    fn assignment_round_trips_through_every_version() {
        let img = image();
        let mut a = Assignment::new();
        a.insert(Uuid::from_u128(1), [0, 2].into_iter().collect());
        for v in 0..=3 {
            let raw = encode_assignment(&a, &img, v);
            assert_eq!(version(&raw), v);
            assert_eq!(assignment(&raw, &img), Some(a.clone()));
        }
    }

    #[test]
    fn garbage_is_refused_not_trusted() {
        let img = image();
        assert_eq!(assignment(&[0xff, 0xff, 1, 2], &img), None);
        assert_eq!(assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff], &img), None);
        assert!(subscription(&[0]).is_none());
        assert!(subscription(&[0, 1, 0x7f, 0xff, 0xff, 0xff]).is_none());
        assert_eq!(assignment(&[], &img), Some(Assignment::new()));
    }

    #[test]
    fn unknown_topics_and_partitions_are_dropped() {
        let img = image();
        let a = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            AssignedTopic::default()
                .with_topic(TopicName(StrBytes::from_static_str("a")))
                .with_partitions(vec![1, 7, -1]),
            AssignedTopic::default()
                .with_topic(TopicName(StrBytes::from_static_str("gone")))
                .with_partitions(vec![0]),
        ]);
        let mut raw = BytesMut::new();
        raw.put_i16(1);
        a.encode(&mut raw, 1).unwrap();
        let got = assignment(&raw, &img).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[&Uuid::from_u128(1)], [1].into_iter().collect());
    }
}
