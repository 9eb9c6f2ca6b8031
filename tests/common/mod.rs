//! An in-process broker on a loopback port with a temporary data directory, and a raw protocol
//! client for sending exactly the bytes a test wants.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use strata::broker::Broker;
use strata::config::BrokerConfig;
use strata::network::{NetworkLimits, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

pub struct TestBroker {
    pub addr: SocketAddr,
    pub broker: Arc<Broker>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestBroker {
    pub async fn start(limits: NetworkLimits) -> TestBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, limits).await
    }

    pub async fn start_in(dir: tempfile::TempDir, limits: NetworkLimits) -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = BrokerConfig::from_args(
            [
                "strata",
                "--listen",
                &addr.to_string(),
                "--data-dir",
                dir.path().to_str().expect("utf8 path"),
                // Group tests should not wait for Kafka's 3 s first-join delay.
                "--set",
                "group.initial.rebalance.delay.ms=0",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .expect("config");
        let broker = Broker::open(config).expect("open broker");
        let (tx, rx) = oneshot::channel();
        let server = Server::new(listener, broker.clone(), limits);
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
        });
        TestBroker {
            addr,
            broker,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops serving and flushes, as SIGTERM would; returns the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        assert!(self.broker.flush_all().is_empty());
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }
}

pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.expect("connect"),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one response frame; None if the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        match tokio::time::timeout(Duration::from_secs(10), self.stream.read_exact(&mut size)).await
        {
            Ok(Ok(_)) => {}
            _ => return None,
        }
        let n = i32::from_be_bytes(size);
        assert!(n >= 0, "negative response size");
        let mut body = vec![0u8; n as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Bytes::from(body))
    }

    /// True once the broker has closed the connection (EOF or reset) within a bounded wait.
    pub async fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    pub async fn request<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
        req: &Req,
    ) -> Option<(i32, Resp)> {
        let frame = encode_request(key, version, correlation_id, req);
        self.send_raw(&frame).await;
        let mut resp = self.read_frame().await?;
        let header =
            ResponseHeader::decode(&mut resp, key.response_header_version(version)).ok()?;
        let body = Resp::decode(&mut resp, version).ok()?;
        Some((header.correlation_id, body))
    }
}

pub fn encode_request<Req: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    req: &Req,
) -> Bytes {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("strata-test")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(version))
        .expect("header");
    req.encode(&mut buf, version).expect("body");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// The versions the broker advertises for `key` (its route).
pub fn versions(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let r = strata::handlers::ROUTES
        .iter()
        .find(|r| r.key == key)
        .expect("routed");
    r.min..=r.max
}

/// One request and its decoded answer, checking the correlation id; panics on a closed
/// connection or an undecodable answer.
pub async fn call<Req: Encodable, Resp: Decodable>(
    c: &mut RawClient,
    key: ApiKey,
    v: i16,
    req: &Req,
) -> Resp {
    let corr = 1000 + i32::from(v);
    match c.request::<Req, Resp>(key, v, corr, req).await {
        Some((got, resp)) => {
            assert_eq!(got, corr);
            resp
        }
        None => panic!("{key:?} v{v}: no decodable response (connection closed?)"),
    }
}

/// A minimal uncompressed v2 batch of `values` records with the value "v", built by hand (the
/// crate's own batch builders are private to it).
pub fn batch(values: usize) -> bytes::Bytes {
    batch_of(&vec![&b"v"[..]; values], 1_000)
}

/// An uncompressed v2 batch of these values (no keys, no headers) with timestamp `ts`.
pub fn batch_of(values: &[&[u8]], ts: i64) -> bytes::Bytes {
    let mut records = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut body = vec![0u8, 0, (i as u8) << 1, 1];
        body.push((v.len() as u8) << 1);
        body.extend_from_slice(v);
        body.push(0);
        records.push((body.len() as u8) << 1);
        records.extend_from_slice(&body);
    }
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(values.len() as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    bytes::Bytes::from(b)
}

pub fn topic_name(name: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(StrBytes::from_string(name.to_string()))
}

/// An acks=all produce of `records` to one partition.
pub fn produce_request(
    topic: &str,
    partition: i32,
    records: Bytes,
) -> kafka_protocol::messages::ProduceRequest {
    use kafka_protocol::messages::{produce_request, ProduceRequest};
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records)),
            ])])
}

/// A sessionless fetch from offset 0 of partitions `0..partitions`, waiting up to `max_wait_ms`
/// for one byte.
pub fn long_poll_fetch(
    topic: &str,
    partitions: i32,
    max_wait_ms: i32,
) -> kafka_protocol::messages::FetchRequest {
    use kafka_protocol::messages::{fetch_request, FetchRequest};
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(
                (0..partitions)
                    .map(|p| {
                        fetch_request::FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(0)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )])
}
