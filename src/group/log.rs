//! The group coordinator's durable log, `<data-dir>/__consumer_offsets/`: group metadata and
//! committed offsets as key/value records in a `CoordinatorLog` (replay, compaction by rewrite).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::error::GroupRecordError;
use super::records::GroupRecord;
use crate::coordinator::log::{CoordinatorLog, CoordinatorLogConfig, LogRecord, ReplayReport};
use crate::log::LogError;

/// Directory name inside the data directory. It has no `-<partition>` suffix, so the broker's
/// sweep of partition directories never mistakes it for a topic's.
pub const DIR_NAME: &str = "__consumer_offsets";

pub type GroupLog = CoordinatorLog<GroupRecord>;
pub type GroupLogConfig = CoordinatorLogConfig;

impl LogRecord for GroupRecord {
    type Error = GroupRecordError;
    const LOG_NAME: &'static str = "group log";

    fn encode(&self) -> (Bytes, Option<Bytes>) {
        GroupRecord::encode(self)
    }

    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, GroupRecordError> {
        GroupRecord::decode(key, value)
    }
}

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR_NAME)
}

/// Opens the group log of `data_dir` and reads back every live record.
pub fn open(
    data_dir: &Path,
    config: GroupLogConfig,
    now_ms: i64,
) -> Result<(GroupLog, Vec<GroupRecord>, ReplayReport), LogError> {
    GroupLog::open(dir(data_dir), config, now_ms)
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
        let (log, none, _) = open(dir.path(), small(), 0).unwrap();
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
        let (_, back, report) = open(dir.path(), small(), 0).unwrap();
        assert_eq!(back, written);
        assert_eq!(report.skipped, 0);
    }

    #[tokio::test]
    async fn rewriting_keeps_exactly_the_live_records_and_frees_space() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = open(dir.path(), small(), 0).unwrap();
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
        let (_, back, _) = open(dir.path(), small(), 0).unwrap();
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
        let (log, _, _) = open(dir.path(), small(), 0).unwrap();
        let end = log.append(&[offset("a", 0, 1)], 0).unwrap();
        log.wait_durable(end).await.unwrap();
        let end = log.append(&[offset("b", 0, 2)], 0).unwrap();
        log.wait_durable(end).await.unwrap();
        log.flush().unwrap();
        drop(log);
        // Flip a byte inside the first batch's records (covered by its CRC).
        let seg = super::dir(dir.path()).join("00000000000000000000.log");
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[70] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        let (_, back, report) = open(dir.path(), small(), 0).unwrap();
        assert_eq!(back, vec![offset("b", 0, 2)]);
        assert_eq!(report.skipped, 1);
    }
}
