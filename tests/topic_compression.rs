//! A topic's `compression.type`: batches in another codec are stored in the topic's (Kafka's rule),
//! keeping offsets, timestamps, producer fields and records; `producer` keeps the bytes as sent.

mod common;

use std::io::Write;

use common::{batch_of, call, long_poll_fetch, produce_request, RawClient, TestBroker};
use kafka_protocol::messages::*;
use strata::network::NetworkLimits;
use strata::record::batch::{self, BatchHeader, Compression};
use strata::record::validate::{records, RecordView};

async fn create(b: &TestBroker, name: &str, codec: &str) {
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: name.into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![("compression.type".into(), codec.into())],
        })
        .expect("create");
}

/// An idempotent producer's batch of `n` distinct records, uncompressed.
fn idempotent_batch(n: usize, ts: i64) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("record-{i:03}-{}", "x".repeat(30)).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
    let mut b = batch_of(&refs, ts).to_vec();
    b[43..51].copy_from_slice(&4242i64.to_be_bytes());
    b[51..53].copy_from_slice(&3i16.to_be_bytes());
    b[53..57].copy_from_slice(&0i32.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The same batch with its records gzip-compressed.
fn gzipped(plain: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&plain[61..]).expect("gzip");
    let z = e.finish().expect("gzip");
    let mut b = plain[..61].to_vec();
    b.extend_from_slice(&z);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[22] = (b[22] & !7) | 1;
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

async fn produce(c: &mut RawClient, topic: &str, b: Vec<u8>) -> i64 {
    let r: ProduceResponse = call(
        c,
        ApiKey::Produce,
        9,
        &produce_request(topic, 0, bytes::Bytes::from(b)),
    )
    .await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "{:?}", p.error_message);
    p.base_offset
}

/// Every stored batch of the topic, as fetched.
async fn stored(c: &mut RawClient, topic: &str) -> Vec<Vec<u8>> {
    let r: FetchResponse = call(c, ApiKey::Fetch, 12, &long_poll_fetch(topic, 1, 0)).await;
    let data = r.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default();
    let (batches, end) = batch::split_batches(&data);
    assert_eq!(end, data.len(), "whole batches only");
    batches
        .iter()
        .map(|(at, h)| data[*at..*at + h.total_len()].to_vec())
        .collect()
}

/// What a consumer reads: header fields but the codec, length and CRC, and the records.
fn content(b: &[u8]) -> (BatchHeader, Vec<RecordView>) {
    let mut h = batch::validate(b).expect("valid stored batch");
    let recs = records(b)
        .expect("records")
        .map(|r| r.expect("record"))
        .collect();
    h.attributes &= !7;
    h.batch_length = 0;
    h.crc = 0;
    h.partition_leader_epoch = 0;
    (h, recs)
}

fn codec(b: &[u8]) -> Compression {
    BatchHeader::parse(b)
        .and_then(|h| h.compression())
        .expect("codec")
}

#[tokio::test]
async fn an_uncompressed_batch_is_stored_in_the_topics_codec() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    create(&b, "zipped", "gzip").await;
    let mut c = RawClient::connect(b.addr).await;
    // `batch_of` writes one-byte varints: at most 63 records.
    let first = idempotent_batch(60, 1_700_000_000_000);
    let sent = first.len();
    assert_eq!(produce(&mut c, "zipped", first.clone()).await, 0);
    let mut second = idempotent_batch(3, 1_700_000_000_500);
    second[53..57].copy_from_slice(&60i32.to_be_bytes());
    let crc = crc32c::crc32c(&second[21..]);
    second[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(produce(&mut c, "zipped", second.clone()).await, 60);

    let got = stored(&mut c, "zipped").await;
    assert_eq!(got.len(), 2);
    for (stored, (sent_batch, base)) in got.iter().zip([(&first, 0i64), (&second, 60)]) {
        assert_eq!(codec(stored), Compression::Gzip);
        let mut want = content(sent_batch);
        want.0.base_offset = base;
        assert_eq!(content(stored), want);
    }
    assert!(
        got[0].len() < sent / 4,
        "{} bytes stored for {sent} sent",
        got[0].len()
    );
    // A retry of the first batch is still recognised as a duplicate after the rewrite.
    assert_eq!(produce(&mut c, "zipped", first).await, 0);
}

#[tokio::test]
async fn uncompressed_topics_inflate_and_producer_topics_keep_the_bytes() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    create(&b, "plain", "uncompressed").await;
    create(&b, "as-sent", "producer").await;
    create(&b, "same-codec", "gzip").await;
    let mut c = RawClient::connect(b.addr).await;
    let plain = idempotent_batch(20, 1_700_000_000_000);
    let zipped = gzipped(&plain);

    produce(&mut c, "plain", zipped.clone()).await;
    let got = stored(&mut c, "plain").await;
    assert_eq!(codec(&got[0]), Compression::None);
    assert_eq!(content(&got[0]), content(&plain));

    for topic in ["as-sent", "same-codec"] {
        produce(&mut c, topic, zipped.clone()).await;
        let got = stored(&mut c, topic).await;
        // Byte for byte, but for the leader epoch the log sets (outside the CRC).
        assert_eq!(got[0][..12], zipped[..12], "{topic}");
        assert_eq!(got[0][16..], zipped[16..], "{topic}");
    }
}

/// A batch that fits max.message.bytes compressed but not once inflated is refused.
#[tokio::test]
async fn the_rewritten_batch_must_fit_max_message_bytes() {
    let b = TestBroker::start(NetworkLimits::default()).await;
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: "small".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![
                ("compression.type".into(), "uncompressed".into()),
                ("max.message.bytes".into(), "1000".into()),
            ],
        })
        .expect("create");
    let mut c = RawClient::connect(b.addr).await;
    let zipped = gzipped(&idempotent_batch(40, 1_700_000_000_000));
    assert!(zipped.len() < 1000);
    let r: ProduceResponse = call(
        &mut c,
        ApiKey::Produce,
        9,
        &produce_request("small", 0, bytes::Bytes::from(zipped)),
    )
    .await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        kafka_protocol::error::ResponseError::MessageTooLarge.code()
    );
}
