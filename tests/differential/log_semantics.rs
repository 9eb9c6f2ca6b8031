//! Differential steps for the log's visible semantics: acks=0 writes becoming readable, a high
//! watermark that never goes back when the flush policy changes, timestamp lookups bounded by
//! what consumers can read, retention of an idle partition's active segment, segment rolls on
//! record time, and MAX_TIMESTAMP once DeleteRecords has passed the largest timestamp.
//!
//! Steps that depend on a background task (retention, a group-commit fsync) poll, bounded, until
//! the outcome a client expects appears or the bound runs out, then record what they saw, so
//! both brokers are compared on where they settle and never on how fast.

use std::time::Duration;

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::common::{batch_of, encode_request, produce_request, topic_name};
use super::Side;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn create(topic: &str, configs: &[(&str, &str)]) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name(topic))
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

fn list_offsets(topic: &str, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp),
            ])])
}

fn delete_records(topic: &str, offset: i64) -> DeleteRecordsRequest {
    DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default()
                    .with_partition_index(0)
                    .with_offset(offset),
            ])])
}

/// (offset, timestamp) answered for one ListOffsets query, or the error code.
async fn lookup(side: &mut Side, topic: &str, timestamp: i64) -> Result<(i64, i64), i16> {
    let r: Option<ListOffsetsResponse> = side
        .call(ApiKey::ListOffsets, 7, &list_offsets(topic, timestamp))
        .await;
    let p = r
        .and_then(|r| r.topics.into_iter().next())
        .and_then(|t| t.partitions.into_iter().next())
        .ok_or(-2i16)?;
    if p.error_code != 0 {
        return Err(p.error_code);
    }
    Ok((p.offset, p.timestamp))
}

/// Polls (bounded) until `ready` holds for the (earliest, latest) offsets, then returns them.
async fn settle(
    side: &mut Side,
    topic: &str,
    polls: u32,
    ready: impl Fn(i64, i64) -> bool,
) -> String {
    let mut last = String::new();
    for _ in 0..polls {
        let earliest = lookup(side, topic, -2).await;
        let latest = lookup(side, topic, -1).await;
        last = format!("earliest {earliest:?} latest {latest:?}");
        if let (Ok((e, _)), Ok((l, _))) = (earliest, latest) {
            if ready(e, l) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// Records fetched from offset 0 (whole batches' record counts, from the first offset asked).
async fn fetch_count(side: &mut Side, topic: &str) -> String {
    let req = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let r: Option<FetchResponse> = side.call(ApiKey::Fetch, 12, &req).await;
    match r {
        None => "connection closed".into(),
        Some(r) => {
            let p = &r.responses[0].partitions[0];
            let records = p.records.as_ref().map(|b| count_records(b)).unwrap_or(0);
            format!(
                "error {} hw {} records {}",
                p.error_code, p.high_watermark, records
            )
        }
    }
}

fn count_records(mut b: &[u8]) -> i64 {
    let mut n = 0;
    while b.len() >= 61 {
        let len = i32::from_be_bytes([b[8], b[9], b[10], b[11]]) as usize + 12;
        if len > b.len() {
            break;
        }
        n += i64::from(i32::from_be_bytes([b[57], b[58], b[59], b[60]]));
        b = &b[len..];
    }
    n
}

/// Sends an acks=0 produce: no answer is read (none comes).
async fn produce_acks0(side: &mut Side, topic: &str, records: bytes::Bytes) {
    side.corr += 1;
    let req = produce_request(topic, 0, records).with_acks(0);
    let frame = encode_request(ApiKey::Produce, 9, side.corr, &req);
    side.client.send_raw(&frame).await;
}

async fn produce(side: &mut Side, topic: &str, acks: i16, records: bytes::Bytes) -> String {
    let req = produce_request(topic, 0, records).with_acks(acks);
    let r: Option<ProduceResponse> = side.call(ApiKey::Produce, 9, &req).await;
    match r {
        None => "connection closed".into(),
        Some(r) => {
            let p = &r.responses[0].partition_responses[0];
            format!("error {} base {}", p.error_code, p.base_offset)
        }
    }
}

pub async fn steps(side: &mut Side, run: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let t = |suffix: &str| format!("log-{run}-{suffix}");
    let now = now_ms();
    let (acks0, flip, bounded, idle, jump, maxts, maxseg) = (
        t("acks0"),
        t("flip"),
        t("bounded"),
        t("idle"),
        t("jump"),
        t("maxts"),
        t("maxseg"),
    );
    for (topic, configs) in [
        (&acks0, vec![]),
        (&flip, vec![("flush.ms", "600000")]),
        (&bounded, vec![]),
        (&idle, vec![("retention.ms", "60000")]),
        (
            &jump,
            vec![("segment.ms", "600000"), ("retention.ms", "3600000")],
        ),
        (&maxts, vec![]),
        (&maxseg, vec![("segment.ms", "600000")]),
    ] {
        let r: Option<CreateTopicsResponse> = side
            .call(ApiKey::CreateTopics, 7, &create(topic, &configs))
            .await;
        let code = r.map(|r| r.topics.iter().map(|x| x.error_code).collect::<Vec<_>>());
        out.push((
            format!("log semantics: create {}", &topic[topic.len() - 5..]),
            format!("{code:?}"),
        ));
    }
    // Kafka may list a new partition a moment before it leads it: wait (bounded) until each
    // answers a ListOffsets, which changes nothing.
    for topic in [&acks0, &flip, &bounded, &idle, &jump, &maxts, &maxseg] {
        for _ in 0..50 {
            if lookup(side, topic, -1).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Retention and rolls first: their background checks then run while the other steps do.
    for _ in 0..5 {
        produce(side, &idle, 1, batch_of(&[b"old"], now - 3_600_000)).await;
    }
    produce(side, &jump, 1, batch_of(&[b"old"], now - 7_200_000)).await;
    produce(side, &jump, 1, batch_of(&[b"new"], now)).await;

    // 1. An acks=0 record alone becomes readable.
    produce_acks0(side, &acks0, batch_of(&[&b"fire"[..], b"forget"], now)).await;
    let seen = settle(side, &acks0, 50, |_, l| l >= 2).await;
    out.push(("acks=0 record alone: offsets".into(), seen));
    let fetched = fetch_count(side, &acks0).await;
    out.push(("acks=0 record alone: fetch".into(), fetched));

    // 2. The high watermark stays when flush.ms is deleted.
    let p = produce(side, &flip, 1, batch_of(&[&b"x"[..]; 10], now)).await;
    out.push(("flush policy flip: produce".into(), p));
    let before = settle(side, &flip, 50, |_, l| l >= 10).await;
    out.push(("flush policy flip: before".into(), before));
    let alter = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(&flip))
            .with_configs(vec![
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(s("flush.ms"))
                    .with_config_operation(1),
            ]),
    ]);
    let r: Option<IncrementalAlterConfigsResponse> =
        side.call(ApiKey::IncrementalAlterConfigs, 1, &alter).await;
    out.push((
        "flush policy flip: delete flush.ms".into(),
        format!(
            "{:?}",
            r.map(|r| r.responses.iter().map(|x| x.error_code).collect::<Vec<_>>())
        ),
    ));
    // Kafka applies the change through its metadata log; give both a moment to apply it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = settle(side, &flip, 1, |_, _| true).await;
    out.push(("flush policy flip: after".into(), after));
    let fetched = fetch_count(side, &flip).await;
    out.push(("flush policy flip: fetch".into(), fetched));

    // 3. Timestamp lookups once an acks=0 record is readable, and past the last record.
    produce(side, &bounded, -1, batch_of(&[b"a"], now)).await;
    produce_acks0(side, &bounded, batch_of(&[b"b"], now + 1_000)).await;
    settle(side, &bounded, 50, |_, l| l >= 2).await;
    for (label, ts) in [
        ("by timestamp", now + 500),
        ("max timestamp", -3),
        ("past the last timestamp", now + 5_000),
    ] {
        let got = lookup(side, &bounded, ts)
            .await
            .map(|(o, t)| (o, if t < 0 { t } else { t - now }));
        out.push((format!("lookup bounded: {label}"), format!("{got:?}")));
    }

    // 6. MAX_TIMESTAMP as DeleteRecords passes the largest timestamp: one segment, then several
    // (record-time rolls with segment.ms=600000: the third batch opens a second segment).
    for ts in [100, 300, 200] {
        produce(side, &maxts, -1, batch_of(&[b"m"], now + ts)).await;
    }
    for ts in [0, 500_000, 700_000, 100] {
        produce(side, &maxseg, -1, batch_of(&[b"m"], now + ts)).await;
    }
    for (topic, label, cut) in [
        (&maxts, "one segment", None),
        (&maxts, "one segment", Some(1)),
        (&maxts, "one segment", Some(2)),
        (&maxts, "one segment", Some(3)),
        (&maxseg, "two segments", None),
        (&maxseg, "two segments", Some(2)),
        (&maxseg, "two segments", Some(3)),
        (&maxseg, "two segments", Some(4)),
    ] {
        let mut label = format!("max timestamp, {label}");
        if let Some(offset) = cut {
            let r: Option<DeleteRecordsResponse> = side
                .call(ApiKey::DeleteRecords, 2, &delete_records(topic, offset))
                .await;
            let low = r.map(|r| {
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| (p.error_code, p.low_watermark)))
                    .collect::<Vec<_>>()
            });
            label = format!("{label}, deleted before {offset}");
            out.push((format!("{label}: delete"), format!("{low:?}")));
        }
        let got = lookup(side, topic, -3)
            .await
            .map(|(o, t)| (o, if t < 0 { t } else { t - now }));
        out.push((label, format!("{got:?}")));
    }

    // 4 and 5. Retention: an idle partition's breached active segment goes; a jump in record
    // time rolls, and retention then drops the older record. Kafka's first retention check
    // comes 30 s after it starts, so allow that long.
    let idle_seen = settle(side, &idle, 450, |e, l| e == 5 && l == 5).await;
    out.push(("retention of an idle active segment".into(), idle_seen));
    let fetched = fetch_count(side, &idle).await;
    out.push(("retention of an idle active segment: fetch".into(), fetched));
    let jump_seen = settle(side, &jump, 450, |e, l| e == 1 && l == 2).await;
    out.push((
        "roll on a record-time jump, then retention".into(),
        jump_seen,
    ));
    out
}
