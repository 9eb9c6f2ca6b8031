//! Differential steps for transactions: the coordinator's answers (InitProducerId with a
//! transactional id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn, Describe and
//! ListTransactions, with their error codes), transactional produce and its verification, and
//! what consumers see after a commit and an abort (last stable offset, aborted transactions,
//! DescribeProducers). Producer ids differ between brokers, so summaries show only whether one
//! was given.

use std::time::Duration;

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::common::{produce_request, topic_name};
use super::Side;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A transactional batch of `n` records at `seq` (values "v").
fn txn_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> bytes::Bytes {
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
    b.extend_from_slice(&0x10i16.to_be_bytes());
    b.extend_from_slice(&(n as i32 - 1).to_be_bytes());
    b.extend_from_slice(&1_000i64.to_be_bytes());
    b.extend_from_slice(&1_000i64.to_be_bytes());
    b.extend_from_slice(&pid.to_be_bytes());
    b.extend_from_slice(&epoch.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(n as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    bytes::Bytes::from(b)
}

async fn init(side: &mut Side, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s(id))))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r: Option<InitProducerIdResponse> = side.call(ApiKey::InitProducerId, 4, &req).await;
    r.map(|r| (r.error_code, r.producer_id.0, r.producer_epoch))
        .unwrap_or((-2, -1, -1))
}

fn add_req(id: &str, pid: i64, epoch: i16, parts: &[(&str, i32)]) -> AddPartitionsToTxnRequest {
    let mut topics: Vec<add_partitions_to_txn_request::AddPartitionsToTxnTopic> = Vec::new();
    for (t, p) in parts {
        match topics.iter_mut().find(|x| x.name.0.as_str() == *t) {
            Some(x) => x.partitions.push(*p),
            None => topics.push(
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(topic_name(t))
                    .with_partitions(vec![*p]),
            ),
        }
    }
    AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s(id)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(topics)
}

async fn add(side: &mut Side, req: &AddPartitionsToTxnRequest) -> String {
    let r: Option<AddPartitionsToTxnResponse> = side.call(ApiKey::AddPartitionsToTxn, 3, req).await;
    match r {
        None => "connection closed".into(),
        Some(r) => {
            // Kafka's order of topics in this answer varies from run to run.
            let mut v: Vec<(String, i32, i16)> = r
                .results_by_topic_v3_and_below
                .iter()
                .flat_map(|t| {
                    t.results_by_partition.iter().map(|p| {
                        (
                            t.name.0.to_string(),
                            p.partition_index,
                            p.partition_error_code,
                        )
                    })
                })
                .collect();
            v.sort();
            format!(
                "{:?}",
                v.into_iter().map(|(_, p, e)| (p, e)).collect::<Vec<_>>()
            )
        }
    }
}

async fn end(side: &mut Side, id: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(id)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let r: Option<EndTxnResponse> = side.call(ApiKey::EndTxn, 3, &req).await;
    r.map(|r| r.error_code).unwrap_or(-2)
}

async fn produce_txn(
    side: &mut Side,
    id: &str,
    topic: &str,
    p: i32,
    batch: bytes::Bytes,
) -> String {
    let req = produce_request(topic, p, batch).with_transactional_id(Some(TransactionalId(s(id))));
    let r: Option<ProduceResponse> = side.call(ApiKey::Produce, 9, &req).await;
    match r {
        None => "connection closed".into(),
        Some(r) => {
            let p = &r.responses[0].partition_responses[0];
            format!("error {} base {}", p.error_code, p.base_offset)
        }
    }
}

async fn offsets(side: &mut Side, topic: &str, isolation: i8) -> (i64, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation)
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1),
            ])]);
    let r: Option<ListOffsetsResponse> = side.call(ApiKey::ListOffsets, 7, &req).await;
    r.and_then(|r| r.topics.into_iter().next())
        .and_then(|t| t.partitions.into_iter().next())
        .map(|p| (i64::from(p.error_code), p.offset))
        .unwrap_or((-2, -1))
}

/// Polls (bounded) until the last stable offset reaches the high watermark: markers are written
/// after EndTxn is answered, on both brokers.
async fn settle(side: &mut Side, topic: &str) -> String {
    let mut last = (0, 0);
    for _ in 0..100 {
        let hw = offsets(side, topic, 0).await;
        let lso = offsets(side, topic, 1).await;
        last = (hw.1, lso.1);
        if hw.1 == lso.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    format!("hw {} lso {}", last.0, last.1)
}

async fn describe(side: &mut Side, id: &str) -> String {
    let req =
        DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(s(id))]);
    let r: Option<DescribeTransactionsResponse> =
        side.call(ApiKey::DescribeTransactions, 0, &req).await;
    match r {
        None => "connection closed".into(),
        Some(r) => format!(
            "{:?}",
            r.transaction_states
                .iter()
                .map(|t| (
                    t.error_code,
                    t.transaction_state.to_string(),
                    t.transaction_timeout_ms,
                    t.producer_epoch,
                    t.topics
                        .iter()
                        .map(|x| (x.topic.0.to_string(), x.partitions.clone()))
                        .collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>()
        ),
    }
}

pub async fn steps(side: &mut Side, run: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let t = format!("txn-{run}");
    let id = format!("dtx-{run}");
    let create = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name(&t))
            .with_num_partitions(2)
            .with_replication_factor(1)]);
    let _: Option<CreateTopicsResponse> = side.call(ApiKey::CreateTopics, 7, &create).await;
    for _ in 0..50 {
        if offsets(side, &t, 0).await.0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Kafka creates and loads its transaction log on the first FindCoordinator for a
    // transactional id, answering NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS meanwhile:
    // wait (bounded) until it initialises a producer; Strata does at once.
    let find = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![s(&id)]);
    for _ in 0..100 {
        let _: Option<FindCoordinatorResponse> = side.call(ApiKey::FindCoordinator, 4, &find).await;
        if init(side, &format!("{id}-warmup"), 60_000).await.0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let bad = init(side, &format!("{id}-x"), 900_001).await;
    out.push((
        "txn: init with a timeout past the maximum".into(),
        format!("{}", bad.0),
    ));
    let (code, pid, epoch) = init(side, &id, 60_000).await;
    out.push((
        "txn: init".into(),
        format!("error {code} pid given {} epoch {epoch}", pid >= 0),
    ));

    let unknown_id = add(
        side,
        &add_req(&format!("{id}-none"), pid, epoch, &[(&t, 0)]),
    )
    .await;
    out.push((
        "txn: add partitions, unknown transactional id".into(),
        unknown_id,
    ));
    let stale = add(side, &add_req(&id, pid, epoch - 1, &[(&t, 0)])).await;
    out.push(("txn: add partitions, older epoch".into(), stale));
    let missing = add(
        side,
        &add_req(&id, pid, epoch, &[(&t, 0), ("txn-no-such-topic", 0)]),
    )
    .await;
    out.push(("txn: add partitions, one missing".into(), missing));
    let ok = add(side, &add_req(&id, pid, epoch, &[(&t, 0)])).await;
    out.push(("txn: add partitions".into(), ok));

    let produced = produce_txn(side, &id, &t, 0, txn_batch(pid, epoch, 0, 3)).await;
    out.push(("txn: produce to an added partition".into(), produced));
    let unverified = produce_txn(side, &id, &t, 1, txn_batch(pid, epoch, 0, 1)).await;
    out.push(("txn: produce to a partition not added".into(), unverified));
    let unnamed = {
        let req = produce_request(&t, 0, txn_batch(pid, epoch, 3, 1));
        let r: Option<ProduceResponse> = side.call(ApiKey::Produce, 9, &req).await;
        r.map(|r| r.responses[0].partition_responses[0].error_code)
    };
    out.push((
        "txn: produce without the transactional id".into(),
        format!("{unnamed:?}"),
    ));
    let open = (offsets(side, &t, 0).await, offsets(side, &t, 1).await);
    out.push((
        "txn: offsets while open (hw, lso)".into(),
        format!("{open:?}"),
    ));
    out.push(("txn: describe while open".into(), describe(side, &id).await));

    let list = |states: Vec<&str>| {
        ListTransactionsRequest::default()
            .with_state_filters(states.into_iter().map(s).collect())
            .with_producer_id_filters(vec![ProducerId(pid)])
            .with_duration_filter(-1)
    };
    let r: Option<ListTransactionsResponse> = side
        .call(ApiKey::ListTransactions, 1, &list(vec!["Ongoing"]))
        .await;
    out.push((
        "txn: list ongoing".into(),
        format!(
            "{:?}",
            r.map(|r| (
                r.error_code,
                r.transaction_states
                    .iter()
                    .map(|x| (
                        x.transactional_id.0.to_string() == id,
                        x.transaction_state.to_string()
                    ))
                    .collect::<Vec<_>>()
            ))
        ),
    ));
    let r: Option<ListTransactionsResponse> = side
        .call(ApiKey::ListTransactions, 1, &list(vec!["Bogus"]))
        .await;
    out.push((
        "txn: list with an unknown state".into(),
        format!(
            "{:?}",
            r.map(|r| (
                r.error_code,
                r.unknown_state_filters
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>(),
                r.transaction_states.len()
            ))
        ),
    ));

    // TxnOffsetCommit before AddOffsetsToTxn, then after it.
    let commit = |group: &str| {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s(&id)))
            .with_group_id(GroupId(s(group)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_member_id(s(""))
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name(&t))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(3),
                    ]),
            ])
    };
    let group = format!("dtx-group-{run}");
    let summary = |r: Option<TxnOffsetCommitResponse>| {
        format!(
            "{:?}",
            r.map(|r| r
                .topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                .collect::<Vec<_>>())
        )
    };
    let r: Option<TxnOffsetCommitResponse> =
        side.call(ApiKey::TxnOffsetCommit, 3, &commit(&group)).await;
    out.push(("txn: offset commit before add offsets".into(), summary(r)));
    let add_offsets = AddOffsetsToTxnRequest::default()
        .with_transactional_id(TransactionalId(s(&id)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(s(&group)));
    let r: Option<AddOffsetsToTxnResponse> =
        side.call(ApiKey::AddOffsetsToTxn, 3, &add_offsets).await;
    out.push((
        "txn: add offsets".into(),
        format!("{:?}", r.map(|r| r.error_code)),
    ));
    let r: Option<TxnOffsetCommitResponse> =
        side.call(ApiKey::TxnOffsetCommit, 3, &commit(&group)).await;
    out.push(("txn: offset commit".into(), summary(r)));

    out.push((
        "txn: commit".into(),
        end(side, &id, pid, epoch, true).await.to_string(),
    ));
    out.push(("txn: commit settles".into(), settle(side, &t).await));
    out.push((
        "txn: commit again (retry)".into(),
        end(side, &id, pid, epoch, true).await.to_string(),
    ));
    out.push((
        "txn: abort after commit".into(),
        end(side, &id, pid, epoch, false).await.to_string(),
    ));
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(&group)))
        .with_require_stable(true)
        .with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopic::default()
                .with_name(topic_name(&t))
                .with_partition_indexes(vec![0]),
        ]));
    let mut committed = String::new();
    for _ in 0..50 {
        let r: Option<OffsetFetchResponse> = side.call(ApiKey::OffsetFetch, 7, &fetch).await;
        committed = format!(
            "{:?}",
            r.map(|r| r
                .topics
                .iter()
                .flat_map(|t| t
                    .partitions
                    .iter()
                    .map(|p| (p.error_code, p.committed_offset)))
                .collect::<Vec<_>>())
        );
        if committed.contains("(0, 3)") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out.push(("txn: group offset after commit".into(), committed));

    // An aborted transaction: read_committed readers are told to skip it.
    add(side, &add_req(&id, pid, epoch, &[(&t, 0)])).await;
    let produced = produce_txn(side, &id, &t, 0, txn_batch(pid, epoch, 3, 2)).await;
    out.push(("txn: produce in a second transaction".into(), produced));
    out.push((
        "txn: abort".into(),
        end(side, &id, pid, epoch, false).await.to_string(),
    ));
    out.push(("txn: abort settles".into(), settle(side, &t).await));
    let req = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_isolation_level(1)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(&t))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    // Kafka has answered this fetch with a passing partition error once in a while; retry
    // (bounded) until it serves the partition, and record the error code too.
    let mut r: Option<FetchResponse> = None;
    for _ in 0..50 {
        r = side.call(ApiKey::Fetch, 12, &req).await;
        if r.as_ref()
            .is_some_and(|r| r.responses[0].partitions[0].error_code == 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out.push((
        "txn: read_committed fetch after an abort".into(),
        format!(
            "{:?}",
            r.map(|r| {
                let p = &r.responses[0].partitions[0];
                (
                    p.error_code,
                    p.high_watermark,
                    p.last_stable_offset,
                    p.aborted_transactions
                        .iter()
                        .flatten()
                        .map(|a| (a.producer_id.0 == pid, a.first_offset))
                        .collect::<Vec<_>>(),
                )
            })
        ),
    ));
    let req = DescribeProducersRequest::default().with_topics(vec![
        describe_producers_request::TopicRequest::default()
            .with_name(topic_name(&t))
            .with_partition_indexes(vec![0, 1]),
    ]);
    let r: Option<DescribeProducersResponse> = side.call(ApiKey::DescribeProducers, 0, &req).await;
    out.push((
        "txn: describe producers".into(),
        format!(
            "{:?}",
            r.map(|r| r.topics[0]
                .partitions
                .iter()
                .map(|p| (
                    p.partition_index,
                    p.error_code,
                    p.active_producers
                        .iter()
                        .map(|x| (
                            x.producer_epoch,
                            x.last_sequence,
                            x.current_txn_start_offset
                        ))
                        .collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>())
        ),
    ));
    out.push((
        "txn: describe after the abort".into(),
        describe(side, &id).await,
    ));

    // A second instance fences the first.
    let again = init(side, &id, 60_000).await;
    out.push((
        "txn: init again (epoch bump)".into(),
        format!(
            "error {} same pid {} epoch {}",
            again.0,
            again.1 == pid,
            again.2
        ),
    ));
    let fenced = add(side, &add_req(&id, pid, epoch, &[(&t, 0)])).await;
    out.push(("txn: the fenced instance adds a partition".into(), fenced));
    out.push((
        "txn: the fenced instance commits".into(),
        end(side, &id, pid, epoch, true).await.to_string(),
    ));
    out
}
