//! A coordinator's durable log: key/value records in an ordinary partition log (for example
//! `<data-dir>/__consumer_offsets/`), the role Kafka's internal compacted topics play. One log
//! serves one coordinator of this node.
//!
//! The log is compacted by rewriting: the latest value of every live key is kept in memory
//! (exactly what Kafka's log cleaner would keep), and when the bytes appended since the last
//! rewrite exceed both a floor and twice the live size, the live set is appended again and
//! everything before it is deleted. Replay reads from the log start, so it only ever sees the
//! last complete rewrite and what followed it.

use std::collections::HashMap;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

use crate::log::{AppendOutcome, FlushPolicy, LogConfig, LogError, PartitionLog};
use crate::record::batch::{split_batches, validate};
use crate::record::builder::{self, KeyValue};
use crate::record::validate::records;
use crate::types::Offset;

/// A record's key/value form in a coordinator log. A `None` value is a tombstone: the key's
/// latest record deletes it.
pub trait LogRecord: Sized {
    type Error: Display;
    /// Names the log in messages ("group log").
    const LOG_NAME: &'static str;
    fn encode(&self) -> (Bytes, Option<Bytes>);
    /// Must reject, never panic on, any bytes: the log is input like any other.
    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, Self::Error>;
}

/// Record bytes per batch when writing; a record is never split, so a batch can exceed this by
/// one record.
const BATCH_TARGET_BYTES: usize = 1 << 20;
/// Bytes read per step during replay.
const READ_CHUNK_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy)]
pub struct CoordinatorLogConfig {
    /// Segment size (Kafka's offsets.topic.segment.bytes default is 100 MiB).
    pub segment_bytes: u64,
    /// No rewrite before this many bytes were appended since the last one.
    pub compact_floor_bytes: u64,
}

impl Default for CoordinatorLogConfig {
    fn default() -> Self {
        CoordinatorLogConfig {
            segment_bytes: 64 << 20,
            compact_floor_bytes: 128 << 20,
        }
    }
}

#[derive(Default)]
struct LiveSet {
    /// Encoded key -> encoded value of every key whose latest record is not a tombstone.
    values: HashMap<Bytes, Bytes>,
    live_bytes: u64,
    appended_since_rewrite: u64,
}

impl LiveSet {
    fn apply(&mut self, key: Bytes, value: Option<Bytes>) {
        let added = (key.len() + value.as_ref().map_or(0, |v| v.len())) as u64;
        self.appended_since_rewrite += added;
        let old = match value {
            Some(v) => {
                self.live_bytes += added;
                self.values.insert(key.clone(), v)
            }
            None => self.values.remove(&key),
        };
        if let Some(old) = old {
            self.live_bytes = self
                .live_bytes
                .saturating_sub((key.len() + old.len()) as u64);
        }
    }
}

pub struct CoordinatorLog<R> {
    log: PartitionLog,
    config: CoordinatorLogConfig,
    live: Mutex<LiveSet>,
    records: PhantomData<fn() -> R>,
}

/// What replay found that it could not use. Kept to report, never fatal: a damaged record loses
/// that record, not the coordinator.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplayReport {
    pub records: usize,
    pub skipped: usize,
}

impl<R: LogRecord> CoordinatorLog<R> {
    /// Opens the log in `dir` (recovering like any partition log) and reads back every live
    /// record.
    pub fn open(
        dir: PathBuf,
        config: CoordinatorLogConfig,
        now_ms: i64,
    ) -> Result<(Self, Vec<R>, ReplayReport), LogError> {
        let log_config = LogConfig {
            segment_bytes: config.segment_bytes,
            // Space is reclaimed by rewriting, never by time or size retention.
            retention_ms: -1,
            retention_bytes: -1,
            flush: FlushPolicy::EveryAppend,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(dir, log_config, now_ms)?;
        let log = CoordinatorLog {
            log,
            config,
            live: Mutex::new(LiveSet::default()),
            records: PhantomData,
        };
        let (records, report) = log.read_all()?;
        Ok((log, records, report))
    }

    fn live(&self) -> MutexGuard<'_, LiveSet> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every record from the log start, in order, rebuilding the live set on the way.
    pub fn read_all(&self) -> Result<(Vec<R>, ReplayReport), LogError> {
        let mut live = LiveSet::default();
        let mut out = Vec::new();
        let mut report = ReplayReport::default();
        let end = self.log.log_end_offset().value();
        let mut next = self.log.log_start_offset().value();
        while next < end {
            let chunk = self.log.read(Offset(next), READ_CHUNK_BYTES, Offset(end))?;
            let (batches, _) = split_batches(&chunk);
            if batches.is_empty() {
                break;
            }
            for (pos, header) in batches {
                let bytes = &chunk[pos..pos + header.total_len()];
                next = header.last_offset() + 1;
                if header.last_offset() < self.log.log_start_offset().value() {
                    continue;
                }
                if let Err(e) = validate(bytes) {
                    tracing::error!(log = R::LOG_NAME, offset = header.base_offset, error = %e, "skipping a damaged batch");
                    report.skipped += header.record_count.max(0) as usize;
                    continue;
                }
                let Ok(recs) = records(bytes) else {
                    report.skipped += header.record_count.max(0) as usize;
                    continue;
                };
                for r in recs {
                    let decoded = r.map_err(|e| e.to_string()).and_then(|r| {
                        let key = r.key.unwrap_or_default();
                        R::decode(&key, r.value.as_deref())
                            .map(|g| (key, r.value, g))
                            .map_err(|e| e.to_string())
                    });
                    match decoded {
                        Ok((key, value, record)) => {
                            live.apply(key, value);
                            out.push(record);
                            report.records += 1;
                        }
                        Err(e) => {
                            tracing::error!(log = R::LOG_NAME, offset = header.base_offset, error = %e, "skipping an undecodable record");
                            report.skipped += 1;
                        }
                    }
                }
            }
        }
        live.appended_since_rewrite = 0;
        *self.live() = live;
        Ok((out, report))
    }

    /// Appends `records` (not yet durable); returns the offset after the last one.
    pub fn append(&self, records: &[R], now_ms: i64) -> Result<Offset, LogError> {
        let encoded: Vec<(Bytes, Option<Bytes>)> = records.iter().map(|r| r.encode()).collect();
        let end = self.append_encoded(&encoded, now_ms)?;
        let mut live = self.live();
        for (k, v) in encoded {
            live.apply(k, v);
        }
        Ok(end)
    }

    fn append_encoded(
        &self,
        encoded: &[(Bytes, Option<Bytes>)],
        now_ms: i64,
    ) -> Result<Offset, LogError> {
        let mut batches = Vec::new();
        let mut current: Vec<KeyValue<'_>> = Vec::new();
        let mut current_bytes = 0usize;
        for (k, v) in encoded {
            current.push((Some(k), v.as_deref()));
            current_bytes += k.len() + v.as_ref().map_or(0, |v| v.len());
            if current_bytes >= BATCH_TARGET_BYTES {
                batches.extend(builder::build(&current, now_ms).map(Bytes::from));
                current.clear();
                current_bytes = 0;
            }
        }
        batches.extend(builder::build(&current, now_ms).map(Bytes::from));
        if batches.is_empty() {
            return Ok(self.log.log_end_offset());
        }
        match self.log.append(&batches, 0, None, now_ms)? {
            AppendOutcome::Appended { last_offset, .. }
            | AppendOutcome::Duplicate { last_offset, .. } => Ok(Offset(last_offset.value() + 1)),
        }
    }

    /// Waits until everything before `end` is on disk.
    pub async fn wait_durable(&self, end: Offset) -> Result<(), LogError> {
        self.log.wait_durable(end).await
    }

    pub fn needs_rewrite(&self) -> bool {
        let live = self.live();
        live.appended_since_rewrite
            > self
                .config
                .compact_floor_bytes
                .max(live.live_bytes.saturating_mul(2))
    }

    /// Appends the live set again and deletes everything before it, once it is durable.
    pub async fn rewrite(&self, now_ms: i64) -> Result<(), LogError> {
        let start = self.log.log_end_offset();
        let snapshot: Vec<(Bytes, Option<Bytes>)> = self
            .live()
            .values
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        let end = self.append_encoded(&snapshot, now_ms)?;
        self.log.wait_durable(end).await?;
        self.log.delete_records_before(start)?;
        self.live().appended_since_rewrite = 0;
        tracing::info!(
            log = R::LOG_NAME,
            live_records = snapshot.len(),
            log_start = start.value(),
            "rewrote the coordinator log"
        );
        Ok(())
    }

    pub fn flush(&self) -> Result<(), LogError> {
        self.log.flush()
    }

    pub fn checkpoint(&self) -> Result<(), LogError> {
        self.log.checkpoint_active_segment()
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.size_bytes()
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log.log_start_offset()
    }
}
