//! Marker work: what the coordinator asks the partition side to do once a transaction's outcome
//! is durable, and the contract of whoever does it.

use std::collections::BTreeSet;

use crate::coordinator::TaskFuture;
use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

use super::api::{MarkersWritten, TxnResult};

/// "Write COMMIT/ABORT markers for producer id P, epoch E, coordinator epoch C to these
/// partitions, and apply the outcome to the transactional offsets of these groups."
///
/// Issued only once the Prepare record deciding the outcome is durable, and issued again after
/// a restart (or a rebuild of the coordinator) for every transaction still prepared, so the
/// same work may arrive more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerWork {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    /// The epoch the markers carry: the transaction's epoch after the Prepare (bumped under
    /// Transactions V2 and by fencing), never lower than any epoch the producer wrote with.
    pub producer_epoch: ProducerEpoch,
    pub coordinator_epoch: i32,
    pub result: TxnResult,
    pub partitions: BTreeSet<TopicPartition>,
    pub groups: BTreeSet<String>,
}

impl MarkerWork {
    /// The event that reports this work done.
    pub fn done(&self) -> MarkersWritten {
        MarkersWritten {
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
        }
    }
}

/// Why marker work could not be finished now. The service retries; the work is never dropped
/// while its transaction is prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerError(pub String);

/// The partition side of transaction completion (WriteTxnMarkers in Kafka). Implemented by the
/// broker over its partition logs and group coordinator; the transaction service calls it for
/// every `MarkerWork` and reports completion to the coordinator only when it returns `Ok`.
///
/// An implementation must guarantee:
/// - **Durable before Ok.** `Ok` means every listed partition holds a control batch with this
///   result for this producer id, at this epoch, that is durable (fsynced, or as durable as the
///   partition's acknowledged data under its flush policy), and every listed group has applied
///   the outcome to the producer's pending transactional offsets durably in the group log
///   (committed offsets visible, aborted ones dropped: KAFKA-17507). Only then does the
///   coordinator write CompleteCommit/CompleteAbort and forget the partitions.
/// - **Idempotent.** The same work may be delivered again (after a crash, a rebuild, or a retry
///   after a partial failure). A partition whose producer has no open transaction at this
///   producer id (its markers already written), or whose producer state already carries a
///   higher epoch, succeeds without writing a second marker. Partitions or topics that no
///   longer exist succeed (Kafka drops markers for deleted partitions).
/// - **Fencing.** A marker with an epoch lower than the producer's current epoch on that
///   partition is refused by the partition (the coordinator never issues one: epochs only grow).
/// - **Partial progress is allowed.** On `Err`, any subset of the partitions may hold the marker;
///   the retry rewrites none of them twice (idempotence above).
pub trait MarkerWriter: Send + Sync + 'static {
    fn write_markers(&self, work: MarkerWork) -> TaskFuture<Result<(), MarkerError>>;
}
