//! Transactional produce: a partition takes a transaction's batches only once the transaction
//! coordinator has it in that transaction (KIP-890 part 1's verification), so a producer that
//! was fenced, or whose transaction already ended, cannot open a transaction here that nobody
//! will ever close.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::TopicProduceData;

use crate::handlers::RequestContext;
use crate::record::batch::BatchHeader;
use crate::txn::api::{AddPartitions, TxnRequest, TxnResponse, TxnVersion};
use crate::txn::error::ErrorCode;
use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

/// The partitions of this request whose transactional batches may not be appended, with the
/// error each answers. Partitions without transactional batches are not asked about.
pub async fn verify(
    ctx: &RequestContext,
    transactional_id: &str,
    topics: &[TopicProduceData],
) -> HashMap<(String, i32), ResponseError> {
    let mut asks: BTreeMap<(i64, i16), BTreeSet<TopicPartition>> = BTreeMap::new();
    for t in topics {
        for p in &t.partition_data {
            let Some(h) = p
                .records
                .as_deref()
                .and_then(|r| BatchHeader::parse(r).ok())
                .filter(|h| h.is_transactional() && h.producer_id >= 0)
            else {
                continue;
            };
            asks.entry((h.producer_id, h.producer_epoch))
                .or_default()
                .insert(TopicPartition::new(t.name.0.to_string(), p.index));
        }
    }
    let mut refused = HashMap::new();
    for ((producer_id, producer_epoch), partitions) in asks {
        let answer = ctx
            .broker
            .txns()
            .call(TxnRequest::AddPartitions(AddPartitions {
                transactional_id: transactional_id.to_string(),
                producer_id: ProducerId(producer_id),
                producer_epoch: ProducerEpoch(producer_epoch),
                partitions: partitions.clone(),
                verify_only: true,
                client_version: TxnVersion::V1,
            }))
            .await;
        let errors: Vec<(TopicPartition, ErrorCode)> = match answer {
            Ok(TxnResponse::AddPartitions(m)) => m.into_iter().collect(),
            _ => partitions
                .into_iter()
                .map(|tp| (tp, ErrorCode::CoordinatorNotAvailable))
                .collect(),
        };
        for (tp, e) in errors {
            if let Some(code) = produce_error(e, ctx.version()) {
                refused.insert((tp.topic.clone(), tp.partition.0), code);
            }
        }
    }
    refused
}

/// What a producer hears when verification fails, as Kafka maps it: a fenced producer gets
/// INVALID_PRODUCER_EPOCH, and a partition missing from the transaction TRANSACTION_ABORTABLE
/// from Produce v11 on, INVALID_TXN_STATE before.
fn produce_error(e: ErrorCode, version: i16) -> Option<ResponseError> {
    Some(match e {
        ErrorCode::None => return None,
        ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch => {
            ResponseError::InvalidProducerEpoch
        }
        ErrorCode::TransactionAbortable if version >= 11 => ResponseError::TransactionAbortable,
        ErrorCode::TransactionAbortable => ResponseError::InvalidTxnState,
        other => {
            ResponseError::try_from_code(other.code()).unwrap_or(ResponseError::InvalidTxnState)
        }
    })
}
