//! The record codec: round trips, and decoding arbitrary bytes never panics.

use proptest::prelude::*;

use super::*;

fn member() -> impl Strategy<Value = MemberValue> {
    (
        ".{0,20}",
        proptest::option::of(".{0,10}"),
        ".{0,10}",
        ".{0,10}",
        any::<i32>(),
        any::<i32>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(id, inst, client, host, r, s, sub, asg)| MemberValue {
            member_id: id,
            group_instance_id: inst,
            client_id: client,
            client_host: host,
            rebalance_timeout_ms: r,
            session_timeout_ms: s,
            subscription: Bytes::from(sub),
            assignment: Bytes::from(asg),
        })
}

fn record() -> impl Strategy<Value = GroupRecord> {
    let group = (
        ".{0,20}",
        proptest::option::of((
            ".{0,10}",
            any::<i32>(),
            proptest::option::of(".{0,10}"),
            proptest::option::of(".{0,10}"),
            any::<i64>(),
            proptest::collection::vec(member(), 0..4),
        )),
    )
        .prop_map(|(group_id, v)| GroupRecord::GroupMetadata {
            group_id,
            value: v.map(|(pt, g, pn, l, ts, members)| GroupMetadataValue {
                protocol_type: pt,
                generation: g,
                protocol_name: pn,
                leader: l,
                state_timestamp_ms: ts,
                members,
            }),
        });
    let offset = (
        ".{0,20}",
        ".{0,20}",
        any::<i32>(),
        proptest::option::of((any::<i64>(), any::<i32>(), ".{0,30}", any::<i64>())),
    )
        .prop_map(|(group_id, topic, partition, v)| GroupRecord::Offset {
            group_id,
            topic,
            partition,
            value: v.map(|(offset, leader_epoch, metadata, ts)| OffsetValue {
                offset,
                leader_epoch,
                metadata,
                commit_timestamp_ms: ts,
            }),
        });
    prop_oneof![group, offset]
}

proptest! {
    #[test]
    fn round_trip(r in record()) {
        let (k, v) = r.encode();
        prop_assert_eq!(GroupRecord::decode(&k, v.as_deref()), Ok(r));
    }

    #[test]
    fn arbitrary_bytes_never_panic(k in proptest::collection::vec(any::<u8>(), 0..64),
                                   v in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256))) {
        let _ = GroupRecord::decode(&k, v.as_deref());
    }

    #[test]
    fn truncated_or_extended_records_fail(r in record(), cut in any::<prop::sample::Index>()) {
        let (k, v) = r.encode();
        if let Some(v) = v {
            let at = cut.index(v.len());
            prop_assert!(GroupRecord::decode(&k, Some(&v[..at])).is_err());
            let mut longer = v.to_vec();
            longer.push(0);
            prop_assert_eq!(GroupRecord::decode(&k, Some(&longer)), Err(GroupRecordError::TrailingBytes(1)));
        }
        let at = cut.index(k.len());
        prop_assert!(GroupRecord::decode(&k[..at], None).is_err());
    }
}

#[test]
fn huge_member_count_is_rejected_before_allocating() {
    let r = GroupRecord::GroupMetadata {
        group_id: "g".into(),
        value: Some(GroupMetadataValue::default()),
    };
    let (k, v) = r.encode();
    let mut v = v.expect("value").to_vec();
    let n = v.len();
    v[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        GroupRecord::decode(&k, Some(&v)),
        Err(GroupRecordError::InvalidLength { .. })
    ));
}

#[test]
fn unknown_kind_and_version() {
    assert_eq!(
        GroupRecord::decode(&[9], None),
        Err(GroupRecordError::UnknownKind(9))
    );
    let r = GroupRecord::Offset {
        group_id: "g".into(),
        topic: "t".into(),
        partition: 0,
        value: Some(OffsetValue::default()),
    };
    let (k, v) = r.encode();
    let mut v = v.expect("value").to_vec();
    v[1] = 1;
    assert_eq!(
        GroupRecord::decode(&k, Some(&v)),
        Err(GroupRecordError::UnsupportedVersion {
            what: "offset",
            version: 1
        })
    );
}

#[test]
fn long_strings_are_cut_at_the_length_limit() {
    let long = "é".repeat(40_000);
    let r = GroupRecord::Offset {
        group_id: "g".into(),
        topic: long,
        partition: 0,
        value: None,
    };
    let (k, _) = r.encode();
    let GroupRecord::Offset { topic, .. } = GroupRecord::decode(&k, None).expect("decodes") else {
        panic!()
    };
    assert!(topic.len() <= usize::from(u16::MAX) && topic.len() >= usize::from(u16::MAX) - 1);
}
