//! Error codes the transaction coordinator answers with, and the errors of its record codec.

use thiserror::Error;

use super::api::TxnApi;

/// The Kafka error codes the transaction coordinator can return; `code()` is the wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorCode {
    #[default]
    None,
    CoordinatorNotAvailable,
    InvalidRequest,
    InvalidProducerEpoch,
    InvalidTxnState,
    InvalidProducerIdMapping,
    InvalidTransactionTimeout,
    ConcurrentTransactions,
    ProducerFenced,
    TransactionalIdNotFound,
    TransactionAbortable,
}

impl ErrorCode {
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::InvalidTxnState => 48,
            ErrorCode::InvalidProducerIdMapping => 49,
            ErrorCode::InvalidTransactionTimeout => 50,
            ErrorCode::ConcurrentTransactions => 51,
            ErrorCode::ProducerFenced => 90,
            ErrorCode::TransactionalIdNotFound => 105,
            ErrorCode::TransactionAbortable => 120,
        }
    }

    pub fn is_ok(self) -> bool {
        self == ErrorCode::None
    }

    /// The coordinator answers PRODUCER_FENCED; clients older than the version that introduced
    /// it get INVALID_PRODUCER_EPOCH instead, as Kafka's request handlers answer them.
    pub fn for_version(self, api: TxnApi, version: i16) -> ErrorCode {
        let first_with_fenced = match api {
            TxnApi::InitProducerId => 4,
            TxnApi::AddPartitionsToTxn | TxnApi::AddOffsetsToTxn | TxnApi::EndTxn => 2,
        };
        if self == ErrorCode::ProducerFenced && version < first_with_fenced {
            ErrorCode::InvalidProducerEpoch
        } else {
            self
        }
    }
}

/// Why a persisted transaction record could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TxnRecordError {
    #[error("record truncated at byte {0}")]
    Truncated(usize),
    #[error("unknown record key kind {0}")]
    UnknownKind(u8),
    #[error("unsupported record value version {0}")]
    UnsupportedVersion(u8),
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    #[error("invalid {what}: {value}")]
    Invalid { what: &'static str, value: i64 },
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
}
