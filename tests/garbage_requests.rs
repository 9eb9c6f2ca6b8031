//! Random request bodies for every routed API key and version, sent to a live broker: no panic
//! anywhere, the broker keeps serving, and records already stored are unchanged.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use common::{RawClient, TestBroker};
use strata::handlers::ROUTES;
use strata::network::NetworkLimits;

/// xorshift64*: deterministic, so a failure replays from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_never_panic_or_change_stored_data() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let b = TestBroker::start(NetworkLimits::default()).await;
    let topic = strata::broker::NewTopic {
        name: "keep".into(),
        partitions: 1,
        replication_factor: 1,
        configs: vec![],
    };
    b.broker.create_topic(&topic).expect("create");
    let tp = strata::types::TopicPartition::new("keep", 0);
    let before_end = b
        .broker
        .partition(&tp)
        .expect("partition")
        .log
        .log_end_offset();

    let seed = 0x5eed_0000_0000_0001u64;
    let mut rng = Rng(seed);
    let mut client = RawClient::connect(b.addr).await;
    for i in 0..3000 {
        let route = ROUTES[rng.below(ROUTES.len() as u64) as usize];
        let version = route.min + rng.below((route.max - route.min + 1) as u64) as i16;
        let body_len = rng.below(200) as usize;
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        frame.put_i16(route.key as i16);
        frame.put_i16(version);
        frame.put_i32(i);
        // Mostly a plausible client id, sometimes raw noise in its place.
        if rng.below(4) != 0 {
            frame.put_i16(4);
            frame.put_slice(b"fuzz");
            if route.key.request_header_version(version) >= 2 {
                frame.put_u8(0);
            }
        }
        for _ in 0..body_len {
            // Small values are more likely to look like lengths and counts.
            let byte = if rng.below(3) == 0 {
                rng.below(4) as u8
            } else {
                rng.next() as u8
            };
            frame.put_u8(byte);
        }
        let n = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&n.to_be_bytes());
        client.send_raw(&frame).await;
        // Either an answer or a closed connection; reconnect after a close.
        let answered = client.read_frame().await.is_some();
        if !answered {
            client = RawClient::connect(b.addr).await;
        }
    }
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a request panicked (seed {seed:#x})"
    );
    let after_end = b
        .broker
        .partition(&tp)
        .expect("partition survives")
        .log
        .log_end_offset();
    assert_eq!(before_end, after_end);
    assert!(b.broker.topic("keep").is_some());
}
