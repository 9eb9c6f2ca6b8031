//! [`PartitionLog`]: appends, reads, durability and housekeeping for one partition.
//!
//! One mutex guards the segment list and producer state; appends hold it while they check
//! idempotence, assign offsets and write, so a retried batch can never be written twice. Reads
//! take it only to find a file and a size, and read outside it. fsyncs run outside it too, one at
//! a time per log (group commit): appends that arrive while an fsync runs are covered by the next.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use super::checkpoint;
use super::read_waiters::ReadWaiters;
use super::recovery::{
    self, CLEAN_SHUTDOWN_FILE, EPOCHS_FILE, LOG_START_FILE, RECOVERY_POINT_FILE,
};
use super::segment::{self, BatchInfo, Locate, Segment};
use super::{AppendOutcome, Fetched, FlushPolicy, LogConfig, LogError, MAX_SEGMENT_BYTES};
use crate::producer::{CompletedTxn, ProducerStateManager, SequenceCheck};
use crate::record::batch::{self, BatchHeader, HEADER_LEN};
use crate::record::control::{self, ControlType};
use crate::types::{FileSlice, Offset};

/// Kafka's producer.id.expiration.ms default: idempotence state of a producer silent this long
/// is dropped.
const PRODUCER_ID_EXPIRATION_MS: i64 = 86_400_000;

struct State {
    config: LogConfig,
    /// Sorted by base offset, contiguous; the last one is active. Never empty.
    segments: Vec<Segment>,
    log_start: i64,
    log_end: i64,
    producers: ProducerStateManager,
    epochs: Vec<(i32, i64)>,
    unflushed_messages: u64,
    last_flush_ms: i64,
    offline: bool,
    /// A clean-shutdown marker is on disk; it must go before the log changes again, or a later
    /// start would trust an end offset that is no longer true.
    clean_marker: bool,
    /// (base offset, size) of the active segment at the last active-segment checkpoint.
    checkpointed: (i64, u32),
    /// Bumped whenever index files are written under the lock (roll, clean stop), so a
    /// checkpoint whose index snapshot is older does not replace them.
    index_writes: u64,
    /// Transactions whose marker is not yet below the high watermark: they still hold the last
    /// stable offset back (Kafka's "unreplicated" transactions).
    unreplicated: VecDeque<CompletedTxn>,
}

impl State {
    fn active(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn segment_for(&self, offset: i64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.base_offset <= offset);
        i.checked_sub(1).map(|i| &self.segments[i])
    }
}

pub struct PartitionLog {
    dir: PathBuf,
    state: Mutex<State>,
    /// Offsets below this are on disk.
    durable_end: AtomicI64,
    /// What consumers may read. Moves only forward while the broker runs, whatever the flush
    /// policy does: over durable data with the fsync policy, over every append with Kafka's
    /// page-cache policy (and over the whole log when a partition switches to it).
    high_watermark: AtomicI64,
    log_end: AtomicI64,
    /// Held by the one task running an fsync for this log.
    sync_lock: tokio::sync::Mutex<()>,
    /// Fetches to wake when the readable end moves.
    readers: ReadWaiters,
    /// Set for a partition created without fsyncs: its directory entries are made durable
    /// before anything else is (`sync_new_dirs`).
    dirs_unsynced: AtomicBool,
}

impl PartitionLog {
    pub fn open(dir: PathBuf, config: LogConfig, now_ms: i64) -> Result<PartitionLog, LogError> {
        let r = recovery::open(&dir, &config, now_ms)?;
        let fresh = r.fresh;
        let log_end = r.segments.last().map(|s| s.next_offset).unwrap_or(0);
        if r.truncated_bytes > 0 {
            tracing::warn!(dir = %dir.display(), bytes = r.truncated_bytes, log_end, "recovered log after truncating its tail");
        }
        let state = State {
            config,
            segments: r.segments,
            log_start: r.log_start,
            log_end,
            producers: r.producers,
            epochs: r.epochs,
            unflushed_messages: 0,
            last_flush_ms: now_ms,
            offline: false,
            clean_marker: false,
            checkpointed: (-1, 0),
            index_writes: 0,
            unreplicated: VecDeque::new(),
        };
        Ok(PartitionLog {
            dir,
            state: Mutex::new(state),
            durable_end: AtomicI64::new(log_end),
            high_watermark: AtomicI64::new(log_end),
            log_end: AtomicI64::new(log_end),
            sync_lock: tokio::sync::Mutex::new(()),
            readers: ReadWaiters::default(),
            dirs_unsynced: AtomicBool::new(fresh),
        })
    }

    /// (segments, sealed segments, bytes of index held in memory by sealed segments).
    #[cfg(test)]
    pub fn index_residency(&self) -> (usize, usize, usize) {
        let st = self.lock();
        let sealed: Vec<_> = st.segments.iter().filter(|s| s.is_sealed()).collect();
        let bytes = sealed.iter().map(|s| s.index_bytes()).sum();
        (st.segments.len(), sealed.len(), bytes)
    }

    /// Registers a waiting fetch to be woken when this log's readable end moves.
    pub fn register_reader(&self, waiter: &Arc<Notify>) {
        self.readers.register(waiter);
    }

    /// Whether this new partition's directories still await their first sync.
    pub fn dirs_unsynced(&self) -> bool {
        self.dirs_unsynced.load(Ordering::Acquire)
    }

    /// A new partition's segment name lives in its directory, and its directory's name in the
    /// data directory: both are synced once, before the first fsync of data counts as durable.
    fn sync_new_dirs(&self) -> std::io::Result<()> {
        sync_new_dirs(&self.dir, &self.dirs_unsynced)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_config(&self, config: LogConfig) {
        let mut st = self.lock();
        st.config = config;
        let page_cache = matches!(config.flush, FlushPolicy::Interval { .. });
        let log_end = st.log_end;
        drop(st);
        // A switch to the page-cache policy makes everything appended readable at once; a switch
        // away keeps the high watermark where it is (it never goes back) and later fsyncs move it.
        if page_cache {
            self.advance_high_watermark(log_end);
        }
    }

    pub fn append(
        &self,
        batches: &[Bytes],
        leader_epoch: i32,
        log_append_time_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<AppendOutcome, LogError> {
        let mut st = self.lock();
        if st.offline {
            return Err(LogError::Offline);
        }
        self.invalidate_clean_marker(&mut st)?;
        let mut first_base = None;
        let mut last = st.log_end - 1;
        for bytes in batches {
            let h = BatchHeader::parse(bytes).map_err(|e| LogError::Corrupt(e.to_string()))?;
            if let SequenceCheck::Duplicate {
                base_offset,
                last_offset,
                append_time_ms,
            } = st.producers.check(&h)?
            {
                if batches.len() == 1 {
                    return Ok(AppendOutcome::Duplicate {
                        base_offset,
                        last_offset,
                        log_append_time_ms: append_time_ms,
                        log_start_offset: Offset(st.log_start),
                    });
                }
                continue;
            }
            if bytes.len() as u64 > MAX_SEGMENT_BYTES || bytes.len() < HEADER_LEN {
                return Err(LogError::BatchTooLarge(bytes.len()));
            }
            let incoming_timestamp = log_append_time_ms.unwrap_or(h.max_timestamp);
            self.maybe_roll(&mut st, bytes.len() as u64, incoming_timestamp, now_ms)?;
            let base = st.log_end;
            let written = self.write_batch(&mut st, bytes, leader_epoch, log_append_time_ms)?;
            st.producers
                .apply(&written, log_append_time_ms.unwrap_or(-1));
            st.log_end = written.last_offset() + 1;
            st.unflushed_messages += written.record_count.max(0) as u64;
            first_base.get_or_insert(base);
            last = written.last_offset();
        }
        let log_end = st.log_end;
        let policy = st.config.flush;
        let log_start = st.log_start;
        drop(st);
        self.log_end.fetch_max(log_end, Ordering::AcqRel);
        if matches!(policy, FlushPolicy::Interval { .. }) {
            self.advance_high_watermark(log_end);
        }
        Ok(AppendOutcome::Appended {
            base_offset: Offset(first_base.unwrap_or(log_end)),
            last_offset: Offset(last),
            log_append_time_ms: log_append_time_ms.unwrap_or(-1),
            log_start_offset: Offset(log_start),
        })
    }

    /// Writes one batch at the log end into the active segment: the header rewritten with its
    /// offset and leader epoch (and LogAppendTime), the rest as it came; records a new leader
    /// epoch. A failed write may leave a partial batch on disk, which recovery cuts: the log
    /// refuses further appends.
    fn write_batch(
        &self,
        st: &mut State,
        bytes: &[u8],
        leader_epoch: i32,
        log_append_time_ms: Option<i64>,
    ) -> Result<BatchHeader, LogError> {
        let base = st.log_end;
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&bytes[..HEADER_LEN]);
        batch::set_base_offset(&mut header, base);
        batch::set_partition_leader_epoch(&mut header, leader_epoch);
        if let Some(t) = log_append_time_ms {
            set_log_append_time(&mut header, &bytes[HEADER_LEN..], t);
        }
        let written = BatchHeader::parse(&header).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let interval = st.config.index_interval_bytes;
        if let Err(e) = st.active().append(
            &header,
            &bytes[HEADER_LEN..],
            BatchInfo::of(&written),
            interval,
        ) {
            st.offline = true;
            return Err(e.into());
        }
        if st.epochs.last().map(|e| e.0) != Some(leader_epoch) {
            st.epochs.push((leader_epoch, base));
            let epochs = st.epochs.clone();
            checkpoint::write_epochs(&self.dir.join(EPOCHS_FILE), &epochs)?;
        }
        Ok(written)
    }

    /// Rolls to a new segment when the active one is full or old enough. Age follows Kafka's
    /// segment.ms rule: the incoming batch's max timestamp against the segment's first batch's
    /// (so a jump in record time rolls, and retention can then drop the older records). The
    /// rolled segment is fsynced and its indexes written first, so everything below the new
    /// recovery point is trusted after a crash.
    fn maybe_roll(
        &self,
        st: &mut State,
        incoming: u64,
        incoming_timestamp: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let cfg = st.config;
        let active = st.active();
        if active.is_empty() {
            return Ok(());
        }
        let full = active.size as u64 + incoming > cfg.segment_bytes.min(MAX_SEGMENT_BYTES);
        let index_full = active.index_bytes() + 12 > cfg.max_index_bytes as usize;
        let old = cfg.segment_ms >= 0
            && active.time_waited_for_roll(now_ms, incoming_timestamp)? > cfg.segment_ms;
        if full || index_full || old {
            self.roll(st, now_ms)?;
        }
        Ok(())
    }

    fn invalidate_clean_marker(&self, st: &mut State) -> Result<(), LogError> {
        if st.clean_marker {
            match fs::remove_file(self.dir.join(CLEAN_SHUTDOWN_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            File::open(&self.dir)?.sync_all()?;
            st.clean_marker = false;
        }
        Ok(())
    }

    fn roll(&self, st: &mut State, now_ms: i64) -> Result<(), LogError> {
        self.sync_new_dirs()?;
        self.invalidate_clean_marker(st)?;
        let active = st.active();
        active.file.sync_data()?;
        active.write_indexes()?;
        active.seal();
        st.index_writes += 1;
        let base = st.log_end;
        self.advance_durable(base);
        let seg = Segment::create(&self.dir, base, now_ms)?;
        st.segments.push(seg);
        st.producers.write_snapshot(&self.dir, Offset(base))?;
        checkpoint::write_i64(&self.dir.join(RECOVERY_POINT_FILE), base)?;
        Ok(())
    }

    /// Whether an acknowledgement up to `end_offset` can be sent without waiting: the data is
    /// already fsynced, or the partition acknowledges from the page cache.
    pub fn acknowledgeable(&self, end_offset: Offset) -> bool {
        self.durable_end.load(Ordering::Acquire) >= end_offset.value()
            || matches!(self.lock().config.flush, FlushPolicy::Interval { .. })
    }

    pub async fn wait_durable(&self, end_offset: Offset) -> Result<(), LogError> {
        loop {
            if self.durable_end.load(Ordering::Acquire) >= end_offset.value() {
                return Ok(());
            }
            let _one_syncer = self.sync_lock.lock().await;
            if self.durable_end.load(Ordering::Acquire) >= end_offset.value() {
                return Ok(());
            }
            let (file, target) = {
                let mut st = self.lock();
                if st.offline {
                    return Err(LogError::Offline);
                }
                if matches!(st.config.flush, FlushPolicy::Interval { .. }) {
                    return Ok(());
                }
                (st.active().file.clone(), st.log_end)
            };
            let dirs = self
                .dirs_unsynced
                .load(Ordering::Acquire)
                .then(|| self.dir.clone());
            let flag = dirs.is_some();
            let synced = tokio::task::spawn_blocking(move || {
                if let Some(dir) = dirs {
                    sync_new_dirs(&dir, &AtomicBool::new(true))?;
                }
                file.sync_data()
            })
            .await;
            if flag && matches!(synced, Ok(Ok(()))) {
                self.dirs_unsynced.store(false, Ordering::Release);
            }
            match synced {
                Ok(Ok(())) => self.advance_durable(target),
                Ok(Err(e)) => {
                    self.lock().offline = true;
                    return Err(e.into());
                }
                Err(e) => {
                    self.lock().offline = true;
                    return Err(LogError::Io(std::io::Error::other(e)));
                }
            }
        }
    }

    /// Records that offsets below `target` are on disk: with either policy they are then
    /// readable.
    fn advance_durable(&self, target: i64) {
        self.durable_end.fetch_max(target, Ordering::AcqRel);
        self.advance_high_watermark(target);
    }

    fn advance_high_watermark(&self, target: i64) {
        let before = self.high_watermark.fetch_max(target, Ordering::AcqRel);
        if target > before {
            self.readers.wake();
        }
    }

    pub fn flush_if_due(&self, now_ms: i64) -> Result<(), LogError> {
        let (file, target) = {
            let mut st = self.lock();
            let FlushPolicy::Interval { messages, ms } = st.config.flush else {
                return Ok(());
            };
            if st.offline || st.unflushed_messages == 0 {
                return Ok(());
            }
            if st.unflushed_messages < messages && now_ms - st.last_flush_ms < ms as i64 {
                return Ok(());
            }
            st.unflushed_messages = 0;
            st.last_flush_ms = now_ms;
            (st.active().file.clone(), st.log_end)
        };
        if let Err(e) = self.sync_new_dirs().and_then(|()| file.sync_data()) {
            self.lock().offline = true;
            return Err(e.into());
        }
        self.advance_durable(target);
        Ok(())
    }

    /// Clean shutdown: data, indexes, producer snapshot and the marker that lets the next start
    /// skip the scan.
    pub fn flush(&self) -> Result<(), LogError> {
        let mut st = self.lock();
        if st.offline {
            return Err(LogError::Offline);
        }
        let end = st.log_end;
        self.sync_new_dirs()?;
        let active = st.active();
        active.file.sync_data()?;
        active.write_indexes()?;
        st.index_writes += 1;
        st.producers.write_snapshot(&self.dir, Offset(end))?;
        checkpoint::write_i64(&self.dir.join(CLEAN_SHUTDOWN_FILE), end)?;
        st.clean_marker = true;
        drop(st);
        self.advance_durable(end);
        Ok(())
    }

    /// Records a durable prefix of the active segment (its indexes and where it ends) so that
    /// recovery after a crash scans only the data written since. Cheap when nothing changed.
    pub fn checkpoint_active_segment(&self) -> Result<(), LogError> {
        // Only the snapshot is taken under the lock. The fsync (of up to seconds of page-cache
        // data) and the index files are written outside it: holding the lock through them
        // stalled every append and fetch of the partition, and the runtime thread with them.
        let (file, mark, next_offset, indexes, index_writes) = {
            let mut st = self.lock();
            if st.offline {
                return Ok(());
            }
            let checkpointed = st.checkpointed;
            let index_writes = st.index_writes;
            let active = st.active();
            let mark = (active.base_offset, active.size);
            if mark == checkpointed || active.is_empty() {
                return Ok(());
            }
            let indexes = active.encode_indexes();
            (
                active.file.clone(),
                mark,
                active.next_offset,
                indexes,
                index_writes,
            )
        };
        let (base, size) = mark;
        self.sync_new_dirs()?;
        file.sync_data()?;
        // Everything below the snapshot's end is on disk now: readable, whoever appended it
        // (an acks=0 producer waits for no fsync of its own).
        self.advance_durable(next_offset);
        segment::stage_indexes(&self.dir, base, &indexes)?;
        {
            let mut st = self.lock();
            // A roll or a clean stop since the snapshot wrote fuller index files; a roll also
            // made this segment sealed, and its files must stay complete.
            if st.index_writes != index_writes || st.active().base_offset != base {
                segment::discard_staged_indexes(&self.dir, base);
                return Ok(());
            }
            segment::install_staged_indexes(&self.dir, base)?;
        }
        // The checkpoint file is written (and its directory synced, which makes the renames
        // durable) only after the data and indexes it describes are.
        let payload = recovery::encode_active_checkpoint(base, next_offset, size);
        checkpoint::write(&self.dir.join(recovery::ACTIVE_CHECKPOINT_FILE), &payload)?;
        self.lock().checkpointed = mark;
        Ok(())
    }

    /// Appends a COMMIT or ABORT marker for a producer's transaction (the coordinator's
    /// WriteTxnMarkers); returns the marker's offset. The caller waits for it to be durable
    /// before reporting the marker written. An ABORT adds an aborted-transaction index entry.
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        kind: ControlType,
        coordinator_epoch: i32,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<Offset, LogError> {
        let mut st = self.lock();
        if st.offline {
            return Err(LogError::Offline);
        }
        st.producers
            .check_marker(producer_id, producer_epoch, coordinator_epoch)?;
        self.invalidate_clean_marker(&mut st)?;
        let bytes =
            control::build_marker(producer_id, producer_epoch, kind, coordinator_epoch, now_ms);
        self.maybe_roll(&mut st, bytes.len() as u64, now_ms, now_ms)?;
        let base = st.log_end;
        let written = self.write_batch(&mut st, &bytes, leader_epoch, None)?;
        let aborted = kind == ControlType::Abort;
        let done = st
            .producers
            .apply_marker(&written, aborted, coordinator_epoch);
        st.log_end = base + 1;
        st.unflushed_messages += 1;
        if aborted {
            let lso = st
                .producers
                .first_unstable_offset()
                .unwrap_or(done.last_offset + 1);
            if let Err(e) = st.active().add_aborted(recovery::aborted_entry(&done, lso)) {
                st.offline = true;
                return Err(e.into());
            }
        }
        st.unreplicated.push_back(done);
        let policy = st.config.flush;
        drop(st);
        self.log_end.fetch_max(base + 1, Ordering::AcqRel);
        if matches!(policy, FlushPolicy::Interval { .. }) {
            self.advance_high_watermark(base + 1);
        }
        Ok(Offset(base))
    }

    /// Like [`PartitionLog::append_marker`], but only while the producer has a transaction open
    /// here at an epoch no newer than `producer_epoch`: a marker delivered again (after a
    /// coordinator restart or a retry) is not written twice. `None` when nothing was written.
    pub fn append_marker_if_open(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        kind: ControlType,
        coordinator_epoch: i32,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<Option<Offset>, LogError> {
        {
            let st = self.lock();
            let open = st.producers.ongoing().any(|(pid, _)| pid == producer_id);
            let newer = st
                .producers
                .describe()
                .iter()
                .any(|p| p.producer_id == producer_id && p.epoch > producer_epoch);
            if !open || newer {
                return Ok(None);
            }
        }
        // Appends of this producer's partitions are serialised by the coordinator (no new
        // transaction starts here before this one's markers are written), so the check above
        // still holds.
        self.append_marker(
            producer_id,
            producer_epoch,
            kind,
            coordinator_epoch,
            leader_epoch,
            now_ms,
        )
        .map(Some)
    }

    /// What read_committed consumers may read up to: the high watermark, held back by the
    /// first offset of the oldest transaction still open or whose marker is not yet below it.
    pub fn last_stable_offset(&self) -> Offset {
        let hw = self.high_watermark().value();
        let mut st = self.lock();
        while st.unreplicated.front().is_some_and(|t| t.last_offset < hw) {
            st.unreplicated.pop_front();
        }
        let pending = st.unreplicated.iter().map(|t| t.first_offset).min();
        let open = st.producers.first_unstable_offset();
        Offset(
            [Some(hw), pending, open]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(hw),
        )
    }

    /// Aborted transactions a read_committed fetch from `from` up to `upper` must be told of,
    /// as (producer id, first offset): those whose range reaches `from` and starts below
    /// `upper`. Searches the segments from the one holding `from` until an entry shows that
    /// every later one starts at or past `upper`, as Kafka does.
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<(i64, i64)> {
        let st = self.lock();
        let first = st
            .segments
            .partition_point(|s| s.base_offset <= from)
            .saturating_sub(1);
        let mut out = Vec::new();
        for seg in &st.segments[first..] {
            for e in seg.aborted() {
                if e.last_offset >= from && e.first_offset < upper {
                    out.push((e.producer_id, e.first_offset));
                }
                if e.last_stable_offset >= upper {
                    return out;
                }
            }
        }
        out
    }

    /// The producers with state in this partition (DescribeProducers).
    pub fn producers(&self) -> Vec<crate::producer::ProducerView> {
        self.lock().producers.describe()
    }

    /// Where a read starting at `offset` can end at most: the next segment's base offset, or
    /// the log end (a fetch reads from one segment). Bounds the aborted transactions a
    /// read_committed fetch lists, as Kafka bounds them.
    pub fn read_upper_bound(&self, offset: Offset) -> Offset {
        let st = self.lock();
        let i = st
            .segments
            .partition_point(|s| s.base_offset <= offset.value());
        Offset(
            st.segments
                .get(i)
                .map(|s| s.base_offset)
                .unwrap_or(st.log_end),
        )
    }

    /// Open transactions as (producer id, first offset), oldest first.
    pub fn ongoing_transactions(&self) -> Vec<(i64, i64)> {
        self.lock().producers.ongoing().collect()
    }

    pub fn log_start_offset(&self) -> Offset {
        Offset(self.lock().log_start)
    }

    pub fn log_end_offset(&self) -> Offset {
        Offset(self.log_end.load(Ordering::Acquire))
    }

    pub fn high_watermark(&self) -> Offset {
        Offset(self.high_watermark.load(Ordering::Acquire))
    }

    pub fn read(
        &self,
        offset: Offset,
        max_bytes: usize,
        upper_bound: Offset,
    ) -> Result<Bytes, LogError> {
        // A threshold no range reaches: always whole batches in memory.
        match self.read_for_fetch(offset, max_bytes, upper_bound, usize::MAX)? {
            Fetched::Bytes(b) => Ok(b),
            Fetched::Slice(s) => Ok(s.read()?),
        }
    }

    /// A fetch's read: like [`PartitionLog::read`], but a range of at least `min_slice` bytes
    /// that lies wholly below `upper_bound` comes back as a file slice to be sent without a copy.
    /// Such a slice may end inside a batch, as Kafka's fetch responses do; clients drop the
    /// partial batch and fetch it again from its start.
    pub fn read_for_fetch(
        &self,
        offset: Offset,
        max_bytes: usize,
        upper_bound: Offset,
        min_slice: usize,
    ) -> Result<Fetched, LogError> {
        let offset = offset.value();
        let (file, position, size, segment_end, bound) = {
            let st = self.lock();
            if offset < st.log_start || offset > st.log_end {
                return Err(LogError::OffsetOutOfRange {
                    offset,
                    log_start: st.log_start,
                    log_end: st.log_end,
                });
            }
            if offset == st.log_end {
                return Ok(Fetched::Bytes(Bytes::new()));
            }
            let Some(seg) = st.segment_for(offset) else {
                return Ok(Fetched::Bytes(Bytes::new()));
            };
            let relative = (offset - seg.base_offset).clamp(0, u32::MAX as i64) as u32;
            (
                seg.file.clone(),
                seg.locate(relative),
                seg.size,
                // The segment's end offset matching `size`, both read under the lock.
                seg.next_offset,
                upper_bound.value().min(st.log_end),
            )
        };
        let position = position.resolve()?;
        let Some(found) = Segment::locate_batches(&file, position, size, offset, max_bytes)? else {
            return Ok(Fetched::Bytes(Bytes::new()));
        };
        if found.first_last_offset >= bound {
            return Ok(Fetched::Bytes(Bytes::new()));
        }
        if segment_end <= bound && found.len >= min_slice {
            return Ok(Fetched::Slice(FileSlice {
                file,
                position: found.position as u64,
                len: found.len,
            }));
        }
        Ok(Fetched::Bytes(Bytes::from(Segment::read_located(
            &file, found, bound,
        )?)))
    }

    /// The first batch holding a record stamped `ts` or later. As in Kafka, a match at or past
    /// the high watermark is no answer (not a search for an earlier one): consumers cannot read
    /// it yet.
    pub fn find_batch_by_timestamp(&self, ts: i64) -> Result<Option<Bytes>, LogError> {
        let fetchable = self.high_watermark().value();
        let (candidates, log_start): (Vec<(Locate, u32, Arc<std::fs::File>)>, i64) = {
            let st = self.lock();
            let candidates = st
                .segments
                .iter()
                .filter(|s| s.largest_timestamp >= ts && s.next_offset > st.log_start)
                .map(|s| (s.locate_time(ts), s.size, s.file.clone()))
                .collect();
            (candidates, st.log_start)
        };
        for (position, size, file) in candidates {
            let position = position.resolve()?;
            if let Some((base, b)) = scan_for(&file, position, size, |h| {
                h.max_timestamp >= ts && h.last_offset() >= log_start
            })? {
                return Ok((base < fetchable).then_some(b));
            }
        }
        Ok(None)
    }

    /// The batch holding the largest timestamp of the log's segments (the earliest such batch
    /// on a tie), if it lies below the high watermark. As in Kafka, every segment still on disk
    /// counts, even where DeleteRecords has moved the log start past the batch: the answer
    /// follows the segments, which go by retention or once the log start passes them whole.
    pub fn max_timestamp_batch(&self) -> Result<Option<Bytes>, LogError> {
        let fetchable = self.high_watermark().value();
        let target = {
            let st = self.lock();
            st.segments
                .iter()
                .filter(|s| s.largest_timestamp_batch >= 0)
                .fold(None, |best: Option<(i64, &Segment)>, s| match best {
                    Some((ts, _)) if ts >= s.largest_timestamp => best,
                    _ => Some((s.largest_timestamp, s)),
                })
                .map(|(_, s)| {
                    let offset = s.largest_timestamp_batch;
                    let relative = (offset - s.base_offset).clamp(0, u32::MAX as i64) as u32;
                    (offset, s.locate(relative), s.size, s.file.clone())
                })
        };
        let Some((offset, position, size, file)) = target else {
            return Ok(None);
        };
        if offset >= fetchable {
            return Ok(None);
        }
        let found = scan_for(&file, position.resolve()?, size, |h| {
            h.base_offset >= offset
        })?;
        Ok(found.and_then(|(base, b)| (base == offset).then_some(b)))
    }

    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, Offset) {
        let st = self.lock();
        let i = st.epochs.partition_point(|(e, _)| *e <= epoch);
        if i == 0 {
            return (-1, Offset(-1));
        }
        let found = st.epochs[i - 1].0;
        let end = st
            .epochs
            .get(i)
            .map(|(_, start)| *start)
            .unwrap_or(st.log_end);
        (found, Offset(end))
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock().epochs.last().map(|e| e.0)
    }

    pub fn delete_records_before(&self, offset: Offset) -> Result<Offset, LogError> {
        let offset = offset.value();
        let hw = self.high_watermark().value();
        let mut st = self.lock();
        if offset < 0 || offset > hw {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start: st.log_start,
                log_end: hw,
            });
        }
        if offset <= st.log_start {
            return Ok(Offset(st.log_start));
        }
        st.log_start = offset;
        checkpoint::write_i64(&self.dir.join(LOG_START_FILE), offset)?;
        // Segments wholly below the new start go; the active segment stays even when nothing
        // in it is readable any more (as in Kafka: retention or a roll removes it later).
        delete_segments_below_start(&mut st);
        Ok(Offset(st.log_start))
    }

    /// Deletes the segments that retention.ms or retention.bytes has breached, as Kafka does:
    /// oldest first, only below the high watermark, the active segment included. When every
    /// segment goes, a new empty one is rolled first so the log start moves to the log end.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, LogError> {
        let hw = self.high_watermark().value();
        let mut st = self.lock();
        if st.offline {
            return Ok(0);
        }
        st.producers.expire(now_ms, PRODUCER_ID_EXPIRATION_MS);
        let cfg = st.config;
        let mut deletable = 0;
        if cfg.retention_ms >= 0 {
            deletable = count_deletable(&st, hw, |seg| {
                now_ms - seg.retention_timestamp() > cfg.retention_ms
            });
        }
        let total: u64 = st.segments.iter().map(|s| s.size as u64).sum();
        if cfg.retention_bytes >= 0 && total >= cfg.retention_bytes as u64 {
            let mut excess = total - cfg.retention_bytes as u64;
            let by_size = count_deletable(&st, hw, |seg| {
                let fits = excess >= seg.size as u64;
                if fits {
                    excess -= seg.size as u64;
                }
                fits
            });
            deletable = deletable.max(by_size);
        }
        if deletable == 0 {
            return Ok(0);
        }
        self.invalidate_clean_marker(&mut st)?;
        if deletable == st.segments.len() {
            self.roll(&mut st, now_ms)?;
        }
        for seg in st.segments.drain(..deletable) {
            seg.delete_files();
        }
        let first = st.segments[0].base_offset;
        if first > st.log_start {
            st.log_start = first;
            checkpoint::write_i64(&self.dir.join(LOG_START_FILE), first)?;
        }
        let start = st.log_start;
        ProducerStateManager::clean_snapshots(&self.dir, Offset(start))?;
        Ok(deletable)
    }

    pub fn size_bytes(&self) -> u64 {
        self.lock().segments.iter().map(|s| s.size as u64).sum()
    }

    pub fn delete(self) -> Result<(), LogError> {
        drop(self.state);
        fs::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

/// How many segments from the oldest on satisfy `breached`, stopping at the first that does
/// not, at one not wholly below the high watermark, or at an empty active segment.
fn count_deletable(
    st: &State,
    high_watermark: i64,
    mut breached: impl FnMut(&Segment) -> bool,
) -> usize {
    let mut n = 0;
    for (i, seg) in st.segments.iter().enumerate() {
        let upper = st
            .segments
            .get(i + 1)
            .map(|next| next.base_offset)
            .unwrap_or(st.log_end);
        let last_and_empty = i + 1 == st.segments.len() && seg.is_empty();
        if high_watermark < upper || last_and_empty || !breached(seg) {
            break;
        }
        n += 1;
    }
    n
}

fn delete_segments_below_start(st: &mut State) {
    while st.segments.len() > 1 && st.segments[1].base_offset <= st.log_start {
        let seg = st.segments.remove(0);
        seg.delete_files();
    }
}

/// LogAppendTime: the max timestamp becomes the broker's clock and the CRC, which covers the
/// attributes and timestamps, is recomputed over the new header and the untouched records.
fn set_log_append_time(header: &mut [u8; HEADER_LEN], rest: &[u8], now_ms: i64) {
    const ATTRIBUTES: usize = 21;
    const MAX_TIMESTAMP: usize = 35;
    const TIMESTAMP_TYPE_BIT: i16 = 0x08;
    let attributes =
        i16::from_be_bytes([header[ATTRIBUTES], header[ATTRIBUTES + 1]]) | TIMESTAMP_TYPE_BIT;
    header[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    header[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header[batch::CRC_START..]), rest);
    header[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// The first whole batch from `position` matching `pred`, with its base offset.
fn scan_for(
    file: &std::fs::File,
    mut position: u32,
    size: u32,
    pred: impl Fn(&BatchHeader) -> bool,
) -> Result<Option<(i64, Bytes)>, LogError> {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; HEADER_LEN];
    while size.saturating_sub(position) >= HEADER_LEN as u32 {
        file.read_exact_at(&mut header, position as u64)?;
        let h = BatchHeader::parse(&header).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let len = h.total_len() as u32;
        if len < HEADER_LEN as u32 || len > size - position {
            return Err(LogError::Corrupt(format!(
                "batch at position {position} overruns its segment"
            )));
        }
        if pred(&h) {
            let out = super::segment::read_exact_uninit_at(file, len as usize, position as u64)?;
            return Ok(Some((h.base_offset, Bytes::from(out))));
        }
        position += len;
    }
    Ok(None)
}

/// Syncs a new partition's directory and the data directory holding it, once (`flag` cleared).
fn sync_new_dirs(dir: &Path, flag: &AtomicBool) -> std::io::Result<()> {
    if !flag.load(Ordering::Acquire) {
        return Ok(());
    }
    File::open(dir)?.sync_all()?;
    if let Some(parent) = dir.parent() {
        File::open(parent)?.sync_all()?;
    }
    flag.store(false, Ordering::Release);
    Ok(())
}
