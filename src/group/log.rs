//! The coordinator's durable log: group metadata and committed offsets as key/value records in
//! an ordinary partition log (`<data-dir>/__consumer_offsets/`), the role Kafka's
//! `__consumer_offsets` topic plays. One log serves the single coordinator of this node.
//!
//! The log is compacted by rewriting: the latest value of every live key is kept in memory
//! (exactly what Kafka's log cleaner would keep), and when the bytes appended since the last
//! rewrite exceed both a floor and twice the live size, the live set is appended again and
//! everything before it is deleted. Replay reads from the log start, so it only ever sees the
//! last complete rewrite and what followed it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

use super::records::GroupRecord;
use crate::log::{AppendOutcome, FlushPolicy, LogConfig, LogError, PartitionLog};
use crate::record::batch::{split_batches, validate};
use crate::record::builder::{self, KeyValue};
use crate::record::validate::records;
use crate::types::Offset;

/// Directory name inside the data directory. It has no `-<partition>` suffix, so the broker's
/// sweep of partition directories never mistakes it for a topic's.
pub const DIR_NAME: &str = "__consumer_offsets";

/// Record bytes per batch when writing; a group's metadata record is always one record, so a
/// batch can exceed this by one record.
const BATCH_TARGET_BYTES: usize = 1 << 20;
/// Bytes read per step during replay.
const READ_CHUNK_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy)]
pub struct GroupLogConfig {
    /// Segment size (Kafka's offsets.topic.segment.bytes default is 100 MiB).
    pub segment_bytes: u64,
    /// No rewrite before this many bytes were appended since the last one.
    pub compact_floor_bytes: u64,
}

impl Default for GroupLogConfig {
    fn default() -> Self {
        GroupLogConfig {
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

pub struct GroupLog {
    log: PartitionLog,
    config: GroupLogConfig,
    live: Mutex<LiveSet>,
}

/// What replay found that it could not use. Kept to report, never fatal: a damaged record loses
/// that record, not the coordinator.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplayReport {
    pub records: usize,
    pub skipped: usize,
}

impl GroupLog {
    pub fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join(DIR_NAME)
    }

    /// Opens (recovering like any partition log) and reads back every live record.
    pub fn open(
        data_dir: &Path,
        config: GroupLogConfig,
        now_ms: i64,
    ) -> Result<(GroupLog, Vec<GroupRecord>, ReplayReport), LogError> {
        let log_config = LogConfig {
            segment_bytes: config.segment_bytes,
            // Space is reclaimed by rewriting, never by time or size retention.
            retention_ms: -1,
            retention_bytes: -1,
            flush: FlushPolicy::EveryAppend,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(Self::dir(data_dir), log_config, now_ms)?;
        let log = GroupLog {
            log,
            config,
            live: Mutex::new(LiveSet::default()),
        };
        let (records, report) = log.read_all()?;
        Ok((log, records, report))
    }

    fn live(&self) -> MutexGuard<'_, LiveSet> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every record from the log start, in order, rebuilding the live set on the way.
    pub fn read_all(&self) -> Result<(Vec<GroupRecord>, ReplayReport), LogError> {
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
                    tracing::error!(offset = header.base_offset, error = %e, "skipping a damaged batch in the group log");
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
                        GroupRecord::decode(&key, r.value.as_deref())
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
                            tracing::error!(offset = header.base_offset, error = %e, "skipping an undecodable group record");
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
    pub fn append(&self, records: &[GroupRecord], now_ms: i64) -> Result<Offset, LogError> {
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
            live_records = snapshot.len(),
            log_start = start.value(),
            "rewrote the group log"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::records::OffsetValue;

    fn offset(group: &str, partition: i32, offset: i64) -> GroupRecord {
        GroupRecord::Offset {
            group_id: group.into(),
            topic: "t".into(),
            partition,
            value: Some(OffsetValue {
                offset,
                leader_epoch: -1,
                metadata: "x".repeat(100),
                commit_timestamp_ms: 1,
            }),
        }
    }

    fn small() -> GroupLogConfig {
        GroupLogConfig {
            segment_bytes: 16 << 10,
            compact_floor_bytes: 32 << 10,
        }
    }

    #[tokio::test]
    async fn records_read_back_in_order_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (log, none, _) = GroupLog::open(dir.path(), small(), 0).unwrap();
        assert!(none.is_empty());
        let written = vec![
            offset("a", 0, 1),
            offset("b", 1, 2),
            GroupRecord::Offset {
                group_id: "a".into(),
                topic: "t".into(),
                partition: 0,
                value: None,
            },
        ];
        let end = log.append(&written, 5).unwrap();
        log.wait_durable(end).await.unwrap();
        drop(log);
        let (_, back, report) = GroupLog::open(dir.path(), small(), 0).unwrap();
        assert_eq!(back, written);
        assert_eq!(report.skipped, 0);
    }

    #[tokio::test]
    async fn rewriting_keeps_exactly_the_live_records_and_frees_space() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = GroupLog::open(dir.path(), small(), 0).unwrap();
        let mut rewrites = 0;
        for round in 0..400i64 {
            let recs: Vec<GroupRecord> = (0..4).map(|p| offset("g", p, round)).collect();
            let end = log.append(&recs, round).unwrap();
            log.wait_durable(end).await.unwrap();
            if log.needs_rewrite() {
                log.rewrite(round).await.unwrap();
                rewrites += 1;
            }
        }
        assert!(rewrites > 0);
        assert!(log.log_start_offset().value() > 0);
        // 400 rounds of 4 records, ~150 bytes each: without rewriting ~240 KB.
        assert!(log.size_bytes() < 96 << 10, "size {}", log.size_bytes());
        drop(log);
        let (_, back, _) = GroupLog::open(dir.path(), small(), 0).unwrap();
        // Replay order keeps the last value per key; every partition ends at the last round.
        let mut last = std::collections::HashMap::new();
        for r in &back {
            if let GroupRecord::Offset {
                partition,
                value: Some(v),
                ..
            } = r
            {
                last.insert(*partition, v.offset);
            }
        }
        assert_eq!(last.len(), 4);
        assert!(last.values().all(|o| *o == 399));
    }

    #[tokio::test]
    async fn a_damaged_batch_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = GroupLog::open(dir.path(), small(), 0).unwrap();
        let end = log.append(&[offset("a", 0, 1)], 0).unwrap();
        log.wait_durable(end).await.unwrap();
        let end = log.append(&[offset("b", 0, 2)], 0).unwrap();
        log.wait_durable(end).await.unwrap();
        log.flush().unwrap();
        drop(log);
        // Flip a byte inside the first batch's records (covered by its CRC).
        let seg = GroupLog::dir(dir.path()).join("00000000000000000000.log");
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[70] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        let (_, back, report) = GroupLog::open(dir.path(), small(), 0).unwrap();
        assert_eq!(back, vec![offset("b", 0, 2)]);
        assert_eq!(report.skipped, 1);
    }
}
