//! The partition side of transactions over the wire: markers written with WriteTxnMarkers (as
//! `kafka-transactions.sh abort` sends them), read_committed Fetch stopping at the last stable
//! offset and listing aborted transactions, ListOffsets per isolation level, DescribeProducers.

mod common;

use bytes::Bytes;
use common::{call, topic_name, RawClient, TestBroker};
use kafka_protocol::messages::*;
use strata::network::NetworkLimits;
use strata::types::TopicPartition;

/// A transactional batch of `n` records from `pid`, epoch 0, starting at `seq`.
fn txn_batch(pid: i64, seq: i32, n: usize) -> Bytes {
    let mut records = Vec::new();
    for i in 0..n {
        let body = [0u8, 0, (i as u8) << 1, 1, 2, b'v', 0];
        records.push((body.len() as u8) << 1);
        records.extend_from_slice(&body);
    }
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0x10i16.to_be_bytes()); // transactional
    b.extend_from_slice(&(n as i32 - 1).to_be_bytes());
    b.extend_from_slice(&1_000i64.to_be_bytes());
    b.extend_from_slice(&1_000i64.to_be_bytes());
    b.extend_from_slice(&pid.to_be_bytes());
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(n as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

fn markers(pid: i64, commit: bool, topic: &str, partitions: &[i32]) -> WriteTxnMarkersRequest {
    WriteTxnMarkersRequest::default().with_markers(vec![
        write_txn_markers_request::WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(0)
            .with_transaction_result(commit)
            .with_coordinator_epoch(0)
            .with_topics(vec![
                write_txn_markers_request::WritableTxnMarkerTopic::default()
                    .with_name(topic_name(topic))
                    .with_partition_indexes(partitions.to_vec()),
            ]),
    ])
}

fn fetch(topic: &str, isolation: i8) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])])
}

fn latest(topic: &str, isolation: i8) -> ListOffsetsRequest {
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation)
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1),
            ])])
}

#[tokio::test]
async fn markers_set_the_last_stable_offset_and_aborted_transactions() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: "tx".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create");
    let part = b
        .broker
        .partition(&TopicPartition::new("tx", 0))
        .expect("partition");
    // Producer 11 writes 0-1 and aborts (marker 2); producer 12 writes 3-4 and stays open.
    part.log
        .append(&[txn_batch(11, 0, 2)], 0, None, 1_000)
        .expect("append");
    let mut c = RawClient::connect(b.addr).await;
    let r: WriteTxnMarkersResponse = call(
        &mut c,
        ApiKey::WriteTxnMarkers,
        1,
        &markers(11, false, "tx", &[0]),
    )
    .await;
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    part.log
        .append(&[txn_batch(12, 0, 2)], 0, None, 1_000)
        .expect("append");
    part.log
        .wait_durable(strata::types::Offset(5))
        .await
        .expect("durable");

    let committed: FetchResponse = call(&mut c, ApiKey::Fetch, 12, &fetch("tx", 1)).await;
    let p = &committed.responses[0].partitions[0];
    assert_eq!((p.high_watermark, p.last_stable_offset), (5, 3));
    let aborted: Vec<(i64, i64)> = p
        .aborted_transactions
        .iter()
        .flatten()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    assert_eq!(aborted, vec![(11, 0)]);
    let uncommitted: FetchResponse = call(&mut c, ApiKey::Fetch, 12, &fetch("tx", 0)).await;
    assert!(uncommitted.responses[0].partitions[0]
        .aborted_transactions
        .is_none());
    for (isolation, want) in [(0, 5), (1, 3)] {
        let r: ListOffsetsResponse =
            call(&mut c, ApiKey::ListOffsets, 7, &latest("tx", isolation)).await;
        assert_eq!(
            r.topics[0].partitions[0].offset, want,
            "isolation {isolation}"
        );
    }

    let describe = DescribeProducersRequest::default().with_topics(vec![
        describe_producers_request::TopicRequest::default()
            .with_name(topic_name("tx"))
            .with_partition_indexes(vec![0, 9]),
    ]);
    let r: DescribeProducersResponse = call(&mut c, ApiKey::DescribeProducers, 0, &describe).await;
    let parts = &r.topics[0].partitions;
    let producers: Vec<(i64, i32, i64)> = parts[0]
        .active_producers
        .iter()
        .map(|p| (p.producer_id.0, p.last_sequence, p.current_txn_start_offset))
        .collect();
    assert_eq!(producers, vec![(11, 1, -1), (12, 1, 3)]);
    assert_eq!(parts[1].error_code, 3, "unknown partition");

    // Committing producer 12 releases the last stable offset past its marker.
    let r: WriteTxnMarkersResponse = call(
        &mut c,
        ApiKey::WriteTxnMarkers,
        1,
        &markers(12, true, "tx", &[0, 7]),
    )
    .await;
    let codes: Vec<i16> = r.markers[0].topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, vec![0, 3]);
    let r: ListOffsetsResponse = call(&mut c, ApiKey::ListOffsets, 7, &latest("tx", 1)).await;
    assert_eq!(r.topics[0].partitions[0].offset, 6);
    let committed: FetchResponse = call(&mut c, ApiKey::Fetch, 12, &fetch("tx", 1)).await;
    let p = &committed.responses[0].partitions[0];
    assert_eq!((p.high_watermark, p.last_stable_offset), (6, 6));
}
