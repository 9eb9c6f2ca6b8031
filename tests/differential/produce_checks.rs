//! Produce validation: every batch-header and record check a produce request passes on its way to
//! the log (Kafka's ProduceRequest, UnifiedLog, LogValidator and ProducerStateManager checks),
//! each step a batch that breaks one rule, compared by error code and the offsets answered.

use std::io::Write;

use kafka_protocol::messages::*;

use super::{name, s, Side};

/// One record of a hand-built batch.
#[derive(Clone)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i64,
}

fn rec(i: i64) -> Rec {
    Rec {
        key: None,
        value: b"value".to_vec(),
        timestamp_delta: 0,
        offset_delta: i,
    }
}

/// A v2 batch with every header field chosen by the step; the CRC is computed unless `bad_crc`.
#[derive(Clone)]
struct Batch {
    base_offset: i64,
    magic: i8,
    attributes: i16,
    /// `None`: records.len() - 1.
    last_offset_delta: Option<i32>,
    base_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    /// `None`: records.len().
    record_count: Option<i32>,
    records: Vec<Rec>,
    /// Bytes appended after the records, inside the batch.
    trailing: Vec<u8>,
}

impl Batch {
    fn plain(n: i64, ts: i64) -> Batch {
        Batch {
            base_offset: 0,
            magic: 2,
            attributes: 0,
            last_offset_delta: None,
            base_timestamp: ts,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            record_count: None,
            records: (0..n).map(rec).collect(),
            trailing: Vec::new(),
        }
    }

    fn idempotent(n: i64, ts: i64, pid: i64, epoch: i16, seq: i32) -> Batch {
        Batch {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            ..Batch::plain(n, ts)
        }
    }

    fn bytes(&self) -> bytes::Bytes {
        let mut body = Vec::new();
        for r in &self.records {
            let mut one = vec![0u8];
            varint(&mut one, r.timestamp_delta);
            varint(&mut one, r.offset_delta);
            match &r.key {
                Some(k) => {
                    varint(&mut one, k.len() as i64);
                    one.extend_from_slice(k);
                }
                None => varint(&mut one, -1),
            }
            varint(&mut one, r.value.len() as i64);
            one.extend_from_slice(&r.value);
            varint(&mut one, 0);
            varint(&mut body, one.len() as i64);
            body.extend_from_slice(&one);
        }
        body.extend_from_slice(&self.trailing);
        let body = match self.attributes & 7 {
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&body).expect("gzip");
                e.finish().expect("gzip")
            }
            4 => zstd::stream::encode_all(&body[..], 1).expect("zstd"),
            _ => body,
        };
        let n = self.records.len() as i32;
        let max_ts = self.base_timestamp
            + self
                .records
                .iter()
                .map(|r| r.timestamp_delta)
                .max()
                .unwrap_or(0);
        let mut b = Vec::new();
        b.extend_from_slice(&self.base_offset.to_be_bytes());
        b.extend_from_slice(&((49 + body.len()) as i32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(self.magic as u8);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&self.attributes.to_be_bytes());
        b.extend_from_slice(&self.last_offset_delta.unwrap_or(n - 1).to_be_bytes());
        b.extend_from_slice(&self.base_timestamp.to_be_bytes());
        b.extend_from_slice(&max_ts.to_be_bytes());
        b.extend_from_slice(&self.producer_id.to_be_bytes());
        b.extend_from_slice(&self.producer_epoch.to_be_bytes());
        b.extend_from_slice(&self.base_sequence.to_be_bytes());
        b.extend_from_slice(&self.record_count.unwrap_or(n).to_be_bytes());
        b.extend_from_slice(&body);
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        bytes::Bytes::from(b)
    }
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn produce(topic: &str, records: bytes::Bytes, txn: Option<&str>) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_transactional_id(txn.map(|t| TransactionalId(s(t))))
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records)),
            ])])
}

/// Error code, base offset, and the indexes of the records blamed.
fn summary(r: &ProduceResponse) -> String {
    format!(
        "{:?}",
        r.responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| (
                p.error_code,
                p.base_offset,
                p.record_errors
                    .iter()
                    .map(|e| e.batch_index)
                    .collect::<Vec<_>>()
            )))
            .collect::<Vec<_>>()
    )
}

fn create(topic: &str, configs: &[(&str, &str)]) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            )])
}

/// Waits (bounded) until the broker serves a new partition: Kafka may list a leader a moment
/// before its replica manager leads it.
async fn await_leader(side: &mut Side, topic: &str) {
    for _ in 0..50 {
        let r: Option<ListOffsetsResponse> = side
            .call(
                ApiKey::ListOffsets,
                7,
                &ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![
                            list_offsets_request::ListOffsetsPartition::default()
                                .with_partition_index(0)
                                .with_timestamp(-1),
                        ])]),
            )
            .await;
        if r.is_some_and(|r| {
            r.topics
                .iter()
                .all(|t| t.partitions.iter().all(|p| p.error_code == 0))
        }) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub async fn produce_checks_scenario(side: &mut Side, run: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let t = format!("pchk-{run}");
    let compacted = format!("pchk-{run}-compact");
    let window = format!("pchk-{run}-window");
    let append_time = format!("pchk-{run}-append");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    for (topic, configs) in [
        (&t, vec![]),
        (&compacted, vec![("cleanup.policy", "compact")]),
        (
            &window,
            vec![
                ("message.timestamp.before.max.ms", "3600000"),
                ("message.timestamp.after.max.ms", "3600000"),
            ],
        ),
        (
            &append_time,
            vec![
                ("message.timestamp.type", "LogAppendTime"),
                ("message.timestamp.before.max.ms", "3600000"),
            ],
        ),
    ] {
        let r: Option<CreateTopicsResponse> = side
            .call(ApiKey::CreateTopics, 7, &create(topic, &configs))
            .await;
        out.push((
            format!("produce checks: create {}", topic.replace(run, "run")),
            format!("{:?}", r.map(|r| r.topics[0].error_code)),
        ));
        await_leader(side, topic).await;
    }
    // Kafka allocates producer ids through its controller and answers a retriable error until
    // that is ready; retry (bounded) as a client would.
    let mut init: Option<InitProducerIdResponse> = None;
    for _ in 0..50 {
        init = side
            .call(
                ApiKey::InitProducerId,
                4,
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(60_000)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            )
            .await;
        if !init
            .as_ref()
            .is_some_and(|r| [14, 15].contains(&r.error_code))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (pid, epoch) = init
        .as_ref()
        .map(|r| (r.producer_id.0, r.producer_epoch))
        .unwrap_or((-1, -1));
    out.push((
        "produce checks: init producer id".into(),
        format!("{:?}", init.map(|r| (r.error_code, r.producer_epoch))),
    ));

    let mut steps: Vec<(&str, i16, String, Batch, Option<&str>)> = Vec::new();
    let mut step = |label: &'static str, topic: &String, b: Batch| {
        steps.push((label, 11, topic.clone(), b, None));
    };

    // Producer ids and sequences. A second producer id the broker has never seen is `pid + 1000`.
    step(
        "new producer id with base sequence -1",
        &t,
        Batch::idempotent(1, now, pid + 1000, 0, -1),
    );
    step(
        "new producer id with base sequence -5",
        &t,
        Batch::idempotent(1, now, pid + 1001, 0, -5),
    );
    step(
        "first idempotent batch",
        &t,
        Batch::idempotent(2, now, pid, epoch, 0),
    );
    step(
        "known producer id with base sequence -1",
        &t,
        Batch::idempotent(1, now, pid, epoch, -1),
    );
    step("sequence gap", &t, Batch::idempotent(1, now, pid, epoch, 5));
    step(
        "retried first batch",
        &t,
        Batch::idempotent(2, now, pid, epoch, 0),
    );
    step(
        "next in sequence",
        &t,
        Batch::idempotent(1, now, pid, epoch, 2),
    );
    step(
        "bumped epoch not starting at 0",
        &t,
        Batch::idempotent(1, now, pid, epoch + 1, 3),
    );
    step(
        "bumped epoch at 0",
        &t,
        Batch::idempotent(1, now, pid, epoch + 1, 0),
    );
    step("older epoch", &t, Batch::idempotent(1, now, pid, epoch, 3));
    step(
        "no producer id but a sequence",
        &t,
        Batch {
            base_sequence: 7,
            ..Batch::plain(1, now)
        },
    );
    step(
        "producer id with epoch -1",
        &t,
        Batch::idempotent(1, now, pid + 1002, -1, 0),
    );

    // Batch header.
    step(
        "base offset not 0",
        &t,
        Batch {
            base_offset: 5,
            ..Batch::plain(1, now)
        },
    );
    step(
        "last offset delta past the record count",
        &t,
        Batch {
            last_offset_delta: Some(3),
            ..Batch::plain(2, now)
        },
    );
    step("record count 0 and no records", &t, Batch::plain(0, now));
    step(
        "record count -1",
        &t,
        Batch {
            record_count: Some(-1),
            last_offset_delta: Some(-2),
            ..Batch::plain(0, now)
        },
    );
    step(
        "declared 3 records, holds 2",
        &t,
        Batch {
            record_count: Some(3),
            last_offset_delta: Some(2),
            ..Batch::plain(2, now)
        },
    );
    step(
        "declared 1 record, holds 2",
        &t,
        Batch {
            record_count: Some(1),
            last_offset_delta: Some(0),
            ..Batch::plain(2, now)
        },
    );
    step(
        "bytes after the last record",
        &t,
        Batch {
            trailing: vec![0, 0, 0],
            ..Batch::plain(1, now)
        },
    );
    step(
        "gzip batch",
        &t,
        Batch {
            attributes: 1,
            ..Batch::plain(2, now)
        },
    );
    step(
        "control batch from a client",
        &t,
        Batch {
            attributes: 0x20,
            ..Batch::plain(1, now)
        },
    );
    step(
        "transactional batch without a transaction",
        &t,
        Batch {
            attributes: 0x10,
            ..Batch::idempotent(1, now, pid, epoch + 1, 1)
        },
    );
    step(
        "unknown compression codec 5",
        &t,
        Batch {
            attributes: 5,
            ..Batch::plain(1, now)
        },
    );
    step(
        "magic 1 in a v2-sized batch",
        &t,
        Batch {
            magic: 1,
            ..Batch::plain(1, now)
        },
    );

    // Records against topic rules.
    step(
        "keyless record on a compacted topic",
        &compacted,
        Batch::plain(2, now),
    );
    let mut keyed = Batch::plain(2, now);
    keyed.records[0].key = Some(b"k".to_vec());
    step(
        "second record keyless on a compacted topic",
        &compacted,
        keyed.clone(),
    );
    keyed.records[1].key = Some(b"k2".to_vec());
    step("keyed records on a compacted topic", &compacted, keyed);
    step(
        "timestamp two hours old",
        &window,
        Batch::plain(1, now - 7_200_000),
    );
    let mut late = Batch::plain(3, now);
    late.records[2].timestamp_delta = 7_200_000;
    step("third record two hours ahead", &window, late);
    step(
        "old timestamp on a LogAppendTime topic",
        &append_time,
        Batch::plain(1, now - 7_200_000),
    );

    let zstd = Batch {
        attributes: 4,
        ..Batch::plain(1, now)
    };
    steps.push(("zstd batch in produce v6", 6, t.clone(), zstd.clone(), None));
    steps.push(("zstd batch in produce v7", 7, t.clone(), zstd, None));
    // Last: Kafka stores the first of these, so offsets after it would differ.
    let mut gap = Batch::plain(2, now);
    gap.records[1].offset_delta = 2;
    gap.last_offset_delta = Some(1);
    steps.push((
        "record offset deltas 0, 2",
        11,
        t.clone(),
        gap.clone(),
        None,
    ));
    steps.push((
        "record offset deltas 0, 2 in gzip",
        11,
        t.clone(),
        Batch {
            attributes: 1,
            ..gap
        },
        None,
    ));
    for (label, version, topic, b, txn) in steps {
        let r: Option<ProduceResponse> = side
            .call(ApiKey::Produce, version, &produce(&topic, b.bytes(), txn))
            .await;
        out.push((
            format!("produce checks: {label}"),
            r.map_or("connection closed".into(), |r| summary(&r)),
        ));
    }
    out.extend(topic_codec_steps(side, run, now, pid).await);
    out
}

/// A topic's compression.type: what is stored for an idempotent batch in another codec.
async fn topic_codec_steps(
    side: &mut Side,
    run: &str,
    now: i64,
    pid: i64,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (codec, sent_attributes) in [
        ("gzip", 0i16),
        ("snappy", 0),
        ("lz4", 0),
        ("zstd", 0),
        ("uncompressed", 1),
        ("producer", 1),
    ] {
        let topic = format!("pchk-{run}-codec-{codec}");
        let _: Option<CreateTopicsResponse> = side
            .call(
                ApiKey::CreateTopics,
                7,
                &create(&topic, &[("compression.type", codec)]),
            )
            .await;
        await_leader(side, &topic).await;
        let mut b = Batch::idempotent(3, now, pid, 0, 0);
        b.attributes = sent_attributes;
        b.records[2].timestamp_delta = 5;
        b.records[1].key = Some(b"key".to_vec());
        let produced: Option<ProduceResponse> = side
            .call(ApiKey::Produce, 11, &produce(&topic, b.bytes(), None))
            .await;
        let fetched: Option<FetchResponse> = side
            .call(
                ApiKey::Fetch,
                12,
                &FetchRequest::default()
                    .with_max_wait_ms(0)
                    .with_max_bytes(1 << 20)
                    .with_session_epoch(-1)
                    .with_topics(vec![fetch_request::FetchTopic::default()
                        .with_topic(name(&topic))
                        .with_partitions(vec![fetch_request::FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(0)
                            .with_partition_max_bytes(1 << 20)])]),
            )
            .await;
        let stored = fetched.map(|r| {
            let records = r.responses[0].partitions[0]
                .records
                .clone()
                .unwrap_or_default();
            let (batches, _) = strata::record::batch::split_batches(&records);
            batches
                .iter()
                .map(|(at, h)| {
                    let one = &records[*at..*at + h.total_len()];
                    let values: Vec<(Option<bytes::Bytes>, Option<bytes::Bytes>, i64)> =
                        strata::record::validate::records(one)
                            .map(|rs| {
                                rs.filter_map(Result::ok)
                                    .map(|r| (r.key, r.value, r.timestamp_delta))
                                    .collect()
                            })
                            .unwrap_or_default();
                    format!(
                        "codec {} offsets {}..={} ts {}/{} producer {}/{}/{} count {} records {:?}",
                        h.attributes & 7,
                        h.base_offset,
                        h.last_offset(),
                        h.base_timestamp - now,
                        h.max_timestamp - now,
                        h.producer_id == pid,
                        h.producer_epoch,
                        h.base_sequence,
                        h.record_count,
                        values
                    )
                })
                .collect::<Vec<_>>()
        });
        out.push((
            format!("produce checks: stored in a compression.type={codec} topic"),
            format!(
                "{} {:?}",
                produced.map_or("closed".into(), |r| summary(&r)),
                stored
            ),
        ));
    }
    out
}
