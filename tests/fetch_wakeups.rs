//! Long-polling fetches are woken by data on their own partitions, across topics and connections,
//! and answer with it well before their wait ends.

mod common;

use std::time::Duration;

use common::{batch, call, long_poll_fetch, produce_request, RawClient, TestBroker};
use kafka_protocol::messages::*;
use strata::network::NetworkLimits;

async fn produce(c: &mut RawClient, topic: &str, partition: i32) {
    let req = produce_request(topic, partition, batch(3));
    let r: ProduceResponse = call(c, ApiKey::Produce, 9, &req).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
}

/// Three fetches wait on different topics and partitions; data on each wakes exactly the fetch
/// reading it, which answers with that data. The waits are a minute long: a fetch that is not
/// woken answers empty when it ends, and the data assertions fail.
#[tokio::test]
async fn data_wakes_the_fetches_of_its_partition() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    for (topic, partitions) in [("a", 1), ("b", 4)] {
        b.broker
            .create_topic(&strata::broker::NewTopic {
                name: topic.into(),
                partitions,
                replication_factor: 1,
                configs: vec![],
            })
            .expect("create");
    }
    let waiting = |topic: &'static str, partitions: i32| {
        let addr = b.addr;
        tokio::spawn(async move {
            let mut c = RawClient::connect(addr).await;
            let r: FetchResponse = call(
                &mut c,
                ApiKey::Fetch,
                12,
                &long_poll_fetch(topic, partitions, 60_000),
            )
            .await;
            r
        })
    };
    let on_a = waiting("a", 1);
    let on_b = waiting("b", 4);
    let also_on_b = waiting("b", 4);
    // Let the fetches park first (if one has not, it finds the data on its first read instead,
    // which the assertions below accept as well).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut producer = RawClient::connect(b.addr).await;
    produce(&mut producer, "b", 2).await;
    let r = on_b.await.expect("fetch task");
    let parts = &r.responses[0].partitions;
    let with_data: Vec<i32> = parts
        .iter()
        .filter(|p| p.records.as_ref().is_some_and(|r| !r.is_empty()))
        .map(|p| p.partition_index)
        .collect();
    assert_eq!(with_data, vec![2]);
    assert!(!also_on_b.await.expect("fetch task").responses.is_empty());
    assert!(
        !on_a.is_finished(),
        "data on b must not answer a fetch of a"
    );
    produce(&mut producer, "a", 0).await;
    let r = on_a.await.expect("fetch task");
    assert!(r.responses[0].partitions[0]
        .records
        .as_ref()
        .is_some_and(|r| !r.is_empty()));
}
