//! One transactional id's metadata and the states it moves through (Kafka's
//! `TransactionMetadata` and `TransactionState`).

use std::collections::BTreeSet;

use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

use super::api::TxnVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxnState {
    /// No transaction open (after InitProducerId).
    Empty,
    /// Partitions or offsets were added; the transaction timeout runs.
    Ongoing,
    /// EndTxn(commit) is durable: the outcome is decided, markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a fence or a timeout is durable; abort markers are being written.
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    /// Expired; only ever seen as a tombstone.
    Dead,
    /// Kafka's in-memory step while a newer producer fences an open transaction. Here the fence
    /// goes straight to PrepareAbort with the bumped epoch, so no id rests in this state; it is
    /// kept so the record codec and the state names match Kafka's.
    PrepareEpochFence,
}

impl TxnState {
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// Kafka's name, as DescribeTransactions and ListTransactions answer it.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub fn from_name(name: &str) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Kafka's id of the state in `__transaction_state` values.
    pub fn id(self) -> u8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_id(id: u8) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The outcome is decided and markers are owed.
    pub fn is_prepared(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    /// States from which an idle id may expire.
    pub fn may_expire(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }

    /// A transaction of this id is open (begun, not complete).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort
        )
    }
}

/// What Kafka keeps per transactional id; one record of it is persisted after every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub producer_id: ProducerId,
    /// The producer id before the last rotation (KIP-360 retries after an epoch overflow).
    pub prev_producer_id: ProducerId,
    /// V2: the producer id the next transaction uses when this one exhausted the epochs.
    pub next_producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    /// The epoch before the last bump, so a retried InitProducerId or EndTxn is recognised.
    pub last_producer_epoch: ProducerEpoch,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    /// Groups whose offsets are part of the transaction (AddOffsetsToTxn).
    pub groups: BTreeSet<String>,
    /// When the first partition was added; -1 when no transaction has started.
    pub start_ms: i64,
    pub last_update_ms: i64,
    pub client_version: TxnVersion,
}

/// Epochs at or past this are exhausted: Short.MAX_VALUE itself is kept so the coordinator
/// can always fence once more.
pub const EPOCH_EXHAUSTED: i16 = i16::MAX - 1;

impl TxnMetadata {
    pub fn new(producer_id: ProducerId, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            producer_id,
            prev_producer_id: ProducerId::NONE,
            next_producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch(-1),
            last_producer_epoch: ProducerEpoch(-1),
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            client_version: TxnVersion::V1,
        }
    }

    pub fn epoch_exhausted(&self) -> bool {
        self.producer_epoch.0 >= EPOCH_EXHAUSTED
    }

    /// The producer id and epoch the transaction has once complete (what EndTxn v5 answers):
    /// under V2 with an exhausted epoch, the next producer id at epoch 0.
    pub fn completed_producer(&self) -> (ProducerId, ProducerEpoch) {
        if self.client_version.bumps_epoch() && self.next_producer_id != ProducerId::NONE {
            (self.next_producer_id, ProducerEpoch(0))
        } else {
            (self.producer_id, self.producer_epoch)
        }
    }
}
