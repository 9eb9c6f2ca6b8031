//! Opening a partition directory: which segments to trust, which to scan, and rebuilding the
//! producer state and leader-epoch cache up to the recovered log end.
//!
//! After a clean shutdown every segment's indexes are loaded without reading the data. After a
//! crash, segments below the recovery point (fsynced when they were rolled) are trusted the same
//! way and only the segments from the recovery point on are scanned batch by batch: CRC, sizes and
//! consecutive offsets. The first bad or incomplete batch ends the log; everything after it,
//! including later segments, is removed.

use std::fs;
use std::path::Path;

use super::checkpoint;
use super::segment::{file_name, AbortedTxn, Segment};
use super::{LogConfig, LogError, MAX_SEGMENT_BYTES};
use crate::producer::{CompletedTxn, ProducerStateManager};
use crate::record::batch::{BatchHeader, HEADER_LEN};
use crate::record::control::{read_marker, ControlType, Marker, MARKER_READ_LEN};
use crate::types::Offset;

pub const LOG_START_FILE: &str = "log-start-offset";
pub const RECOVERY_POINT_FILE: &str = "recovery-point";
pub const EPOCHS_FILE: &str = "leader-epoch-checkpoint";
pub const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";
/// A durable prefix of the active segment: base offset, next offset and byte size, written with
/// the segment's indexes every few seconds so a crash scans only what came after it.
pub const ACTIVE_CHECKPOINT_FILE: &str = "active-segment-checkpoint";

pub fn encode_active_checkpoint(base: i64, next_offset: i64, size: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(20);
    p.extend_from_slice(&base.to_be_bytes());
    p.extend_from_slice(&next_offset.to_be_bytes());
    p.extend_from_slice(&size.to_be_bytes());
    p
}

fn read_active_checkpoint(dir: &Path) -> Option<(i64, i64, u32)> {
    let p = checkpoint::read(&dir.join(ACTIVE_CHECKPOINT_FILE))?;
    if p.len() != 20 {
        return None;
    }
    let i = |r: std::ops::Range<usize>| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&p[r]);
        i64::from_be_bytes(a)
    };
    Some((
        i(0..8),
        i(8..16),
        u32::from_be_bytes([p[16], p[17], p[18], p[19]]),
    ))
}

pub struct Recovered {
    pub segments: Vec<Segment>,
    pub log_start: i64,
    pub producers: ProducerStateManager,
    pub epochs: Vec<(i32, i64)>,
    /// Bytes removed from torn or corrupt tails.
    pub truncated_bytes: u64,
    /// The directory did not exist: it was created empty and nothing was fsynced yet.
    pub fresh: bool,
}

fn segment_bases(dir: &Path) -> std::io::Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".log") {
            if stem.len() == 20 {
                if let Ok(b) = stem.parse::<i64>() {
                    bases.push(b);
                }
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

pub fn open(dir: &Path, config: &LogConfig, now_ms: i64) -> Result<Recovered, LogError> {
    // A new partition has nothing to recover and nothing to make durable yet: creating a
    // thousand of them must not cost a thousand rounds of fsyncs. Its directories are synced
    // before its first data, and a crash before that leaves a missing or empty directory, which
    // opens as an empty log again.
    let fresh = !dir.exists();
    fs::create_dir_all(dir)?;
    if fresh {
        return Ok(Recovered {
            segments: vec![Segment::create_unsynced(dir, 0, now_ms)?],
            log_start: 0,
            producers: ProducerStateManager::new(),
            epochs: Vec::new(),
            truncated_bytes: 0,
            fresh: true,
        });
    }
    let clean_end = checkpoint::read_i64(&dir.join(CLEAN_SHUTDOWN_FILE));
    let recovery_point = checkpoint::read_i64(&dir.join(RECOVERY_POINT_FILE)).unwrap_or(0);
    let stored_start = checkpoint::read_i64(&dir.join(LOG_START_FILE));
    let bases = segment_bases(dir)?;
    let active_checkpoint = read_active_checkpoint(dir);
    let max_batch = MAX_SEGMENT_BYTES as usize;

    let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
    let mut truncated_bytes = 0u64;
    for (i, &base) in bases.iter().enumerate() {
        let expected_base = segments.last().map(|s: &Segment| s.next_offset);
        if expected_base.is_some_and(|e| e != base) {
            // A gap or overlap between segments: nothing from here on can be trusted.
            truncated_bytes += remove_segments_from(dir, &bases[i..]);
            break;
        }
        let mut seg = Segment::open(dir, base, now_ms)?;
        let next_base = bases.get(i + 1).copied();
        let trusted_end = match (clean_end, next_base) {
            (_, Some(n)) if clean_end.is_some() || base < recovery_point => Some(n),
            (Some(end), None) => Some(end),
            _ => None,
        };
        let loaded = match (trusted_end, next_base) {
            // Older segments stay on disk with their indexes; only their shapes are checked.
            (Some(end), Some(_)) => seg.open_sealed(end)?,
            (Some(end), None) => {
                let largest = (-1, -1);
                seg.load_indexes(end, largest)? && seg.size as u64 == seg.file.metadata()?.len()
            }
            _ => false,
        };
        if loaded {
            if let Some((ts, rel)) = seg.last_time_entry() {
                seg.largest_timestamp = ts;
                seg.largest_timestamp_batch = base + rel as i64;
            }
        } else {
            let resumed = match active_checkpoint {
                Some((b, next, size)) if b == base && next_base.is_none() => {
                    seg.load_indexes_up_to(next, size as u64, (-1, -1))?
                }
                _ => false,
            };
            if resumed {
                if let Some((ts, rel)) = seg.last_time_entry() {
                    seg.largest_timestamp = ts;
                    seg.largest_timestamp_batch = base + rel as i64;
                }
            }
            let cut = if resumed {
                seg.scan_tail(config.index_interval_bytes, max_batch)?
            } else {
                seg.recover(config.index_interval_bytes, max_batch)?
            };
            truncated_bytes += cut;
            if cut > 0 {
                tracing::warn!(dir = %dir.display(), segment = base, bytes = cut, "truncated a torn or corrupt log tail");
                segments.push(seg);
                truncated_bytes += remove_segments_from(dir, &bases[i + 1..]);
                break;
            }
        }
        segments.push(seg);
    }
    // Older segments that had to be scanned get their index files back and leave memory.
    let sealed_count = segments.len().saturating_sub(1);
    for seg in segments[..sealed_count].iter_mut() {
        if !seg.is_sealed() {
            seg.write_indexes()?;
            seg.seal();
        }
    }
    // An empty leading segment directly followed by nothing is fine; an empty log gets one
    // segment at its start offset.
    if segments.is_empty() {
        let start = stored_start.unwrap_or(0).max(0);
        segments.push(Segment::create(dir, start, now_ms)?);
    }
    let first_base = segments[0].base_offset;
    let log_end = segments.last().map(|s| s.next_offset).unwrap_or(first_base);
    let log_start = stored_start
        .unwrap_or(first_base)
        .clamp(first_base, log_end);

    let epochs = match checkpoint::read_epochs(&dir.join(EPOCHS_FILE)) {
        Some(mut e) if !e.is_empty() || log_end == log_start => {
            e.retain(|(_, start)| *start < log_end);
            e
        }
        _ => rebuild_epochs(&segments)?,
    };

    // Aborted-transaction indexes as their files hold them, cut to the recovered segments;
    // the replay below restores what a crash lost of the active segment's.
    let mut txn_dirty = Vec::new();
    for (i, seg) in segments.iter_mut().enumerate() {
        if seg.load_aborted()? {
            txn_dirty.push(i);
        }
    }
    let (mut producers, snapshot) = ProducerStateManager::load(dir, Offset(log_end))?;
    let replay_from = snapshot.map(|o| o.value()).unwrap_or(log_start);
    for i in replay_producers(&mut segments, replay_from, &mut producers)? {
        if !txn_dirty.contains(&i) {
            txn_dirty.push(i);
        }
    }
    for i in txn_dirty {
        segments[i].write_aborted()?;
    }

    // Whatever survived a crash in the page cache is made durable before anything is served.
    // After a clean stop it already is (the marker is written after the final fsync), and with
    // a thousand partitions these fsyncs were most of the start-up time.
    if let Some(active) = segments.last() {
        if clean_end.is_none() {
            active.file.sync_all()?;
        }
        if clean_end.is_none() || recovery_point != active.base_offset {
            checkpoint::write_i64(&dir.join(RECOVERY_POINT_FILE), active.base_offset)?;
        }
    }
    // A checkpoint that no longer describes a prefix of the active segment (after a truncation
    // below it, or a new active segment) must not be trusted by a later recovery.
    let checkpoint_still_true = match (active_checkpoint, segments.last()) {
        (Some((b, next, size)), Some(a)) => {
            b == a.base_offset && size <= a.size && next <= a.next_offset
        }
        _ => false,
    };
    if !checkpoint_still_true {
        let _ = fs::remove_file(dir.join(ACTIVE_CHECKPOINT_FILE));
    }
    let _ = fs::remove_file(dir.join(CLEAN_SHUTDOWN_FILE));
    Ok(Recovered {
        segments,
        log_start,
        producers,
        epochs,
        truncated_bytes,
        fresh: false,
    })
}

fn remove_segments_from(dir: &Path, bases: &[i64]) -> u64 {
    let mut bytes = 0;
    for b in bases {
        let path = dir.join(file_name(*b, "log"));
        bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        for ext in ["log", "index", "timeindex", "txnindex"] {
            let _ = fs::remove_file(dir.join(file_name(*b, ext)));
        }
    }
    bytes
}

/// Rebuilds (epoch, start offset) pairs from the batches' partition leader epochs.
fn rebuild_epochs(segments: &[Segment]) -> Result<Vec<(i32, i64)>, LogError> {
    let mut epochs: Vec<(i32, i64)> = Vec::new();
    let from = segments.first().map(|s| s.base_offset).unwrap_or(0);
    for_each_header(segments, from, |h| {
        if epochs.last().map(|e| e.0) != Some(h.partition_leader_epoch)
            && h.partition_leader_epoch >= 0
        {
            epochs.push((h.partition_leader_epoch, h.base_offset));
        }
    })?;
    Ok(epochs)
}

/// Calls `f` with the header of every batch whose last offset is >= `from`, in order.
pub fn for_each_header(
    segments: &[Segment],
    from: i64,
    mut f: impl FnMut(BatchHeader),
) -> Result<(), LogError> {
    for_each_batch(segments, from, |_, _, h| {
        f(h);
        Ok(())
    })
}

/// Like [`for_each_header`], with the index of the segment holding each batch and the batch's
/// position in its file.
pub fn for_each_batch(
    segments: &[Segment],
    from: i64,
    mut f: impl FnMut(usize, u32, BatchHeader) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let mut header = [0u8; HEADER_LEN];
    for (i, seg) in segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.next_offset > from)
    {
        let relative = (from - seg.base_offset).clamp(0, u32::MAX as i64) as u32;
        let mut pos = seg.position_for(relative)?;
        while seg.size.saturating_sub(pos) >= HEADER_LEN as u32 {
            use std::os::unix::fs::FileExt;
            seg.file.read_exact_at(&mut header, pos as u64)?;
            let h = BatchHeader::parse(&header).map_err(|e| LogError::Corrupt(e.to_string()))?;
            let len = h.total_len() as u32;
            if len < HEADER_LEN as u32 || len > seg.size - pos {
                return Err(LogError::Corrupt(format!(
                    "batch at position {pos} overruns its segment"
                )));
            }
            if h.last_offset() >= from {
                f(i, pos, h)?;
            }
            pos += len;
        }
    }
    Ok(())
}

/// The marker of a control batch at `pos` in `seg`.
pub fn read_marker_at(
    seg: &Segment,
    pos: u32,
    h: &BatchHeader,
) -> Result<Option<Marker>, LogError> {
    use std::os::unix::fs::FileExt;
    let len = h.total_len().min(MARKER_READ_LEN);
    let mut bytes = vec![0u8; len];
    seg.file.read_exact_at(&mut bytes, pos as u64)?;
    Ok(read_marker(&bytes))
}

/// Replays producer state from `from` (the snapshot's offset) to the log end: sequences and
/// epochs, open transactions, and the aborted transactions whose markers lie there, which are
/// added to their segments' indexes where a crash lost them.
fn replay_producers(
    segments: &mut [Segment],
    from: i64,
    producers: &mut ProducerStateManager,
) -> Result<Vec<usize>, LogError> {
    let mut found: Vec<(usize, AbortedTxn)> = Vec::new();
    for_each_batch(segments, from, |i, pos, h| {
        if h.is_control() {
            if let Some(m) = read_marker_at(&segments[i], pos, &h)? {
                let aborted = m.kind == ControlType::Abort;
                let done = producers.apply_marker(&h, aborted, m.coordinator_epoch);
                if aborted {
                    let lso = producers
                        .first_unstable_offset()
                        .unwrap_or(done.last_offset + 1);
                    found.push((i, aborted_entry(&done, lso)));
                }
            }
            return Ok(());
        }
        let append_time = match h.timestamp_type() {
            crate::record::TimestampType::LogAppendTime => h.max_timestamp,
            crate::record::TimestampType::CreateTime => -1,
        };
        producers.apply(&h, append_time);
        Ok(())
    })?;
    let mut dirty = Vec::new();
    for (i, entry) in found {
        if segments[i].restore_aborted(entry) && !dirty.contains(&i) {
            dirty.push(i);
        }
    }
    Ok(dirty)
}

pub fn aborted_entry(done: &CompletedTxn, last_stable_offset: i64) -> AbortedTxn {
    AbortedTxn {
        producer_id: done.producer_id,
        first_offset: done.first_offset,
        last_offset: done.last_offset,
        last_stable_offset,
    }
}
