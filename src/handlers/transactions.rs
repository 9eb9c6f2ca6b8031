//! The transaction coordinator's APIs: InitProducerId with a transactional id (22),
//! AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28, to the group
//! coordinator), DescribeTransactions (65) and ListTransactions (66). Each turns the wire request
//! into the coordinator's plain request in its in-order part and answers once the coordinator
//! has (after what it changed is durable). Transaction semantics live in `crate::txn`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedState;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, DescribeTransactionsRequest, DescribeTransactionsResponse,
    EndTxnRequest, EndTxnResponse, InitProducerIdResponse, ListTransactionsRequest,
    ListTransactionsResponse, ProducerId as WireProducerId, TopicName, TransactionalId,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use super::{Reply, RequestContext};
use crate::group::{self as g, GroupRequest, GroupResponse};
use crate::txn::api::{
    AddOffsets, AddPartitions, EndTxn, InitProducerId, ListTransactions, ProducerAnswer, TxnApi,
    TxnRequest, TxnResponse, TxnResult, TxnVersion,
};
use crate::txn::error::ErrorCode;
use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

/// Until the broker advertises transaction.version 2 (with Produce v12, EndTxn v5 and
/// TxnOffsetCommit v5), every client runs the original protocol.
const CLIENT_VERSION: TxnVersion = TxnVersion::V1;

type Pending = Option<oneshot::Receiver<TxnResponse>>;

async fn submit(ctx: &RequestContext, req: TxnRequest) -> Pending {
    ctx.broker.txns().submit(req).await.ok()
}

async fn answer(pending: Pending) -> Option<TxnResponse> {
    pending?.await.ok()
}

fn later<F>(f: F) -> Reply
where
    F: std::future::Future<Output = Option<bytes::Bytes>> + Send + 'static,
{
    Reply::Later(Box::pin(async move { f.await.map(Into::into) }))
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// InitProducerId with a transactional id (the handler in `producer_id` calls this).
pub async fn init_producer_id(
    ctx: RequestContext,
    transactional_id: String,
    timeout_ms: i32,
    producer_id: i64,
    producer_epoch: i16,
) -> Reply {
    let expected = (producer_id >= 0 || producer_epoch >= 0)
        .then_some((ProducerId(producer_id), ProducerEpoch(producer_epoch)));
    let pending = submit(
        &ctx,
        TxnRequest::InitProducerId(InitProducerId {
            transactional_id,
            transaction_timeout_ms: timeout_ms,
            expected,
        }),
    )
    .await;
    later(async move {
        let a = match answer(pending).await {
            Some(TxnResponse::InitProducerId(a)) => a,
            _ => ProducerAnswer::error(ErrorCode::CoordinatorNotAvailable),
        };
        let error = a.error.for_version(TxnApi::InitProducerId, ctx.version());
        ctx.respond(
            &InitProducerIdResponse::default()
                .with_error_code(error.code())
                .with_producer_id(WireProducerId(a.producer_id.0))
                .with_producer_epoch(a.producer_epoch.0),
        )
    })
}

/// (topic, partitions) as the request lists them, with the existing partitions collected.
fn split_known(
    ctx: &RequestContext,
    topics: &[(String, Vec<i32>)],
) -> (BTreeSet<TopicPartition>, bool) {
    let mut known = BTreeSet::new();
    let mut missing = false;
    for (t, ps) in topics {
        for p in ps {
            let tp = TopicPartition::new(t.clone(), *p);
            if ctx.broker.partition(&tp).is_some() {
                known.insert(tp);
            } else {
                missing = true;
            }
        }
    }
    (known, missing)
}

/// Per-partition results in the request's order. With a partition that does not exist, Kafka
/// adds none: those answer UNKNOWN_TOPIC_OR_PARTITION and the rest OPERATION_NOT_ATTEMPTED.
fn topic_results(
    topics: &[(String, Vec<i32>)],
    errors: &BTreeMap<TopicPartition, ErrorCode>,
    missing: bool,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|(t, ps)| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(TopicName(s(t)))
                .with_results_by_partition(
                    ps.iter()
                        .map(|p| {
                            let tp = TopicPartition::new(t.clone(), *p);
                            let code = match (missing, errors.get(&tp)) {
                                (true, Some(_)) => ResponseError::OperationNotAttempted.code(),
                                (true, None) => ResponseError::UnknownTopicOrPartition.code(),
                                (false, Some(e)) => {
                                    e.for_version(TxnApi::AddPartitionsToTxn, version).code()
                                }
                                (false, None) => ErrorCode::CoordinatorNotAvailable.code(),
                            };
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(*p)
                                .with_partition_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect()
}

/// One transaction of an AddPartitionsToTxn request, whatever its version.
struct AddRequest {
    transactional_id: String,
    producer_id: i64,
    producer_epoch: i16,
    verify_only: bool,
    topics: Vec<(String, Vec<i32>)>,
}

struct AddAsk {
    transactional_id: String,
    topics: Vec<(String, Vec<i32>)>,
    known: BTreeSet<TopicPartition>,
    missing: bool,
    pending: Pending,
}

pub async fn add_partitions(ctx: RequestContext, req: AddPartitionsToTxnRequest) -> Reply {
    let v = ctx.version();
    // v0-3 carry one transaction (clients); v4+ a batch, possibly verify-only (brokers).
    let asks: Vec<AddRequest> = if v <= 3 {
        vec![AddRequest {
            transactional_id: req.v3_and_below_transactional_id.0.to_string(),
            producer_id: req.v3_and_below_producer_id.0,
            producer_epoch: req.v3_and_below_producer_epoch,
            verify_only: false,
            topics: req
                .v3_and_below_topics
                .into_iter()
                .map(|t| (t.name.0.to_string(), t.partitions))
                .collect(),
        }]
    } else {
        req.transactions
            .into_iter()
            .map(|t| AddRequest {
                transactional_id: t.transactional_id.0.to_string(),
                producer_id: t.producer_id.0,
                producer_epoch: t.producer_epoch,
                verify_only: t.verify_only,
                topics: t
                    .topics
                    .into_iter()
                    .map(|t| (t.name.0.to_string(), t.partitions))
                    .collect(),
            })
            .collect()
    };
    let mut pending = Vec::with_capacity(asks.len());
    for AddRequest {
        transactional_id,
        producer_id,
        producer_epoch,
        verify_only,
        topics,
    } in asks
    {
        let (known, missing) = split_known(&ctx, &topics);
        // With a partition that does not exist Kafka adds none of them.
        let p = if missing || known.is_empty() {
            None
        } else {
            submit(
                &ctx,
                TxnRequest::AddPartitions(AddPartitions {
                    transactional_id: transactional_id.clone(),
                    producer_id: ProducerId(producer_id),
                    producer_epoch: ProducerEpoch(producer_epoch),
                    partitions: known.clone(),
                    verify_only,
                    client_version: CLIENT_VERSION,
                }),
            )
            .await
        };
        pending.push(AddAsk {
            transactional_id,
            topics,
            known,
            missing,
            pending: p,
        });
    }
    later(async move {
        let mut results = Vec::with_capacity(pending.len());
        for ask in pending {
            let errors: BTreeMap<TopicPartition, ErrorCode> = if ask.missing {
                ask.known
                    .iter()
                    .map(|tp| (tp.clone(), ErrorCode::None))
                    .collect()
            } else if ask.known.is_empty() {
                BTreeMap::new()
            } else {
                match answer(ask.pending).await {
                    Some(TxnResponse::AddPartitions(m)) => m,
                    _ => ask
                        .known
                        .iter()
                        .map(|tp| (tp.clone(), ErrorCode::CoordinatorNotAvailable))
                        .collect(),
                }
            };
            results.push((
                ask.transactional_id,
                topic_results(&ask.topics, &errors, ask.missing, v),
            ));
        }
        let mut resp = AddPartitionsToTxnResponse::default();
        if v <= 3 {
            resp.results_by_topic_v3_and_below = results
                .into_iter()
                .next()
                .map(|(_, r)| r)
                .unwrap_or_default();
        } else {
            resp.results_by_transaction = results
                .into_iter()
                .map(|(id, r)| {
                    AddPartitionsToTxnResult::default()
                        .with_transactional_id(TransactionalId(s(&id)))
                        .with_topic_results(r)
                })
                .collect();
        }
        ctx.respond(&resp)
    })
}

pub async fn add_offsets(ctx: RequestContext, req: AddOffsetsToTxnRequest) -> Reply {
    let pending = submit(
        &ctx,
        TxnRequest::AddOffsets(AddOffsets {
            transactional_id: req.transactional_id.0.to_string(),
            producer_id: ProducerId(req.producer_id.0),
            producer_epoch: ProducerEpoch(req.producer_epoch),
            group_id: req.group_id.0.to_string(),
            client_version: CLIENT_VERSION,
        }),
    )
    .await;
    later(async move {
        let error = match answer(pending).await {
            Some(TxnResponse::AddOffsets(e)) => e,
            _ => ErrorCode::CoordinatorNotAvailable,
        };
        let error = error.for_version(TxnApi::AddOffsetsToTxn, ctx.version());
        ctx.respond(&AddOffsetsToTxnResponse::default().with_error_code(error.code()))
    })
}

pub async fn end_txn(ctx: RequestContext, req: EndTxnRequest) -> Reply {
    let pending = submit(
        &ctx,
        TxnRequest::EndTxn(EndTxn {
            transactional_id: req.transactional_id.0.to_string(),
            producer_id: ProducerId(req.producer_id.0),
            producer_epoch: ProducerEpoch(req.producer_epoch),
            result: if req.committed {
                TxnResult::Commit
            } else {
                TxnResult::Abort
            },
            client_version: CLIENT_VERSION,
        }),
    )
    .await;
    later(async move {
        let a = match answer(pending).await {
            Some(TxnResponse::EndTxn(a)) => a,
            _ => ProducerAnswer::error(ErrorCode::CoordinatorNotAvailable),
        };
        let error = a.error.for_version(TxnApi::EndTxn, ctx.version());
        ctx.respond(
            &EndTxnResponse::default()
                .with_error_code(error.code())
                .with_producer_id(WireProducerId(a.producer_id.0))
                .with_producer_epoch(a.producer_epoch.0),
        )
    })
}

/// TxnOffsetCommit: Kafka checks the topics and that the group's offsets are in the
/// transaction (AddOffsetsToTxn came first), then hands the offsets to the group coordinator,
/// where they wait for the transaction's marker.
pub async fn txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> Reply {
    let v = ctx.version();
    let order: Vec<(TopicName, Vec<i32>)> = req
        .topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let mut known = Vec::new();
    let mut exists: HashMap<String, bool> = HashMap::new();
    for t in req.topics {
        let name = t.name.0.to_string();
        if !*exists
            .entry(name.clone())
            .or_insert_with(|| ctx.broker.topic(&name).is_some())
        {
            continue;
        }
        known.push(g::OffsetCommitTopic {
            name,
            partitions: t
                .partitions
                .into_iter()
                .map(|p| g::OffsetCommitPartition {
                    partition: p.partition_index,
                    committed_offset: p.committed_offset,
                    committed_leader_epoch: if v >= 2 { p.committed_leader_epoch } else { -1 },
                    committed_metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                })
                .collect(),
        });
    }
    let producer_id = ProducerId(req.producer_id.0);
    let producer_epoch = ProducerEpoch(req.producer_epoch);
    let verified = submit(
        &ctx,
        TxnRequest::AddPartitions(AddPartitions {
            transactional_id: req.transactional_id.0.to_string(),
            producer_id,
            producer_epoch,
            partitions: [crate::txn::offsets_partition()].into(),
            verify_only: true,
            client_version: CLIENT_VERSION,
        }),
    )
    .await;
    let verify_error = match answer(verified).await {
        Some(TxnResponse::AddPartitions(m)) => {
            m.into_values().find(|e| !e.is_ok()).map(|e| match e {
                // The offsets were not added (no AddOffsetsToTxn): Kafka's verification
                // answers older clients with INVALID_TXN_STATE.
                ErrorCode::TransactionAbortable if v < 5 => ErrorCode::InvalidTxnState,
                other => other,
            })
        }
        _ => Some(ErrorCode::CoordinatorNotAvailable),
    };
    let pending = if verify_error.is_none() && !known.is_empty() {
        ctx.broker
            .groups()
            .submit(GroupRequest::TxnOffsetCommit(g::TxnOffsetCommit {
                producer_id: producer_id.0,
                producer_epoch: producer_epoch.0,
                commit: g::OffsetCommit {
                    group_id: req.group_id.0.to_string(),
                    generation_id: if v >= 3 { req.generation_id } else { -1 },
                    member_id: if v >= 3 {
                        req.member_id.to_string()
                    } else {
                        String::new()
                    },
                    group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
                    topics: known,
                    api_version: v,
                },
            }))
            .await
            .ok()
    } else {
        None
    };
    later(async move {
        let mut errors: HashMap<(String, i32), i16> = HashMap::new();
        let mut all: Option<i16> = verify_error.map(|e| e.code());
        if all.is_none() {
            match pending {
                None => {}
                Some(rx) => match rx.await {
                    Ok(GroupResponse::TxnOffsetCommit(r)) => {
                        for (t, ps) in r.topics {
                            for (p, e) in ps {
                                errors.insert((t.clone(), p), e.code());
                            }
                        }
                    }
                    _ => all = Some(ErrorCode::CoordinatorNotAvailable.code()),
                },
            }
        }
        let topics = order
            .into_iter()
            .map(|(name, parts)| {
                let t = name.0.to_string();
                TxnOffsetCommitResponseTopic::default()
                    .with_name(name)
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|p| {
                                let code = all.unwrap_or_else(|| {
                                    errors
                                        .get(&(t.clone(), p))
                                        .copied()
                                        .unwrap_or(ResponseError::UnknownTopicOrPartition.code())
                                });
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect();
        ctx.respond(&TxnOffsetCommitResponse::default().with_topics(topics))
    })
}

pub async fn describe(ctx: RequestContext, req: DescribeTransactionsRequest) -> Reply {
    let ids: Vec<String> = req
        .transactional_ids
        .iter()
        .map(|t| t.0.to_string())
        .collect();
    let pending = submit(&ctx, TxnRequest::Describe(ids.clone())).await;
    later(async move {
        let states = match answer(pending).await {
            Some(TxnResponse::Describe(list)) => list
                .into_iter()
                .map(|d| {
                    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                    for tp in &d.partitions {
                        by_topic
                            .entry(tp.topic.clone())
                            .or_default()
                            .push(tp.partition.0);
                    }
                    TransactionState::default()
                        .with_error_code(d.error.code())
                        .with_transactional_id(TransactionalId(s(&d.transactional_id)))
                        .with_transaction_state(s(d.state.map(|st| st.name()).unwrap_or("")))
                        .with_transaction_timeout_ms(d.timeout_ms)
                        .with_transaction_start_time_ms(d.start_ms)
                        .with_producer_id(WireProducerId(d.producer_id.0))
                        .with_producer_epoch(d.producer_epoch.0)
                        .with_topics(
                            by_topic
                                .into_iter()
                                .map(|(t, ps)| {
                                    TopicData::default()
                                        .with_topic(TopicName(s(&t)))
                                        .with_partitions(ps)
                                })
                                .collect(),
                        )
                })
                .collect(),
            _ => ids
                .iter()
                .map(|id| {
                    TransactionState::default()
                        .with_error_code(ErrorCode::CoordinatorNotAvailable.code())
                        .with_transactional_id(TransactionalId(s(id)))
                })
                .collect(),
        };
        ctx.respond(&DescribeTransactionsResponse::default().with_transaction_states(states))
    })
}

pub async fn list(ctx: RequestContext, req: ListTransactionsRequest) -> Reply {
    // v2 (KIP-1152): only transactional ids the whole of which match a Java-style regex.
    let pattern = match req
        .transactional_id_pattern
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(_) => {
                return ctx.reply(
                    &ListTransactionsResponse::default()
                        .with_error_code(ResponseError::InvalidRegularExpression.code()),
                )
            }
        },
    };
    let pending = submit(
        &ctx,
        TxnRequest::List(ListTransactions {
            states: req.state_filters.iter().map(|s| s.to_string()).collect(),
            producer_ids: req
                .producer_id_filters
                .iter()
                .map(|p| ProducerId(p.0))
                .collect(),
            duration_filter_ms: if ctx.version() >= 1 {
                req.duration_filter
            } else {
                -1
            },
        }),
    )
    .await;
    later(async move {
        let resp = match answer(pending).await {
            Some(TxnResponse::List(l)) => ListTransactionsResponse::default()
                .with_error_code(l.error.code())
                .with_unknown_state_filters(l.unknown_state_filters.iter().map(|f| s(f)).collect())
                .with_transaction_states(
                    l.transactions
                        .into_iter()
                        .filter(|(id, _, _)| pattern.as_ref().is_none_or(|re| re.is_match(id)))
                        .map(|(id, pid, state)| {
                            ListedState::default()
                                .with_transactional_id(TransactionalId(s(&id)))
                                .with_producer_id(WireProducerId(pid.0))
                                .with_transaction_state(s(state.name()))
                        })
                        .collect(),
                ),
            _ => ListTransactionsResponse::default()
                .with_error_code(ErrorCode::CoordinatorNotAvailable.code()),
        };
        ctx.respond(&resp)
    })
}
