//! One partition's log: segment files with offset and time indexes, crash recovery, retention,
//! roll, group-commit fsync, the leader-epoch cache and the log start offset.
//!
//! The on-disk format is written down in `docs/storage-format.md`.

mod checkpoint;
mod index;
mod index_cache;
mod partition_log;
mod read_waiters;
mod recovery;
mod segment;

pub use partition_log::PartitionLog;

use thiserror::Error;

use crate::producer::ProducerStateError;
use crate::types::Offset;

/// When appended data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Strata's default: every append is fdatasync'ed before it is acknowledged or visible to
    /// readers. Concurrent appends share one fsync.
    EveryAppend,
    /// Kafka's log.flush.interval.messages / log.flush.interval.ms: data is acknowledged and visible
    /// once in the page cache and forced to disk when either bound is reached.
    Interval { messages: u64, ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub index_interval_bytes: u32,
    pub max_index_bytes: u32,
    pub flush: FlushPolicy,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            max_index_bytes: 10 * 1024 * 1024,
            flush: FlushPolicy::EveryAppend,
        }
    }
}

/// A segment's file positions are u32 (as in Kafka's index format), so no segment may exceed this.
pub const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended {
        base_offset: Offset,
        last_offset: Offset,
        log_append_time_ms: i64,
        log_start_offset: Offset,
    },
    /// The batch repeats one already in the log (an idempotent producer's retry).
    Duplicate {
        base_offset: Offset,
        last_offset: Offset,
        log_append_time_ms: i64,
        log_start_offset: Offset,
    },
}

/// What a fetch read returns: batches in memory, or a range of a segment file.
#[derive(Debug, Clone)]
pub enum Fetched {
    Bytes(bytes::Bytes),
    Slice(crate::types::FileSlice),
}

impl Fetched {
    pub fn len(&self) -> usize {
        match self {
            Fetched::Bytes(b) => b.len(),
            Fetched::Slice(s) => s.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Error)]
pub enum LogError {
    #[error("offset {offset} is outside the log [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    #[error(transparent)]
    Producer(#[from] ProducerStateError),
    #[error("log I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt log data: {0}")]
    Corrupt(String),
    #[error("the log is offline after an earlier I/O error")]
    Offline,
    #[error("batch of {0} bytes does not fit in a segment")]
    BatchTooLarge(usize),
}

#[cfg(test)]
mod tests;
