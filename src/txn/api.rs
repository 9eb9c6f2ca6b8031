//! Plain request and response types of the transaction coordinator. The request handlers
//! translate every wire version to and from these, so the state machine depends on no protocol
//! version. Ids and epochs use Kafka's -1 for "none".

use std::collections::{BTreeMap, BTreeSet};

pub use crate::coordinator::RequestId;
use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

use super::error::ErrorCode;
use super::state::TxnState;

/// The client's transaction protocol (Kafka's `transaction.version` feature as the client uses
/// it). V2 (KIP-890 part 2) bumps the epoch at every transaction end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TxnVersion {
    /// Levels 0 and 1: the epoch moves only at InitProducerId and fencing.
    #[default]
    V1,
    V2,
}

impl TxnVersion {
    pub fn bumps_epoch(self) -> bool {
        self == TxnVersion::V2
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnResult {
    Commit,
    Abort,
}

#[derive(Debug, Clone)]
pub enum TxnRequest {
    InitProducerId(InitProducerId),
    AddPartitions(AddPartitions),
    AddOffsets(AddOffsets),
    EndTxn(EndTxn),
    Describe(Vec<String>),
    List(ListTransactions),
    /// Internal: every marker of the transaction decided with this producer id and epoch is
    /// durable in its partition (and applied to its groups' offsets).
    MarkersWritten(MarkersWritten),
}

#[derive(Debug, Clone)]
pub struct InitProducerId {
    pub transactional_id: String,
    pub transaction_timeout_ms: i32,
    /// KIP-360: the producer id and epoch the client holds, when it re-initialises after an
    /// error. None when the request carries -1/-1.
    pub expected: Option<(ProducerId, ProducerEpoch)>,
}

#[derive(Debug, Clone)]
pub struct AddPartitions {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub partitions: BTreeSet<TopicPartition>,
    /// AddPartitionsToTxn v4+ `verify_only`: report whether each partition is in the
    /// transaction, change nothing.
    pub verify_only: bool,
    /// V2 when the partition is added implicitly by a Produce v12+ request.
    pub client_version: TxnVersion,
}

#[derive(Debug, Clone)]
pub struct AddOffsets {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub group_id: String,
    pub client_version: TxnVersion,
}

#[derive(Debug, Clone)]
pub struct EndTxn {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub result: TxnResult,
    /// V2 for EndTxn v5+ when the broker has transaction.version 2.
    pub client_version: TxnVersion,
}

#[derive(Debug, Clone, Default)]
pub struct ListTransactions {
    /// Kafka's state names ("Ongoing", "PrepareCommit", ...); empty means all.
    pub states: Vec<String>,
    /// Empty means all.
    pub producer_ids: Vec<ProducerId>,
    /// Only transactions running longer than this (-1: no filter), measured from their start.
    pub duration_filter_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkersWritten {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TxnResponse {
    InitProducerId(ProducerAnswer),
    AddPartitions(BTreeMap<TopicPartition, ErrorCode>),
    AddOffsets(ErrorCode),
    /// V2: the producer id and epoch for the next transaction; -1/-1 under V1 or on error.
    EndTxn(ProducerAnswer),
    Describe(Vec<DescribedTxn>),
    List(ListedTxns),
    /// Answer to an internal event; nobody waits for it.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerAnswer {
    pub error: ErrorCode,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
}

impl ProducerAnswer {
    pub fn error(error: ErrorCode) -> Self {
        ProducerAnswer {
            error,
            producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch(-1),
        }
    }

    pub fn ok(producer_id: ProducerId, producer_epoch: ProducerEpoch) -> Self {
        ProducerAnswer {
            error: ErrorCode::None,
            producer_id,
            producer_epoch,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedTxn {
    pub transactional_id: String,
    pub error: ErrorCode,
    pub state: Option<TxnState>,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub timeout_ms: i32,
    pub start_ms: i64,
    /// The transaction's partitions, with the group offsets partition when offsets were added.
    pub partitions: BTreeSet<TopicPartition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedTxns {
    pub error: ErrorCode,
    pub unknown_state_filters: Vec<String>,
    /// (transactional id, producer id, state), ordered by transactional id.
    pub transactions: Vec<(String, ProducerId, TxnState)>,
}

/// Which API a response answers, for `ErrorCode::for_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnApi {
    InitProducerId,
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    EndTxn,
}
