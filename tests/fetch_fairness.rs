//! Incremental fetch sessions share the response budget: a partition that keeps receiving writes
//! must not starve the others (Kafka moves a partition that returned data to the end of the
//! session's order, KIP-227).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{batch_of, call, produce_request, topic_name, RawClient, TestBroker};
use kafka_protocol::messages::*;
use strata::network::NetworkLimits;

const TOPIC: &str = "fair";
const PARTITIONS: i32 = 3;
/// Batches each partition holds before fetching starts: far more than the fetches below read.
const BACKLOG_BATCHES: usize = 60;
/// About two batches: one partition's backlog alone fills every response.
const MAX_BYTES: i32 = 1_300;
const FETCHES: usize = 30;
/// Every backlogged partition must return data at least once in this many consecutive fetches.
const WINDOW: usize = 2 * PARTITIONS as usize;

fn ten_records() -> bytes::Bytes {
    let value = [b'x'; 50];
    batch_of(&[&value[..]; 10], 1_000)
}

async fn produce(c: &mut RawClient, partition: i32) {
    let r: ProduceResponse = call(
        c,
        ApiKey::Produce,
        9,
        &produce_request(TOPIC, partition, ten_records()),
    )
    .await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
}

fn fetch(
    session_id: i32,
    epoch: i32,
    offsets: &[(i32, i64)],
) -> kafka_protocol::messages::FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(MAX_BYTES)
        .with_session_id(session_id)
        .with_session_epoch(epoch)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(TOPIC))
            .with_partitions(
                offsets
                    .iter()
                    .map(|(p, o)| {
                        fetch_request::FetchPartition::default()
                            .with_partition(*p)
                            .with_fetch_offset(*o)
                            .with_partition_max_bytes(MAX_BYTES)
                    })
                    .collect(),
            )])
}

/// The partitions that returned whole batches, with the offset after the last one.
fn progress(r: &FetchResponse) -> Vec<(i32, i64)> {
    assert_eq!(r.error_code, 0);
    r.responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .filter_map(|p| {
            assert_eq!(p.error_code, 0);
            let records = p.records.clone().unwrap_or_default();
            let (batches, _) = strata::record::batch::split_batches(&records);
            batches
                .last()
                .map(|(_, h)| (p.partition_index, h.last_offset() + 1))
        })
        .collect()
}

/// Partition 0 is written to for as long as the fetches run; partitions 1 and 2 only hold a
/// backlog. A session-based consumer with a small budget must see every partition progress
/// within a bounded number of fetches; which one goes first is the session's order.
#[tokio::test]
async fn a_busy_partition_does_not_starve_the_others() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: TOPIC.into(),
            partitions: PARTITIONS,
            replication_factor: 1,
            configs: vec![],
        })
        .expect("create");
    let mut producer = RawClient::connect(b.addr).await;
    for _ in 0..BACKLOG_BATCHES {
        for p in 0..PARTITIONS {
            produce(&mut producer, p).await;
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            // Bounded by count as well, should the reader stop early.
            while !done.load(Ordering::Relaxed) && n < 10_000 {
                produce(&mut producer, 0).await;
                n += 1;
            }
            n
        })
    };

    let mut c = RawClient::connect(b.addr).await;
    let mut offsets: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let all: Vec<(i32, i64)> = offsets.iter().map(|(p, o)| (*p, *o)).collect();
    let r: FetchResponse = call(&mut c, ApiKey::Fetch, 12, &fetch(0, 0, &all)).await;
    let session = r.session_id;
    assert_ne!(session, 0, "a full fetch with epoch 0 opens a session");
    let mut served: Vec<Vec<i32>> = Vec::new();
    let mut changed = progress(&r);
    for epoch in 1..=FETCHES as i32 {
        served.push(changed.iter().map(|(p, _)| *p).collect());
        for (p, next) in &changed {
            offsets.insert(*p, *next);
        }
        // An incremental fetch names only the partitions whose position moved.
        let r: FetchResponse =
            call(&mut c, ApiKey::Fetch, 12, &fetch(session, epoch, &changed)).await;
        changed = progress(&r);
    }
    done.store(true, Ordering::Relaxed);
    let written = writer.await.expect("writer");
    assert!(written > 0, "the writer never produced");

    for p in 0..PARTITIONS {
        for (start, window) in served.windows(WINDOW).enumerate() {
            assert!(
                window.iter().any(|s| s.contains(&p)),
                "partition {p} got nothing in fetches {start}..{}: {served:?}",
                start + WINDOW
            );
        }
    }
    let counts: Vec<usize> = (0..PARTITIONS)
        .map(|p| served.iter().filter(|s| s.contains(&p)).count())
        .collect();
    println!("fetches serving each partition out of {FETCHES}: {counts:?}");
}
