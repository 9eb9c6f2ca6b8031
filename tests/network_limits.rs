//! Bad and hostile input at the network edge: every limit at and past its value, malformed
//! frames, unknown keys and versions. After each, the broker must still serve.

mod common;

use bytes::{BufMut, BytesMut};
use common::{encode_request, long_poll_fetch, RawClient, TestBroker};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};
use strata::network::NetworkLimits;

fn limits() -> NetworkLimits {
    NetworkLimits::default()
}

async fn still_serves(b: &TestBroker) {
    let mut c = RawClient::connect(b.addr).await;
    let (corr, resp): (i32, ApiVersionsResponse) = c
        .request(
            ApiKey::ApiVersions,
            3,
            77,
            &ApiVersionsRequest::default()
                .with_client_software_name("t".into())
                .with_client_software_version("1".into()),
        )
        .await
        .expect("broker still answers");
    assert_eq!(corr, 77);
    assert_eq!(resp.error_code, 0);
}

/// An ApiVersions v0 request (empty body) padded with trailing bytes to exactly `size`.
fn padded_api_versions(size: usize) -> Vec<u8> {
    let mut frame =
        encode_request(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default()).to_vec();
    let body_len = frame.len() - 4;
    assert!(size >= body_len);
    frame.resize(4 + size, 0);
    frame[..4].copy_from_slice(&(size as i32).to_be_bytes());
    frame
}

#[tokio::test]
async fn frame_size_limit_at_and_past() {
    let max = 4096;
    let b = TestBroker::start(NetworkLimits {
        max_frame_bytes: max,
        ..limits()
    })
    .await;
    for size in [max - 1, max] {
        let mut c = RawClient::connect(b.addr).await;
        c.send_raw(&padded_api_versions(size)).await;
        assert!(
            c.read_frame().await.is_some(),
            "frame of {size} bytes must be served"
        );
    }
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&padded_api_versions(max + 1)).await;
    assert!(
        c.is_closed().await,
        "frame past the limit must close the connection"
    );
    still_serves(&b).await;
}

#[tokio::test]
async fn huge_announced_frame_is_refused_before_allocation() {
    let b = TestBroker::start(limits()).await;
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&i32::MAX.to_be_bytes()).await;
    assert!(c.is_closed().await);
    for size in [0i32, -1, i32::MIN] {
        let mut c = RawClient::connect(b.addr).await;
        c.send_raw(&size.to_be_bytes()).await;
        assert!(c.is_closed().await, "size {size}");
    }
    still_serves(&b).await;
}

#[tokio::test]
async fn unknown_api_key_and_short_header_close_the_connection() {
    let b = TestBroker::start(limits()).await;
    let mut frame = BytesMut::new();
    frame.put_i32(10);
    frame.put_i16(999);
    frame.put_i16(0);
    frame.put_i32(5);
    frame.put_i16(-1);
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&frame).await;
    assert!(c.is_closed().await);

    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&[0, 0, 0, 3, 0, 18, 0]).await;
    assert!(c.is_closed().await);
    still_serves(&b).await;
}

#[tokio::test]
async fn unsupported_api_versions_version_gets_v0_answer_with_ranges() {
    let b = TestBroker::start(limits()).await;
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(99);
    frame.put_i32(1234);
    frame.put_i16(-1);
    frame.put_u8(0);
    let n = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&n.to_be_bytes());
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&frame).await;
    let mut resp = c.read_frame().await.expect("answer");
    use kafka_protocol::protocol::Decodable;
    let header = kafka_protocol::messages::ResponseHeader::decode(&mut resp, 0).unwrap();
    assert_eq!(header.correlation_id, 1234);
    let body = ApiVersionsResponse::decode(&mut resp, 0).unwrap();
    assert_eq!(body.error_code, 35);
    assert!(body
        .api_keys
        .iter()
        .any(|k| k.api_key == 18 && k.max_version == 4));
}

#[tokio::test]
async fn unsupported_version_of_other_api_closes() {
    let b = TestBroker::start(limits()).await;
    let mut c = RawClient::connect(b.addr).await;
    // Metadata v14 does not exist in the route table.
    let mut frame = BytesMut::new();
    frame.put_i32(8);
    frame.put_i16(ApiKey::Metadata as i16);
    frame.put_i16(14);
    frame.put_i32(1);
    c.send_raw(&frame).await;
    assert!(c.is_closed().await);
    still_serves(&b).await;
}

#[tokio::test]
async fn lying_array_length_is_refused_without_allocating() {
    let b = TestBroker::start(limits()).await;
    // Metadata v1: header (key, version, correlation id, client id) then topics array length.
    for len in [i32::MAX, 1_000_000, -2] {
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        frame.put_i16(ApiKey::Metadata as i16);
        frame.put_i16(1);
        frame.put_i32(9);
        frame.put_i16(-1);
        frame.put_i32(len);
        let n = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&n.to_be_bytes());
        let mut c = RawClient::connect(b.addr).await;
        c.send_raw(&frame).await;
        assert!(c.is_closed().await, "array length {len}");
    }
    // A compact (flexible) array with a huge varint count.
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    frame.put_i16(ApiKey::Metadata as i16);
    frame.put_i16(12);
    frame.put_i32(9);
    frame.put_i16(-1);
    frame.put_u8(0); // header tagged fields
    frame.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let n = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&n.to_be_bytes());
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&frame).await;
    assert!(c.is_closed().await);
    still_serves(&b).await;
}

#[tokio::test]
async fn truncated_frame_then_disconnect_leaves_broker_serving() {
    let b = TestBroker::start(limits()).await;
    {
        let mut c = RawClient::connect(b.addr).await;
        c.send_raw(&[0, 0, 0, 100, 0, 3, 0, 1]).await;
    }
    still_serves(&b).await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let b = TestBroker::start(limits()).await;
    let mut c = RawClient::connect(b.addr).await;
    let mut all = BytesMut::new();
    for corr in 0..50 {
        let req = MetadataRequest::default().with_topics(Some(vec![]));
        if corr % 2 == 0 {
            all.extend_from_slice(&encode_request(ApiKey::Metadata, 12, corr, &req));
        } else {
            all.extend_from_slice(&encode_request(
                ApiKey::ApiVersions,
                3,
                corr,
                &ApiVersionsRequest::default()
                    .with_client_software_name("t".into())
                    .with_client_software_version("1".into()),
            ));
        }
    }
    c.send_raw(&all).await;
    for corr in 0..50 {
        let frame = c.read_frame().await.expect("response");
        let got = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        assert_eq!(got, corr);
    }
}

#[tokio::test]
async fn connection_limit_at_and_past() {
    let b = TestBroker::start(NetworkLimits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = RawClient::connect(b.addr).await;
        let _: (i32, MetadataResponse) = c
            .request(
                ApiKey::Metadata,
                12,
                1,
                &MetadataRequest::default().with_topics(Some(vec![])),
            )
            .await
            .expect("within the limit");
        held.push(c);
    }
    let mut third = RawClient::connect(b.addr).await;
    assert!(third.is_closed().await, "third connection must be closed");
    drop(held);
    // Permits come back once the broker notices the closed sockets.
    for _ in 0..100 {
        let mut c = RawClient::connect(b.addr).await;
        let r: Option<(i32, MetadataResponse)> = c
            .request(
                ApiKey::Metadata,
                12,
                1,
                &MetadataRequest::default().with_topics(Some(vec![])),
            )
            .await;
        if r.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("connections were not released");
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let b = TestBroker::start(NetworkLimits {
        idle_timeout_ms: 200,
        ..limits()
    })
    .await;
    let mut c = RawClient::connect(b.addr).await;
    assert!(c.is_closed().await);
    still_serves(&b).await;
}

/// Two connections: A parks a long-poll fetch (its request bytes stay reserved until it answers),
/// B sends a small request. With a shared budget that fits both, B is answered first; one byte
/// less and B must wait for A's bytes to be released.
#[tokio::test]
async fn shared_request_byte_budget_at_and_past_its_value() {
    let fetch = encode_request(ApiKey::Fetch, 12, 1, &long_poll_fetch("budget", 1, 1500));
    let small = encode_request(ApiKey::ApiVersions, 0, 2, &ApiVersionsRequest::default());
    let both = (fetch.len() - 4) + (small.len() - 4);
    for (budget, b_first) in [(both, true), (both - 1, false)] {
        // A must be admitted before B is sent; on a loaded machine that can take a while, so a
        // run where B went first is retried with a longer head start. A budget that did not hold
        // would let B through first every time.
        let mut outcomes = Vec::new();
        for head_start_ms in [300u64, 1_000, 3_000] {
            let b = TestBroker::start(NetworkLimits {
                max_frame_bytes: fetch.len(),
                max_buffered_request_bytes: budget,
                ..limits()
            })
            .await;
            b.broker
                .create_topic(&strata::broker::NewTopic {
                    name: "budget".into(),
                    partitions: 1,
                    replication_factor: 1,
                    configs: vec![],
                })
                .unwrap();
            let mut a = RawClient::connect(b.addr).await;
            a.send_raw(&fetch).await;
            tokio::time::sleep(std::time::Duration::from_millis(head_start_ms)).await;
            let mut c = RawClient::connect(b.addr).await;
            c.send_raw(&small).await;
            let b_went_first = tokio::select! {
                _ = a.read_frame() => false,
                _ = c.read_frame() => true,
            };
            outcomes.push(b_went_first);
            if b_went_first == b_first {
                break;
            }
        }
        assert_eq!(
            outcomes.last().copied(),
            Some(b_first),
            "budget {budget} (both need {both}): {outcomes:?}"
        );
    }
}

/// With one request in flight per connection, pipelined requests behind a long poll are still all
/// answered, in order.
#[tokio::test]
async fn in_flight_limit_of_one_keeps_order_without_deadlock() {
    let b = TestBroker::start(NetworkLimits {
        max_in_flight_per_connection: 1,
        ..limits()
    })
    .await;
    b.broker
        .create_topic(&strata::broker::NewTopic {
            name: "inflight".into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        })
        .unwrap();
    let mut all = BytesMut::new();
    all.extend_from_slice(&encode_request(
        ApiKey::Fetch,
        12,
        0,
        &long_poll_fetch("inflight", 1, 1500),
    ));
    for corr in 1..10 {
        all.extend_from_slice(&encode_request(
            ApiKey::ApiVersions,
            0,
            corr,
            &ApiVersionsRequest::default(),
        ));
    }
    let mut c = RawClient::connect(b.addr).await;
    c.send_raw(&all).await;
    for corr in 0..10 {
        let frame = c.read_frame().await.expect("response");
        assert_eq!(
            i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]),
            corr
        );
    }
}
