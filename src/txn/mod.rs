//! The transaction coordinator as a deterministic state machine (Kafka's TransactionCoordinator,
//! TransactionStateManager and TransactionMetadata, 4.x semantics, Transactions V1 and V2).
//!
//! No I/O and no clock: the coordinator runtime (`crate::coordinator`) feeds requests and
//! `now_ms` in and gets effects out: one record per changed transactional id to make durable,
//! responses released once they are, and marker work (`markers::MarkerWork`) started once the
//! Prepare record deciding a transaction is durable. A transaction's outcome is decided exactly
//! when its PrepareCommit/PrepareAbort record is durable; when the markers are written the work
//! comes back as `TxnRequest::MarkersWritten` and the Complete record follows. Replay rebuilds
//! every id, and `resume` reissues the marker work of every transaction still prepared.
//!
//! Kafka keeps a "pending state" while an append is in flight; here a change is applied at once
//! and the runtime holds the answer until it is durable (or rebuilds the state from the log if
//! the write fails), so requests in the same turn see the new state, as they would see Kafka's
//! pending one, and are answered CONCURRENT_TRANSACTIONS where Kafka would.
//!
//! Files: `api` (requests, responses), `state` (one id's metadata and states), `init`
//! (InitProducerId), `add` (AddPartitionsToTxn, AddOffsetsToTxn, verification), `end` (EndTxn,
//! marker completion, timeouts and expiry), `admin` (Describe/ListTransactions), `records` (the
//! persisted form), `markers` (marker work and the `MarkerWriter` contract), `service` (the
//! runtime wiring and the transaction log).

mod add;
mod admin;
pub mod api;
mod end;
pub mod error;
mod init;
pub mod markers;
pub mod records;
pub mod service;
pub mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use api::*;
pub use error::{ErrorCode, TxnRecordError};
pub use markers::{MarkerError, MarkerWork, MarkerWriter};
pub use records::TxnRecord;
pub use state::{TxnMetadata, TxnState};

use crate::coordinator::{self, CoordinatorShard};
use crate::types::{PartitionId, ProducerId, TopicPartition};

pub type Effects = coordinator::Effects<TxnCoordinator>;

/// The group offsets partition a transaction with AddOffsetsToTxn shows in DescribeTransactions
/// (one group log on this node, so one partition).
pub const OFFSETS_PARTITION: (&str, i32) = ("__consumer_offsets", 0);

pub fn offsets_partition() -> TopicPartition {
    TopicPartition {
        topic: OFFSETS_PARTITION.0.to_string(),
        partition: PartitionId(OFFSETS_PARTITION.1),
    }
}

#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// transaction.max.timeout.ms
    pub max_timeout_ms: i32,
    /// transactional.id.expiration.ms
    pub id_expiration_ms: i64,
    /// transaction.abort.timed.out.transaction.cleanup.interval.ms
    pub abort_check_interval_ms: i64,
    /// transaction.remove.expired.transaction.cleanup.interval.ms
    pub expiry_check_interval_ms: i64,
    /// The broker's finalized transaction.version, used for aborts the coordinator starts itself
    /// (timeouts, fencing by a new producer), as Kafka uses its own level there.
    pub server_version: TxnVersion,
    /// Carried on every marker; the leader epoch of the transaction log partition in Kafka, a
    /// constant on one node.
    pub coordinator_epoch: i32,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout_ms: 900_000,
            id_expiration_ms: 7 * 24 * 60 * 60 * 1000,
            abort_check_interval_ms: 10_000,
            expiry_check_interval_ms: 3_600_000,
            server_version: TxnVersion::V2,
            coordinator_epoch: 0,
        }
    }
}

/// Why a producer id could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProducerId;

/// Where new producer ids come from (the broker's allocator, which reserves blocks on disk).
/// Ids must grow and never repeat.
pub trait ProducerIdSource: Send + Sync + 'static {
    fn next_producer_id(&self) -> Result<ProducerId, NoProducerId>;
}

pub struct TxnCoordinator {
    cfg: TxnConfig,
    ids: Arc<dyn ProducerIdSource>,
    /// Ordered, so scans (timeouts, expiry, listing) are deterministic.
    txns: BTreeMap<String, TxnMetadata>,
    next_abort_check_ms: Option<i64>,
    next_expiry_check_ms: Option<i64>,
}

impl TxnCoordinator {
    pub fn new(config: TxnConfig, ids: Arc<dyn ProducerIdSource>) -> Self {
        TxnCoordinator {
            cfg: config,
            ids,
            txns: BTreeMap::new(),
            next_abort_check_ms: None,
            next_expiry_check_ms: None,
        }
    }

    pub fn config(&self) -> &TxnConfig {
        &self.cfg
    }

    pub fn transaction(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.txns.get(transactional_id)
    }

    pub fn transactions(&self) -> &BTreeMap<String, TxnMetadata> {
        &self.txns
    }

    pub fn handle(&mut self, now_ms: i64, id: RequestId, request: TxnRequest) -> Effects {
        let mut fx = Effects::default();
        let response = match request {
            TxnRequest::InitProducerId(r) => {
                TxnResponse::InitProducerId(self.init_producer_id(now_ms, r, &mut fx))
            }
            TxnRequest::AddPartitions(r) => {
                TxnResponse::AddPartitions(self.add_partitions(now_ms, r, &mut fx))
            }
            TxnRequest::AddOffsets(r) => {
                TxnResponse::AddOffsets(self.add_offsets(now_ms, r, &mut fx))
            }
            TxnRequest::EndTxn(r) => TxnResponse::EndTxn(self.end_txn(now_ms, r, &mut fx)),
            TxnRequest::Describe(ids) => TxnResponse::Describe(self.describe(&ids)),
            TxnRequest::List(filter) => TxnResponse::List(self.list(now_ms, &filter)),
            TxnRequest::MarkersWritten(done) => {
                self.markers_written(now_ms, &done, &mut fx);
                TxnResponse::Done
            }
        };
        fx.responses.push((id, response));
        fx
    }

    /// Aborts transactions past their timeout and expires idle ids, each on its own interval.
    pub fn tick(&mut self, now_ms: i64) -> Effects {
        let mut fx = Effects::default();
        if self.next_abort_check_ms.is_none_or(|d| d <= now_ms) {
            self.abort_timed_out(now_ms, &mut fx);
            self.next_abort_check_ms =
                Some(now_ms.saturating_add(self.cfg.abort_check_interval_ms.max(1)));
        }
        if self.next_expiry_check_ms.is_none_or(|d| d <= now_ms) {
            self.expire_ids(now_ms, &mut fx);
            self.next_expiry_check_ms =
                Some(now_ms.saturating_add(self.cfg.expiry_check_interval_ms.max(1)));
        }
        fx
    }

    pub fn next_deadline(&self) -> Option<i64> {
        if self.txns.is_empty() {
            return None;
        }
        let abort = self.next_abort_check_ms.unwrap_or(i64::MIN);
        let expiry = self.next_expiry_check_ms.unwrap_or(i64::MIN);
        Some(abort.min(expiry))
    }

    /// Applies one persisted record (log order; the latest record of an id wins).
    pub fn replay(&mut self, record: &TxnRecord) {
        match &record.value {
            Some(m) => {
                self.txns.insert(record.transactional_id.clone(), m.clone());
            }
            None => {
                self.txns.remove(&record.transactional_id);
            }
        }
    }

    /// Marker work owed by every transaction whose outcome is decided but not complete.
    pub fn owed_markers(&self) -> Vec<MarkerWork> {
        self.txns
            .iter()
            .filter(|(_, m)| m.state.is_prepared())
            .map(|(id, m)| self.marker_work(id, m))
            .collect()
    }

    /// Queues the id's current metadata to be persisted.
    fn persist(&self, transactional_id: &str, fx: &mut Effects) {
        fx.persist.push(TxnRecord {
            transactional_id: transactional_id.to_string(),
            value: self.txns.get(transactional_id).cloned(),
        });
    }

    fn marker_work(&self, transactional_id: &str, m: &TxnMetadata) -> MarkerWork {
        MarkerWork {
            transactional_id: transactional_id.to_string(),
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            coordinator_epoch: self.cfg.coordinator_epoch,
            result: if m.state == TxnState::PrepareCommit {
                TxnResult::Commit
            } else {
                TxnResult::Abort
            },
            partitions: m.partitions.clone(),
            groups: m.groups.clone(),
        }
    }
}

impl CoordinatorShard for TxnCoordinator {
    type Request = TxnRequest;
    type Response = TxnResponse;
    type Record = TxnRecord;
    type Task = MarkerWork;

    fn handle(&mut self, now_ms: i64, id: RequestId, request: TxnRequest) -> Effects {
        TxnCoordinator::handle(self, now_ms, id, request)
    }

    fn tick(&mut self, now_ms: i64) -> Effects {
        TxnCoordinator::tick(self, now_ms)
    }

    fn next_deadline(&self) -> Option<i64> {
        TxnCoordinator::next_deadline(self)
    }

    fn replay(&mut self, record: &TxnRecord) {
        TxnCoordinator::replay(self, record)
    }

    fn empty_like(&self) -> Self {
        TxnCoordinator::new(self.cfg.clone(), self.ids.clone())
    }

    fn resume(&mut self) -> Vec<MarkerWork> {
        self.owed_markers()
    }

    fn unavailable(response: TxnResponse) -> TxnResponse {
        let e = ErrorCode::CoordinatorNotAvailable;
        match response {
            TxnResponse::InitProducerId(_) => TxnResponse::InitProducerId(ProducerAnswer::error(e)),
            TxnResponse::EndTxn(_) => TxnResponse::EndTxn(ProducerAnswer::error(e)),
            TxnResponse::AddPartitions(ps) => {
                TxnResponse::AddPartitions(ps.into_keys().map(|p| (p, e)).collect())
            }
            TxnResponse::AddOffsets(_) => TxnResponse::AddOffsets(e),
            // Reads: what they saw was already durable.
            other @ (TxnResponse::Describe(_) | TxnResponse::List(_) | TxnResponse::Done) => other,
        }
    }
}
