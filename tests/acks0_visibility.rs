//! acks=0 writes become readable on their own, with the default fsync-before-visible policy:
//! nobody waits for their fsync, so the broker must make them join the next group commit.

mod common;

use common::{
    batch, call, encode_request, long_poll_fetch, produce_request, RawClient, TestBroker,
};
use kafka_protocol::messages::*;
use strata::network::NetworkLimits;

/// Fire-and-forget records to two partitions, and nothing written after them: a long-polling
/// fetch must be answered with them. Its wait is 30 s; if the records never became readable it
/// would answer empty when the wait ends, and the assertions fail.
#[tokio::test]
async fn acks0_records_alone_become_readable() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: "fire".into(),
            partitions: 2,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create");
    let mut producer = RawClient::connect(b.addr).await;
    for (corr, partition) in [(1, 0), (2, 1), (3, 1)] {
        let req = produce_request("fire", partition, batch(2)).with_acks(0);
        producer
            .send_raw(&encode_request(ApiKey::Produce, 9, corr, &req))
            .await;
    }
    let mut consumer = RawClient::connect(b.addr).await;
    let mut seen = [0i64; 2];
    // Each round waits for new data on either partition; at most one round per record batch.
    for _ in 0..3 {
        if seen == [2, 4] {
            break;
        }
        let mut req = long_poll_fetch("fire", 2, 30_000);
        for p in &mut req.topics[0].partitions {
            p.fetch_offset = seen[p.partition as usize];
        }
        let r: FetchResponse = call(&mut consumer, ApiKey::Fetch, 12, &req).await;
        for p in &r.responses[0].partitions {
            assert_eq!(p.error_code, 0);
            seen[p.partition_index as usize] =
                seen[p.partition_index as usize].max(p.high_watermark);
        }
    }
    assert_eq!(seen, [2, 4], "high watermarks after the acks=0 writes");
    // And the producer's connection is still open and usable (acks=0 gets no answer).
    let req = produce_request("fire", 0, batch(1));
    let r: ProduceResponse = call(&mut producer, ApiKey::Produce, 9, &req).await;
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 2);
}
