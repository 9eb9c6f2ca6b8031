//! Idempotent producer state per partition, its snapshots, and producer id allocation.

mod id_allocator;
mod snapshot;
mod state;

pub use id_allocator::ProducerIdAllocator;
pub use state::{CompletedTxn, ProducerStateManager, ProducerView, SequenceCheck};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProducerStateError {
    #[error(
        "out of order sequence number for producer {producer_id}: expected {expected}, got {got}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
    #[error(
        "producer {producer_id} has epoch {current}; a batch with the older epoch {got} is fenced"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        current: i16,
        got: i16,
    },
    #[error(
        "producer {producer_id}'s markers come from coordinator epoch {current}; a marker from epoch {got} is fenced"
    )]
    CoordinatorFenced {
        producer_id: i64,
        current: i32,
        got: i32,
    },
    #[error("unknown producer id {producer_id}")]
    UnknownProducerId { producer_id: i64 },
    #[error("producer state I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt producer state: {0}")]
    Corrupt(String),
}
