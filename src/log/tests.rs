//! Log tests on real files: appends, reads at every offset, rolls, reopen after clean and unclean
//! shutdown, torn and corrupt tails, index loss, retention, delete-records, epochs, group commit.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::record::batch::{self, test_util::build_batch, BatchHeader};
use crate::types::Offset;

fn cfg(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 64,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, c: LogConfig) -> PartitionLog {
    PartitionLog::open(dir.to_path_buf(), c, 1_000).expect("open")
}

fn batch_of(n: usize, ts: i64) -> Bytes {
    let vals: Vec<Vec<u8>> = (0..n).map(|i| format!("value-{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
    Bytes::from(build_batch(0, ts, &refs, -1, -1, -1))
}

fn append(log: &PartitionLog, n: usize, ts: i64) -> (i64, i64) {
    match log
        .append(&[batch_of(n, ts)], 0, None, 1_000)
        .expect("append")
    {
        AppendOutcome::Appended {
            base_offset,
            last_offset,
            ..
        } => (base_offset.value(), last_offset.value()),
        other => panic!("unexpected {other:?}"),
    }
}

fn headers(bytes: &[u8]) -> Vec<BatchHeader> {
    batch::split_batches(bytes)
        .0
        .into_iter()
        .map(|(_, h)| h)
        .collect()
}

fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    v.sort();
    v
}

#[test]
fn appends_assign_consecutive_offsets_and_reads_return_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(append(&log, 3, 10), (0, 2));
    assert_eq!(append(&log, 2, 11), (3, 4));
    // An offset inside the first batch returns that whole batch first.
    let got = headers(&log.read(Offset(1), 1 << 20, Offset(5)).unwrap());
    assert_eq!(
        got.iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        vec![0, 3]
    );
    // The upper bound excludes batches reaching it.
    let got = headers(&log.read(Offset(0), 1 << 20, Offset(4)).unwrap());
    assert_eq!(got.len(), 1);
    // KIP-74: a limit smaller than the first batch still returns it.
    assert_eq!(
        headers(&log.read(Offset(3), 1, Offset(5)).unwrap()).len(),
        1
    );
    assert!(log.read(Offset(5), 100, Offset(5)).unwrap().is_empty());
    assert!(matches!(
        log.read(Offset(6), 100, Offset(6)),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn stored_batches_keep_the_producer_bytes_with_only_the_header_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    append(&log, 1, 5);
    let original = batch_of(4, 7);
    log.append(std::slice::from_ref(&original), 3, None, 1_000)
        .unwrap();
    let stored = log.read(Offset(1), 1 << 20, Offset(100)).unwrap();
    let h = batch::validate(&stored).expect("CRC still valid");
    assert_eq!((h.base_offset, h.partition_leader_epoch), (1, 3));
    assert_eq!(&stored[12..16], &3i32.to_be_bytes());
    assert_eq!(
        &stored[16..],
        &original[16..],
        "everything after offset and epoch untouched"
    );
}

#[test]
fn log_append_time_rewrites_timestamp_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    log.append(&[batch_of(2, 7)], 0, Some(99_999), 1_000)
        .unwrap();
    let stored = log.read(Offset(0), 1 << 20, Offset(100)).unwrap();
    let h = batch::validate(&stored).expect("valid CRC");
    assert_eq!(h.max_timestamp, 99_999);
    assert_eq!(
        h.timestamp_type(),
        crate::record::TimestampType::LogAppendTime
    );
}

#[test]
fn clean_reopen_keeps_everything_and_continues_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(300));
        for i in 0..20 {
            append(&log, 2, 100 + i);
        }
        log.flush().unwrap();
    }
    assert!(log_files(dir.path()).len() > 3, "small segments rolled");
    let log = open(dir.path(), cfg(300));
    assert_eq!(log.log_end_offset(), Offset(40));
    assert_eq!(append(&log, 1, 500), (40, 40));
    let all = headers(&log.read(Offset(0), 1 << 20, Offset(41)).unwrap());
    assert!(!all.is_empty());
    for o in 0..41 {
        let h = headers(&log.read(Offset(o), 1, Offset(41)).unwrap());
        assert!(
            h[0].base_offset <= o && o <= h[0].last_offset(),
            "offset {o}"
        );
    }
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        for i in 0..5 {
            append(&log, 3, i);
        }
        // No flush(): an unclean stop.
    }
    let file = log_files(dir.path()).pop().unwrap();
    let len = fs::metadata(&file).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len - 10).unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(
        log.log_end_offset(),
        Offset(12),
        "the torn fifth batch is gone"
    );
    assert_eq!(append(&log, 1, 9), (12, 12));
}

#[test]
fn corrupt_byte_in_the_middle_cuts_from_that_batch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        for i in 0..5 {
            append(&log, 2, i);
        }
    }
    let file = log_files(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&file).unwrap();
    let (batches, _) = batch::split_batches(&bytes);
    let third = batches[2].0 + 40;
    bytes[third] ^= 0xff;
    fs::write(&file, &bytes).unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(log.log_end_offset(), Offset(4));
}

/// A log of 60 records in 30 batches over several 400-byte segments, stopped cleanly.
fn rolled_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(400));
    for i in 0..30 {
        append(&log, 2, i);
    }
    log.flush().unwrap();
    dir
}

#[test]
fn lost_or_damaged_indexes_are_rebuilt() {
    let dir = rolled_log();
    for entry in fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        match p.extension().and_then(|e| e.to_str()) {
            Some("index") => fs::write(&p, b"garbage!").unwrap(),
            Some("timeindex") => {
                let _ = fs::remove_file(&p);
            }
            _ => {}
        }
    }
    let log = open(dir.path(), cfg(400));
    assert_eq!(log.log_end_offset(), Offset(60));
    for o in [0, 17, 59] {
        let h = headers(&log.read(Offset(o), 1, Offset(60)).unwrap());
        assert!(h[0].base_offset <= o && o <= h[0].last_offset());
    }
}

#[test]
fn retention_by_bytes_and_time_deletes_whole_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_bytes: 600,
            ..cfg(300)
        },
    );
    for i in 0..20 {
        append(&log, 2, 1_000 + i);
    }
    let before = log_files(dir.path()).len();
    assert!(log.apply_retention(2_000).unwrap() > 0);
    assert!(log_files(dir.path()).len() < before);
    assert!(log.size_bytes() <= 600 + 300);
    assert!(log.log_start_offset().value() > 0);
    assert!(matches!(
        log.read(Offset(0), 10, Offset(40)),
        Err(LogError::OffsetOutOfRange { .. })
    ));

    log.set_config(LogConfig {
        retention_ms: 10,
        retention_bytes: -1,
        ..cfg(300)
    });
    log.apply_retention(1_000_000).unwrap();
    assert_eq!(
        log_files(dir.path()).len(),
        1,
        "only the active segment is left"
    );
}

#[test]
fn delete_records_moves_the_start_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let interval = LogConfig {
        flush: FlushPolicy::Interval { messages: 1, ms: 1 },
        ..cfg(300)
    };
    {
        let log = open(dir.path(), interval);
        for i in 0..10 {
            append(&log, 2, i);
        }
        assert_eq!(log.delete_records_before(Offset(7)).unwrap(), Offset(7));
        assert!(matches!(
            log.delete_records_before(Offset(21)),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        // Reads from the new start return the batch holding it.
        let h = headers(&log.read(Offset(7), 1, Offset(20)).unwrap());
        assert_eq!(h[0].base_offset, 6);
    }
    let log = open(dir.path(), interval);
    assert_eq!(log.log_start_offset(), Offset(7));
    assert_eq!(log.delete_records_before(Offset(20)).unwrap(), Offset(20));
    assert_eq!(log.log_end_offset(), Offset(20));
    assert_eq!(append(&log, 1, 1), (20, 20));
}

/// Every offset reads back the batch holding it, and every timestamp finds the first batch
/// reaching it.
fn assert_reads_and_lookups(log: &PartitionLog, end: i64) {
    // Lookups answer only below the high watermark: make everything durable first.
    log.flush().unwrap();
    for o in 0..end {
        let h = headers(&log.read(Offset(o), 1, Offset(end)).unwrap());
        assert!(
            h[0].base_offset <= o && o <= h[0].last_offset(),
            "offset {o}"
        );
    }
    for ts in [0, 7, 15, 29] {
        let b = log.find_batch_by_timestamp(ts).unwrap().unwrap();
        assert_eq!(BatchHeader::parse(&b).unwrap().max_timestamp, ts);
    }
}

#[test]
fn rolled_segments_keep_their_indexes_on_disk_only() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(400));
        for i in 0..30 {
            append(&log, 2, i);
        }
        let (segments, sealed, resident) = log.index_residency();
        assert!(segments > 3);
        assert_eq!((sealed, resident), (segments - 1, 0));
        assert_reads_and_lookups(&log, 60);
        log.flush().unwrap();
    }
    // Reopened after a clean stop, and after a crash (no clean marker): the older segments are
    // opened sealed without reading their indexes.
    for crash in [false, true] {
        if crash {
            let _ = fs::remove_file(dir.path().join(recovery::CLEAN_SHUTDOWN_FILE));
        }
        let log = open(dir.path(), cfg(400));
        let (segments, sealed, resident) = log.index_residency();
        assert_eq!((sealed, resident), (segments - 1, 0), "crash {crash}");
        assert_reads_and_lookups(&log, 60);
        if !crash {
            log.flush().unwrap();
        }
    }
    let log = open(dir.path(), cfg(400));
    assert_eq!(append(&log, 1, 30).0, 60);
}

#[test]
fn damaged_entries_in_a_sealed_index_are_caught_when_read_and_rebuilt_from_the_log() {
    let dir = rolled_log();
    // Same lengths, so the shape checks at start-up pass; the entries point past the segment
    // and go backwards.
    for entry in fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("index") {
            let len = fs::metadata(&p).unwrap().len() as usize;
            fs::write(&p, vec![0xEE; len]).unwrap();
        }
    }
    let log = open(dir.path(), cfg(400));
    assert_eq!(log.log_end_offset(), Offset(60));
    assert_reads_and_lookups(&log, 60);
}

#[test]
fn the_time_index_is_no_denser_than_the_offset_index() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = || LogConfig {
        index_interval_bytes: 1024,
        ..cfg(1 << 20)
    };
    let log = open(dir.path(), sparse());
    for i in 0..200 {
        append(&log, 1, 1_000 + i);
    }
    log.flush().unwrap();
    let bytes = |ext: &str| {
        fs::metadata(dir.path().join(format!("{:020}.{ext}", 0)))
            .unwrap()
            .len()
    };
    let (offsets, times) = (bytes("index") / 8, bytes("timeindex") / 12);
    assert!(offsets < 200, "sparse offset index: {offsets}");
    assert!(
        times <= offsets + 1,
        "{times} time entries for {offsets} offsets"
    );
    // Every timestamp still finds its batch, and the largest is the file's last entry.
    for ts in [1_000, 1_001, 1_077, 1_199] {
        let b = log.find_batch_by_timestamp(ts).unwrap().unwrap();
        assert_eq!(BatchHeader::parse(&b).unwrap().max_timestamp, ts);
    }
    drop(log);
    let log = open(dir.path(), sparse());
    let m = log.max_timestamp_batch().unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&m).unwrap().max_timestamp, 1_199);
    assert!(log.find_batch_by_timestamp(1_200).unwrap().is_none());
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(300));
    for i in 0..10 {
        append(&log, 1, 100 + i * 10);
    }
    log.flush().unwrap();
    let b = log.find_batch_by_timestamp(135).unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&b).unwrap().base_offset, 4);
    assert!(log.find_batch_by_timestamp(1_000).unwrap().is_none());
    let m = log.max_timestamp_batch().unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&m).unwrap().max_timestamp, 190);
}

#[test]
fn leader_epochs_end_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        log.append(&[batch_of(2, 1)], 0, None, 0).unwrap();
        log.append(&[batch_of(3, 1)], 2, None, 0).unwrap();
        assert_eq!(log.end_offset_for_epoch(0), (0, Offset(2)));
        assert_eq!(log.end_offset_for_epoch(1), (0, Offset(2)));
        assert_eq!(log.end_offset_for_epoch(2), (2, Offset(5)));
        assert_eq!(log.end_offset_for_epoch(7), (2, Offset(5)));
    }
    fs::remove_file(dir.path().join("leader-epoch-checkpoint")).unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(
        log.end_offset_for_epoch(0),
        (0, Offset(2)),
        "rebuilt from batches"
    );
    assert_eq!(log.latest_epoch(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs_and_all_become_durable() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(dir.path(), cfg(1 << 20)));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let (_, last) = append(&log, 1, t * 100 + i);
                log.wait_durable(Offset(last + 1)).await.expect("durable");
                assert!(log.high_watermark().value() > last);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(log.high_watermark(), Offset(320));
}

#[test]
fn high_watermark_waits_for_fsync_unless_interval_policy() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    append(&log, 2, 1);
    assert_eq!(log.high_watermark(), Offset(0), "not yet durable");
    log.set_config(LogConfig {
        flush: FlushPolicy::Interval {
            messages: 1_000,
            ms: 1_000,
        },
        ..cfg(1 << 20)
    });
    assert_eq!(log.high_watermark(), Offset(2));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Timestamps in any order, any index interval, tiny segments, with and without a reopen:
    /// a timestamp lookup returns the first batch whose max timestamp reaches it, as a scan of
    /// every batch would.
    #[test]
    fn timestamp_lookups_match_a_full_scan(
        timestamps in proptest::collection::vec(0i64..100, 1..60),
        index_interval in 0u32..600,
        segment_bytes in 200u64..3_000,
        reopen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let c = || LogConfig { index_interval_bytes: index_interval, ..cfg(segment_bytes) };
        let mut log = open(dir.path(), c());
        for (i, ts) in timestamps.iter().enumerate() {
            append(&log, 1 + i % 3, *ts);
        }
        log.flush().unwrap();
        if reopen {
            drop(log);
            log = open(dir.path(), c());
        }
        let mut bases = Vec::new();
        let mut next = 0;
        for i in 0..timestamps.len() {
            bases.push(next);
            next += 1 + (i % 3) as i64;
        }
        for target in 0..105 {
            let expected = timestamps.iter().position(|t| *t >= target).map(|i| bases[i]);
            let got = log
                .find_batch_by_timestamp(target)
                .unwrap()
                .map(|b| BatchHeader::parse(&b).unwrap().base_offset);
            prop_assert_eq!(got, expected, "target {}", target);
        }
        let max = *timestamps.iter().max().unwrap();
        let m = log.max_timestamp_batch().unwrap().unwrap();
        prop_assert_eq!(BatchHeader::parse(&m).unwrap().max_timestamp, max);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random appends with tiny segments, then a reopen (clean or after cutting the tail at a random
    /// point): every offset reads back the batch that holds it, and the recovered log is exactly the
    /// longest prefix of whole batches that survived.
    #[test]
    fn reopen_and_truncation_keep_exactly_the_valid_prefix(
        sizes in proptest::collection::vec(1usize..6, 1..40),
        segment_bytes in 200u64..2_000,
        clean in any::<bool>(),
        cut in any::<u16>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut ends = Vec::new();
        {
            let log = open(dir.path(), cfg(segment_bytes));
            for (i, n) in sizes.iter().enumerate() {
                let (_, last) = append(&log, *n, i as i64);
                ends.push(last + 1);
            }
            if clean {
                log.flush().unwrap();
            }
        }
        let total = *ends.last().unwrap();
        let mut expected_end = total;
        if !clean {
            // Cut the active segment somewhere inside it.
            let active = log_files(dir.path()).pop().unwrap();
            let len = fs::metadata(&active).unwrap().len();
            let keep = cut as u64 % (len + 1);
            let bytes = fs::read(&active).unwrap();
            let (batches, _) = batch::split_batches(&bytes[..keep as usize]);
            let base: i64 = active.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            expected_end = batches.last().map(|(_, h)| h.last_offset() + 1).unwrap_or(base);
            fs::OpenOptions::new().write(true).open(&active).unwrap().set_len(keep).unwrap();
        }
        let log = open(dir.path(), cfg(segment_bytes));
        prop_assert_eq!(log.log_end_offset(), Offset(expected_end));
        for o in 0..expected_end {
            let got = log.read(Offset(o), 1, Offset(expected_end)).unwrap();
            let h = headers(&got);
            prop_assert!(!h.is_empty());
            prop_assert!(h[0].base_offset <= o && o <= h[0].last_offset());
            prop_assert!(batch::validate(&got[..h[0].total_len()]).is_ok());
        }
        let (base, _) = append(&log, 1, 0);
        prop_assert_eq!(base, expected_end);
    }
}

#[test]
fn appends_after_a_flush_are_not_hidden_by_the_clean_marker() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        append(&log, 2, 1);
        log.flush().unwrap();
        append(&log, 3, 2);
    }
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(log.log_end_offset(), Offset(5));
    assert_eq!(append(&log, 1, 3), (5, 5));
}

fn producer_batch(seq: i32, n: usize) -> Bytes {
    let vals: Vec<&[u8]> = (0..n).map(|_| b"p".as_slice()).collect();
    Bytes::from(build_batch(0, 50, &vals, 42, 0, seq))
}

#[test]
fn retried_producer_batches_get_their_original_offsets_even_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    for clean in [true, false] {
        let sub = dir.path().join(if clean { "clean" } else { "crash" });
        {
            let log = open(&sub, cfg(1 << 20));
            append(&log, 2, 1);
            assert!(matches!(
                log.append(&[producer_batch(0, 3)], 0, None, 0).unwrap(),
                AppendOutcome::Appended {
                    base_offset: Offset(2),
                    ..
                }
            ));
            assert!(matches!(
                log.append(&[producer_batch(3, 1)], 0, None, 0).unwrap(),
                AppendOutcome::Appended {
                    base_offset: Offset(5),
                    ..
                }
            ));
            if clean {
                log.flush().unwrap();
            }
        }
        let log = open(&sub, cfg(1 << 20));
        match log.append(&[producer_batch(0, 3)], 0, None, 0).unwrap() {
            AppendOutcome::Duplicate {
                base_offset,
                last_offset,
                ..
            } => assert_eq!((base_offset, last_offset), (Offset(2), Offset(4))),
            other => panic!("clean={clean}: {other:?}"),
        }
        assert!(matches!(
            log.append(&[producer_batch(5, 1)], 0, None, 0),
            Err(LogError::Producer(_))
        ));
        assert_eq!(log.log_end_offset(), Offset(6));
    }
}

#[test]
fn crash_after_an_active_checkpoint_scans_only_the_tail_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        for i in 0..20 {
            append(&log, 2, 100 + i);
        }
        log.checkpoint_active_segment().unwrap();
        for i in 20..30 {
            append(&log, 2, 100 + i);
        }
        // No flush: a crash.
    }
    // Damage the tail after the checkpoint: the last batch is torn.
    let file = log_files(dir.path()).pop().unwrap();
    let len = fs::metadata(&file).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(log.log_end_offset(), Offset(58));
    for o in [0, 39, 40, 57] {
        let h = headers(&log.read(Offset(o), 1, Offset(58)).unwrap());
        assert!(
            h[0].base_offset <= o && o <= h[0].last_offset(),
            "offset {o}"
        );
    }
    let b = log.find_batch_by_timestamp(125).unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&b).unwrap().base_offset, 50);
    assert_eq!(append(&log, 1, 1), (58, 58));
}

/// A fetch read below the bound gives a file range that starts exactly where the in-memory read
/// starts and holds the same whole batches (plus at most a partial one at the end, as Kafka's
/// responses may); above the bound, or when small, it is the in-memory read itself.
#[test]
fn fetch_reads_as_file_ranges_match_reads_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(8_000));
    for i in 0..200 {
        append(&log, 1 + (i % 4) as usize, i);
    }
    let end = log.log_end_offset();
    for offset in (0..end.value()).step_by(7) {
        for max in [1usize, 100, 700, 3_000, 20_000] {
            let want = log.read(Offset(offset), max, end).unwrap();
            let got = log.read_for_fetch(Offset(offset), max, end, 0).unwrap();
            let Fetched::Slice(slice) = got else {
                panic!("offset {offset} max {max}: below the bound a range is a slice");
            };
            let bytes = slice.read().unwrap();
            assert!(
                bytes.len() >= want.len() && bytes.starts_with(&want),
                "offset {offset} max {max}"
            );
            let first = headers(&bytes)[0];
            assert!(first.base_offset <= offset && offset <= first.last_offset());
            // The limit holds, except for a first batch larger than it (KIP-74).
            assert!(bytes.len() <= max || bytes.len() == first.total_len());
        }
        // A bound inside the segment: whole batches below it, from memory.
        let bound = Offset((offset + 5).min(end.value()));
        let want = log.read(Offset(offset), 20_000, bound).unwrap();
        match log
            .read_for_fetch(Offset(offset), 20_000, bound, 0)
            .unwrap()
        {
            Fetched::Bytes(b) => assert_eq!(b, want),
            Fetched::Slice(s) => {
                // Only when the bound is at or past the end of the offset's segment.
                let bytes = s.read().unwrap();
                assert!(bytes.starts_with(&want));
                assert!(headers(&bytes)
                    .iter()
                    .all(|h| h.last_offset() < bound.value()));
            }
        }
        // Under the slice threshold: bytes.
        assert!(matches!(
            log.read_for_fetch(Offset(offset), 100, end, 1 << 20)
                .unwrap(),
            Fetched::Bytes(_)
        ));
    }
}

/// Checkpoints run beside appends that roll segments: whatever their interleaving, every sealed
/// segment keeps the complete index files a log without checkpoints writes, and no staged file
/// is left behind.
#[test]
fn checkpoints_racing_rolls_never_leave_short_or_staged_index_files() {
    let plain = tempfile::tempdir().unwrap();
    let raced = tempfile::tempdir().unwrap();
    {
        let log = open(plain.path(), cfg(2_000));
        for i in 0..400 {
            append(&log, 1 + (i % 3) as usize, i);
        }
    }
    {
        let log = Arc::new(open(raced.path(), cfg(2_000)));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpointer = {
            let (log, done) = (log.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    log.checkpoint_active_segment().unwrap();
                }
            })
        };
        for i in 0..400 {
            append(&log, 1 + (i % 3) as usize, i);
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        checkpointer.join().unwrap();
        log.checkpoint_active_segment().unwrap();
    }
    let logs = log_files(plain.path());
    assert!(logs.len() > 5, "the test needs rolls");
    for log in &logs[..logs.len() - 1] {
        for ext in ["index", "timeindex"] {
            let name = log.with_extension(ext);
            let name = name.file_name().unwrap();
            assert_eq!(
                fs::read(raced.path().join(name)).unwrap(),
                fs::read(plain.path().join(name)).unwrap(),
                "{name:?}"
            );
        }
    }
    let staged: Vec<_> = fs::read_dir(raced.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
}

#[test]
fn a_checkpoint_past_the_file_falls_back_to_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        for i in 0..10 {
            append(&log, 2, i);
        }
        log.checkpoint_active_segment().unwrap();
    }
    let file = log_files(dir.path()).pop().unwrap();
    let len = fs::metadata(&file).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert!(log.log_end_offset().value() < 20);
    let end = log.log_end_offset();
    assert_eq!(append(&log, 1, 1).0, end.value());
}

/// A new partition is created without fsyncs; its directories are synced with its first data,
/// and a new partition that loses its files in a crash before that opens as an empty log.
#[tokio::test]
async fn a_new_partition_syncs_its_directories_with_its_first_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("t-0");
    let log = open(&dir, cfg(1 << 20));
    assert!(log.dirs_unsynced());
    let (_, last) = append(&log, 3, 5);
    log.wait_durable(Offset(last + 1)).await.expect("durable");
    assert!(!log.dirs_unsynced());
    drop(log);
    // Reopening an existing directory is a recovery, not a creation.
    let again = open(&dir, cfg(1 << 20));
    assert!(!again.dirs_unsynced());
    assert_eq!(again.log_end_offset().value(), 3);
    drop(again);

    // What a power loss before the first sync can leave: the directory without its segment.
    let lost = tmp.path().join("t-1");
    drop(open(&lost, cfg(1 << 20)));
    for f in log_files(&lost) {
        fs::remove_file(f).expect("remove");
    }
    let reopened = open(&lost, cfg(1 << 20));
    assert_eq!(reopened.log_end_offset().value(), 0);
    assert_eq!(append(&reopened, 1, 5), (0, 0));
}

fn page_cache() -> FlushPolicy {
    FlushPolicy::Interval {
        messages: u64::MAX,
        ms: u64::MAX,
    }
}

#[test]
fn fsyncs_nobody_waited_for_still_make_appends_readable() {
    // An acks=0 producer waits for no fsync: the periodic checkpoint's fsync and a roll's must
    // move the high watermark over what they made durable.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    append(&log, 2, 1);
    assert_eq!(log.high_watermark(), Offset(0));
    log.checkpoint_active_segment().unwrap();
    assert_eq!(log.high_watermark(), Offset(2), "checkpoint fsync");

    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(200));
    let (_, last) = append(&log, 3, 1);
    assert_eq!(log.high_watermark(), Offset(0));
    append(&log, 3, 1); // rolls: the first segment is fsynced
    assert_eq!(log.high_watermark(), Offset(last + 1), "roll fsync");
}

#[tokio::test]
async fn high_watermark_never_goes_back_when_the_flush_policy_changes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            flush: page_cache(),
            ..cfg(1 << 20)
        },
    );
    append(&log, 10, 1);
    assert_eq!(log.high_watermark(), Offset(10));
    // Back to the fsync policy (flush.ms deleted): nothing was fsynced, yet what consumers
    // have seen stays readable.
    log.set_config(cfg(1 << 20));
    assert_eq!(log.high_watermark(), Offset(10));
    append(&log, 2, 1);
    assert_eq!(
        log.high_watermark(),
        Offset(10),
        "new data waits for its fsync"
    );
    log.wait_durable(Offset(12)).await.unwrap();
    assert_eq!(log.high_watermark(), Offset(12));
    // And to the page-cache policy again: unsynced appends become readable at once.
    append(&log, 1, 1);
    assert_eq!(log.high_watermark(), Offset(12));
    log.set_config(LogConfig {
        flush: page_cache(),
        ..cfg(1 << 20)
    });
    assert_eq!(log.high_watermark(), Offset(13));
}

#[tokio::test]
async fn timestamp_lookups_answer_nothing_at_or_past_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    append(&log, 1, 100);
    log.wait_durable(Offset(1)).await.unwrap();
    append(&log, 1, 200); // not yet durable: above the high watermark
    assert_eq!(log.high_watermark(), Offset(1));
    let base = |b: Option<Bytes>| b.map(|b| headers(&b)[0].base_offset);
    assert_eq!(base(log.find_batch_by_timestamp(50).unwrap()), Some(0));
    // The only match is unreadable: no answer, as Kafka gives, rather than the log end's batch.
    assert_eq!(base(log.find_batch_by_timestamp(150).unwrap()), None);
    assert_eq!(base(log.max_timestamp_batch().unwrap()), None);
    log.wait_durable(Offset(2)).await.unwrap();
    assert_eq!(base(log.find_batch_by_timestamp(150).unwrap()), Some(1));
    assert_eq!(base(log.max_timestamp_batch().unwrap()), Some(1));
}

#[test]
fn retention_time_deletes_a_breached_active_segment() {
    let now = 10_000_000;
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: 60_000,
            flush: page_cache(),
            ..cfg(1 << 20)
        },
    );
    for _ in 0..5 {
        append(&log, 1, now - 3_600_000);
    }
    assert_eq!(log.apply_retention(now).unwrap(), 1);
    assert_eq!(log.log_start_offset(), Offset(5));
    assert_eq!(log.log_end_offset(), Offset(5));
    assert_eq!(log_files(dir.path()).len(), 1, "one new empty segment");
    assert!(log.read(Offset(5), 1 << 20, Offset(5)).unwrap().is_empty());
    // Nothing more to delete, and appends continue at the same offsets.
    assert_eq!(log.apply_retention(now).unwrap(), 0);
    assert_eq!(append(&log, 1, now), (5, 5));
}

#[tokio::test]
async fn retention_keeps_an_active_segment_not_yet_below_the_high_watermark() {
    let now = 10_000_000;
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: 60_000,
            ..cfg(1 << 20)
        },
    );
    append(&log, 2, now - 3_600_000);
    assert_eq!(log.apply_retention(now).unwrap(), 0, "not yet durable");
    log.wait_durable(Offset(2)).await.unwrap();
    assert_eq!(log.apply_retention(now).unwrap(), 1);
    assert_eq!(log.log_start_offset(), Offset(2));
}

#[test]
fn a_jump_in_record_time_rolls_the_segment_so_retention_can_drop_the_old_records() {
    let now = 100_000_000;
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            segment_ms: 600_000,
            retention_ms: 3_600_000,
            flush: page_cache(),
            ..cfg(1 << 20)
        },
    );
    append(&log, 1, now - 7_200_000);
    // Same wall clock (1 s after opening), but the record time jumped two hours.
    append(&log, 1, now);
    assert_eq!(log_files(dir.path()).len(), 2);
    assert_eq!(log.apply_retention(now).unwrap(), 1);
    assert_eq!(log.log_start_offset(), Offset(1));
    // Records within segment.ms of the segment's first one stay together.
    append(&log, 1, now + 599_000);
    assert_eq!(log_files(dir.path()).len(), 1);
}

#[test]
fn segment_age_after_reopen_is_read_from_the_first_batch() {
    let now = 100_000_000;
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        segment_ms: 600_000,
        flush: page_cache(),
        ..cfg(1 << 20)
    };
    {
        let log = open(dir.path(), c);
        append(&log, 1, now - 7_200_000);
        log.flush().unwrap();
    }
    let log = open(dir.path(), c);
    append(&log, 1, now);
    assert_eq!(log_files(dir.path()).len(), 2);
}

/// A transactional batch of `n` records from producer `pid` at `seq`.
fn txn_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Bytes {
    let vals: Vec<Vec<u8>> = (0..n).map(|i| format!("t-{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
    let mut b = build_batch(0, 1_000, &refs, pid, epoch, seq);
    let attributes = i16::from_be_bytes([b[21], b[22]]) | 0x10;
    b[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

fn append_txn(log: &PartitionLog, pid: i64, seq: i32, n: usize) -> i64 {
    match log
        .append(&[txn_batch(pid, 0, seq, n)], 0, None, 1_000)
        .expect("append")
    {
        AppendOutcome::Appended { base_offset, .. } => base_offset.value(),
        other => panic!("unexpected {other:?}"),
    }
}

fn marker(log: &PartitionLog, pid: i64, kind: crate::record::control::ControlType) -> i64 {
    log.append_marker(pid, 0, kind, 0, 0, 1_000)
        .expect("marker")
        .value()
}

#[tokio::test]
async fn open_transactions_hold_the_last_stable_offset_until_their_marker_is_durable() {
    use crate::record::control::ControlType;
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    append(&log, 2, 1); // 0-1, plain
    assert_eq!(append_txn(&log, 7, 0, 3), 2); // 2-4, producer 7's transaction
    append(&log, 1, 1); // 5, plain, after the open transaction
    log.wait_durable(Offset(6)).await.unwrap();
    assert_eq!(log.high_watermark(), Offset(6));
    assert_eq!(log.last_stable_offset(), Offset(2));
    assert_eq!(log.ongoing_transactions(), vec![(7, 2)]);
    let at = marker(&log, 7, ControlType::Commit);
    assert_eq!(at, 6);
    // The marker is written but not yet durable: still unstable.
    assert_eq!(log.last_stable_offset(), Offset(2));
    log.wait_durable(Offset(7)).await.unwrap();
    assert_eq!(log.last_stable_offset(), Offset(7));
    assert!(log.ongoing_transactions().is_empty());
    assert!(
        log.aborted_transactions(0, 7).is_empty(),
        "a commit is not aborted"
    );
    // The marker reads back as a control batch.
    let read = headers(&log.read(Offset(6), 1 << 20, Offset(7)).unwrap());
    assert!(read[0].is_control() && read[0].is_transactional());
    assert_eq!(read[0].producer_id, 7);
}

#[tokio::test]
async fn aborted_transactions_are_indexed_and_survive_clean_and_crashed_restarts() {
    use crate::record::control::ControlType;
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), cfg(1 << 20));
        append_txn(&log, 1, 0, 2); // 0-1
        append_txn(&log, 2, 0, 2); // 2-3
        assert_eq!(marker(&log, 1, ControlType::Abort), 4);
        append_txn(&log, 1, 2, 1); // 5: producer 1's next transaction
        assert_eq!(marker(&log, 2, ControlType::Commit), 6);
        assert_eq!(marker(&log, 1, ControlType::Abort), 7);
        log.wait_durable(Offset(8)).await.unwrap();
        assert_eq!(log.last_stable_offset(), Offset(8));
        assert_eq!(log.aborted_transactions(0, 8), vec![(1, 0), (1, 5)]);
        assert_eq!(log.aborted_transactions(5, 8), vec![(1, 5)]);
        assert_eq!(log.aborted_transactions(0, 3), vec![(1, 0)]);
        log.flush().unwrap();
    }
    let txnindex = dir.path().join(format!("{:020}.txnindex", 0));
    assert_eq!(fs::metadata(&txnindex).unwrap().len(), 2 * 34);
    {
        let log = open(dir.path(), cfg(1 << 20));
        assert_eq!(log.aborted_transactions(0, 8), vec![(1, 0), (1, 5)]);
        // Another aborted transaction and an open one, then a crash (no clean stop) that loses
        // the index entry the abort appended (it was in the page cache only).
        append_txn(&log, 4, 0, 1); // 8
        assert_eq!(marker(&log, 4, ControlType::Abort), 9);
        append_txn(&log, 3, 0, 1); // 10
        log.wait_durable(Offset(11)).await.unwrap();
        assert_eq!(fs::metadata(&txnindex).unwrap().len(), 3 * 34);
    }
    let f = fs::OpenOptions::new().write(true).open(&txnindex).unwrap();
    f.set_len(2 * 34 + 5).unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    assert_eq!(
        log.aborted_transactions(0, 11),
        vec![(1, 0), (1, 5), (4, 8)]
    );
    assert_eq!(log.ongoing_transactions(), vec![(3, 10)]);
    assert_eq!(log.last_stable_offset(), Offset(10));
    assert_eq!(fs::metadata(&txnindex).unwrap().len(), 3 * 34, "rewritten");
}

#[test]
fn markers_from_an_older_producer_or_coordinator_epoch_are_fenced() {
    use crate::record::control::ControlType;
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), cfg(1 << 20));
    log.append_marker(5, 3, ControlType::Commit, 2, 0, 1_000)
        .unwrap();
    assert!(matches!(
        log.append_marker(5, 2, ControlType::Abort, 2, 0, 1_000),
        Err(LogError::Producer(
            crate::producer::ProducerStateError::InvalidProducerEpoch { .. }
        ))
    ));
    assert!(matches!(
        log.append_marker(5, 3, ControlType::Abort, 1, 0, 1_000),
        Err(LogError::Producer(
            crate::producer::ProducerStateError::CoordinatorFenced { .. }
        ))
    ));
    assert_eq!(log.log_end_offset(), Offset(1));
}

#[test]
fn aborted_transactions_follow_their_markers_across_segments() {
    use crate::record::control::ControlType;
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            flush: page_cache(),
            ..cfg(300)
        },
    );
    let mut expected = Vec::new();
    let mut seq = 0;
    for round in 0..12i64 {
        let first = append_txn(&log, 9, seq, 2);
        seq += 2;
        if round % 3 == 0 {
            marker(&log, 9, ControlType::Commit);
        } else {
            marker(&log, 9, ControlType::Abort);
            expected.push((9, first));
        }
    }
    assert!(log_files(dir.path()).len() > 2);
    let end = log.log_end_offset().value();
    assert_eq!(log.aborted_transactions(0, end), expected);
    let from = expected[4].1 + 1;
    assert_eq!(
        log.aborted_transactions(from, end),
        expected[4..].to_vec(),
        "from inside a transaction"
    );
}
