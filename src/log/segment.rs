//! One segment: a `.log` file of back-to-back v2 batches starting at `base_offset`, with its
//! indexes: in memory while it is the active segment, in `.index` / `.timeindex` files (read
//! through `index_cache`) once it is sealed. Positions are u32 because a segment never exceeds
//! `MAX_SEGMENT_BYTES`.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, IoSlice, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::index::SegmentIndex;
use super::index_cache::{self, SegmentId};
use crate::record::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};

/// The index interval used when a sealed segment's index is rebuilt from its log (Kafka's
/// default `index.interval.bytes`).
const REBUILD_INDEX_INTERVAL: u32 = 4096;

/// The `.index` / `.timeindex` files of the segment at `base` holding `size` bytes up to
/// `next_offset`, when both are there and consistent with it.
fn read_index_files(dir: &Path, base: i64, size: u32, next_offset: i64) -> Option<SegmentIndex> {
    let offsets = fs::read(dir.join(file_name(base, "index"))).ok()?;
    let times = fs::read(dir.join(file_name(base, "timeindex"))).ok()?;
    let last_relative = relative_to(base, (next_offset - 1).max(base));
    SegmentIndex::decode(&offsets, &times, size.max(1), last_relative)
}

/// `offset` relative to a segment's base offset, as its indexes store it.
fn relative_to(base: i64, offset: i64) -> u32 {
    (offset - base).clamp(0, u32::MAX as i64) as u32
}

pub fn file_name(base: i64, ext: &str) -> String {
    format!("{base:020}.{ext}")
}

/// What appending a batch tells the segment about it.
#[derive(Debug, Clone, Copy)]
pub struct BatchInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub len: u32,
}

impl BatchInfo {
    pub fn of(h: &BatchHeader) -> BatchInfo {
        BatchInfo {
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
            len: h.total_len() as u32,
        }
    }
}

/// One entry of the aborted-transaction index (Kafka's `.txnindex` layout, 34 bytes):
/// `version i16 (0) | producer id i64 | first offset i64 | last offset i64 | last stable offset
/// i64`, where the last offset is the ABORT marker's and the last stable offset is the one that
/// held right after it. Kept in the segment holding the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub const LEN: usize = 34;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        b[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        b[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        b[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<AbortedTxn> {
        if b.len() != Self::LEN || b[0..2] != [0, 0] {
            return None;
        }
        let at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            i64::from_be_bytes(a)
        };
        let e = AbortedTxn {
            producer_id: at(2),
            first_offset: at(10),
            last_offset: at(18),
            last_stable_offset: at(26),
        };
        (e.first_offset <= e.last_offset).then_some(e)
    }
}

pub struct Segment {
    pub base_offset: i64,
    dir: Arc<Path>,
    pub file: Arc<File>,
    /// Bytes of complete batches in the file.
    pub size: u32,
    /// One past the last offset in this segment (== base_offset when empty).
    pub next_offset: i64,
    /// The active segment's index; empty once sealed (the files hold it then).
    index: SegmentIndex,
    /// Rolled, or found complete with valid index files at start-up: nothing is appended any
    /// more and lookups go through `index_cache`.
    sealed: bool,
    id: SegmentId,
    pub largest_timestamp: i64,
    /// Base offset of the batch holding `largest_timestamp`.
    pub largest_timestamp_batch: i64,
    /// Wall-clock time of the first append (or of opening), for segment.ms rolls of a segment
    /// whose first batch has no timestamp.
    pub created_ms: i64,
    /// Max timestamp of the segment's first batch, which Kafka's segment.ms rule measures from;
    /// `None` until known (a segment opened from disk reads it on first use).
    first_batch_timestamp: Option<i64>,
    bytes_since_index: u32,
    /// Aborted transactions whose ABORT marker lies in this segment, in offset order.
    aborted: Vec<AbortedTxn>,
}

impl Segment {
    pub fn create(dir: &Path, base_offset: i64, now_ms: i64) -> std::io::Result<Segment> {
        let seg = Segment::create_unsynced(dir, base_offset, now_ms)?;
        // The new name must survive a crash before anything is acknowledged from it.
        File::open(dir)?.sync_all()?;
        Ok(seg)
    }

    /// A segment whose directory entry is not yet durable: for a brand-new partition, whose
    /// log syncs its directories before its first data (`PartitionLog::sync_new_dirs`).
    pub fn create_unsynced(dir: &Path, base_offset: i64, now_ms: i64) -> std::io::Result<Segment> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        Ok(Segment::with_file(dir, base_offset, file, now_ms))
    }

    /// Opens an existing segment file without reading it; the caller then either loads indexes
    /// (`load_indexes`) or scans it (`recover`).
    pub fn open(dir: &Path, base_offset: i64, now_ms: i64) -> std::io::Result<Segment> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new().read(true).append(true).open(path)?;
        Ok(Segment::with_file(dir, base_offset, file, now_ms))
    }

    fn with_file(dir: &Path, base_offset: i64, file: File, now_ms: i64) -> Segment {
        Segment {
            base_offset,
            dir: Arc::from(dir),
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index: SegmentIndex::default(),
            sealed: false,
            id: SegmentId::next(),
            largest_timestamp: -1,
            largest_timestamp_batch: -1,
            created_ms: now_ms,
            first_batch_timestamp: None,
            bytes_since_index: 0,
            aborted: Vec::new(),
        }
    }

    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// Records an aborted transaction whose marker was just appended here, and appends it to
    /// the `.txnindex` file (made durable with the other index files at roll and clean stop;
    /// after a crash recovery rebuilds the active segment's entries from the markers).
    pub fn add_aborted(&mut self, entry: AbortedTxn) -> std::io::Result<()> {
        if self
            .aborted
            .last()
            .is_some_and(|e| e.last_offset >= entry.last_offset)
        {
            return Ok(());
        }
        self.aborted.push(entry);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file_name(self.base_offset, "txnindex")))?;
        f.write_all(&entry.encode())
    }

    /// Loads the `.txnindex` file, keeping the entries whose marker lies in this segment as
    /// it now ends (a torn tail may have cut later ones), in order. Returns whether the file
    /// needs rewriting (it held entries that were dropped, or a partial entry).
    pub fn load_aborted(&mut self) -> std::io::Result<bool> {
        let path = self.dir.join(file_name(self.base_offset, "txnindex"));
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut dirty = bytes.len() % AbortedTxn::LEN != 0;
        self.aborted.clear();
        for chunk in bytes.chunks_exact(AbortedTxn::LEN) {
            match AbortedTxn::decode(chunk) {
                Some(e)
                    if e.last_offset >= self.base_offset
                        && e.last_offset < self.next_offset
                        && self
                            .aborted
                            .last()
                            .is_none_or(|l| l.last_offset < e.last_offset) =>
                {
                    self.aborted.push(e)
                }
                _ => dirty = true,
            }
        }
        Ok(dirty)
    }

    /// Adds an entry found again by recovery, keeping offset order; false if already known.
    pub fn restore_aborted(&mut self, entry: AbortedTxn) -> bool {
        match self
            .aborted
            .binary_search_by_key(&entry.last_offset, |e| e.last_offset)
        {
            Ok(_) => false,
            Err(i) => {
                self.aborted.insert(i, entry);
                true
            }
        }
    }

    /// Rewrites the `.txnindex` file from memory, synced (removed when empty).
    pub fn write_aborted(&self) -> std::io::Result<()> {
        let path = self.dir.join(file_name(self.base_offset, "txnindex"));
        if self.aborted.is_empty() {
            return match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let bytes: Vec<u8> = self.aborted.iter().flat_map(|e| e.encode()).collect();
        write_synced(&path, &bytes)
    }

    /// The max timestamp of the first batch (-1 when it carries none), reading the batch
    /// header from the file once for a segment opened from disk. `None` for an empty segment.
    pub fn first_batch_timestamp(&mut self) -> std::io::Result<Option<i64>> {
        if self.is_empty() {
            return Ok(None);
        }
        if self.first_batch_timestamp.is_none() {
            use std::os::unix::fs::FileExt;
            let mut header = [0u8; crate::record::batch::HEADER_LEN];
            self.file.read_exact_at(&mut header, 0)?;
            let h = crate::record::batch::BatchHeader::parse(&header)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            self.first_batch_timestamp = Some(h.max_timestamp);
        }
        Ok(self.first_batch_timestamp)
    }

    /// How long the segment has been open by Kafka's segment.ms rule: the incoming batch's max
    /// timestamp against the first batch's, or wall-clock time since creation when the first
    /// batch has no timestamp.
    pub fn time_waited_for_roll(
        &mut self,
        now_ms: i64,
        incoming_max_timestamp: i64,
    ) -> std::io::Result<i64> {
        Ok(match self.first_batch_timestamp()? {
            Some(t) if t >= 0 => incoming_max_timestamp.saturating_sub(t),
            _ => now_ms - self.created_ms,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The time retention.ms measures from: the largest record timestamp, or the file's
    /// modification time when no record carries one (as Kafka does).
    pub fn retention_timestamp(&self) -> i64 {
        if self.largest_timestamp >= 0 {
            return self.largest_timestamp;
        }
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(self.created_ms)
    }

    /// The in-memory time index's last entry (none for a sealed segment, whose largest
    /// timestamp is read when it is opened).
    pub fn last_time_entry(&self) -> Option<(i64, u32)> {
        self.index.times.last().copied()
    }

    /// The largest timestamp and the relative offset of its batch, once there is one.
    fn largest(&self) -> Option<(i64, u32)> {
        (self.largest_timestamp >= 0).then(|| {
            (
                self.largest_timestamp,
                self.relative(self.largest_timestamp_batch),
            )
        })
    }

    /// Bytes the in-memory index would take in its files (the active segment's roll trigger).
    pub fn index_bytes(&self) -> usize {
        self.index.bytes()
    }

    /// The last index entry at or before `relative`: the position to scan from.
    pub fn position_for(&self, relative: u32) -> std::io::Result<u32> {
        self.locate(relative).resolve()
    }

    /// Where to start scanning for `relative`: resolved at once from an in-memory index, or
    /// handed back for a sealed segment so that the caller can resolve it after releasing the
    /// log lock (a miss reads the index files, or rebuilds the index from the whole log).
    pub fn locate(&self, relative: u32) -> Locate {
        match self.sealed_index() {
            Some(sealed) => Locate::Offset(sealed, relative),
            None => Locate::At(self.index.position_for(relative)),
        }
    }

    /// Like [`Segment::locate`], for the first batch that may reach timestamp `ts`.
    pub fn locate_time(&self, ts: i64) -> Locate {
        match self.sealed_index() {
            Some(sealed) => Locate::Time(sealed, ts),
            None => Locate::At(self.index.position_for(self.index.relative_for_time(ts))),
        }
    }

    fn sealed_index(&self) -> Option<SealedIndex> {
        self.sealed.then(|| SealedIndex {
            id: self.id,
            dir: self.dir.clone(),
            base_offset: self.base_offset,
            size: self.size,
            next_offset: self.next_offset,
            file: self.file.clone(),
        })
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Marks a segment whose index files are written and durable as sealed, and frees its
    /// in-memory index.
    pub fn seal(&mut self) {
        self.sealed = true;
        self.index = SegmentIndex::default();
        self.bytes_since_index = u32::MAX;
    }

    /// Opens a segment that is complete up to `next_offset` (a later segment follows it, or the
    /// log was stopped cleanly) as sealed, without reading its index: only the index files'
    /// shapes and the time index's last entry are checked here; the entries themselves are
    /// checked when a read first needs them. False when the files do not fit: the caller scans.
    pub fn open_sealed(&mut self, next_offset: i64) -> std::io::Result<bool> {
        let size = self.file.metadata()?.len();
        if size > super::MAX_SEGMENT_BYTES || next_offset < self.base_offset {
            return Ok(false);
        }
        let index_len =
            |ext| fs::metadata(self.dir.join(file_name(self.base_offset, ext))).map(|m| m.len());
        let (Ok(offsets_len), Ok(times_len)) = (index_len("index"), index_len("timeindex")) else {
            return Ok(false);
        };
        if !offsets_len.is_multiple_of(8)
            || !times_len.is_multiple_of(12)
            || (size > 0) != (offsets_len > 0)
        {
            return Ok(false);
        }
        let last_relative = self.relative((next_offset - 1).max(self.base_offset));
        let (mut largest, mut largest_batch) = (-1, -1);
        if times_len > 0 {
            let times = File::open(self.dir.join(file_name(self.base_offset, "timeindex")))?;
            let mut last = [0u8; 12];
            times.read_exact_at(&mut last, times_len - 12)?;
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&last[..8]);
            let rel = u32::from_be_bytes([last[8], last[9], last[10], last[11]]);
            if rel > last_relative {
                return Ok(false);
            }
            largest = i64::from_be_bytes(ts);
            largest_batch = self.base_offset + rel as i64;
        }
        self.size = size as u32;
        self.next_offset = next_offset;
        self.largest_timestamp = largest;
        self.largest_timestamp_batch = largest_batch;
        self.seal();
        Ok(true)
    }

    fn relative(&self, offset: i64) -> u32 {
        relative_to(self.base_offset, offset)
    }

    /// Writes one batch: the rewritten header, then the producer's bytes after it, with one
    /// vectored write.
    pub fn append(
        &mut self,
        header: &[u8],
        rest: &[u8],
        info: BatchInfo,
        index_interval: u32,
    ) -> std::io::Result<()> {
        debug_assert_eq!(header.len() + rest.len(), info.len as usize);
        debug_assert!(!self.sealed, "append to a sealed segment");
        let mut slices = [IoSlice::new(header), IoSlice::new(rest)];
        let mut bufs: &mut [IoSlice<'_>] = &mut slices;
        let mut file: &File = &self.file;
        while !bufs.is_empty() {
            let n = file.write_vectored(bufs)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut bufs, n);
        }
        self.track(self.size, info, index_interval);
        Ok(())
    }

    /// Updates indexes and bounds for a batch now at `position`.
    fn track(&mut self, position: u32, info: BatchInfo, index_interval: u32) {
        if self.is_empty() {
            self.first_batch_timestamp = Some(info.max_timestamp);
        }
        if info.max_timestamp > self.largest_timestamp {
            self.largest_timestamp = info.max_timestamp;
            self.largest_timestamp_batch = info.base_offset;
        }
        if self.is_empty() || self.bytes_since_index >= index_interval {
            self.index
                .offsets
                .push((self.relative(info.base_offset), position));
            self.index.push_time(
                self.largest_timestamp,
                self.relative(self.largest_timestamp_batch),
            );
            self.bytes_since_index = 0;
        }
        self.bytes_since_index = self.bytes_since_index.saturating_add(info.len);
        self.size += info.len;
        self.next_offset = info.last_offset + 1;
    }

    /// Scans the whole file, checking every batch (size, CRC, offsets following on from
    /// `self.base_offset`), rebuilding indexes, and truncating at the first bad or incomplete
    /// batch. Returns the number of bytes cut off.
    pub fn recover(&mut self, index_interval: u32, max_batch: usize) -> std::io::Result<u64> {
        if self.sealed {
            index_cache::forget(self.id);
            self.sealed = false;
        }
        self.index = SegmentIndex::default();
        self.size = 0;
        self.next_offset = self.base_offset;
        self.largest_timestamp = -1;
        self.largest_timestamp_batch = -1;
        self.first_batch_timestamp = None;
        self.bytes_since_index = 0;
        self.scan_tail(index_interval, max_batch)
    }

    /// Like [`Segment::recover`], but trusting everything below the current `size` (loaded from a
    /// checkpoint of a durable prefix) and scanning only what follows it.
    pub fn scan_tail(&mut self, index_interval: u32, max_batch: usize) -> std::io::Result<u64> {
        let file_len = self.file.metadata()?.len();
        let mut reader = BufReader::with_capacity(1 << 20, (*self.file).try_clone()?);
        reader.seek(SeekFrom::Start(self.size as u64))?;
        let mut buf = Vec::new();
        loop {
            let pos = self.size as u64;
            let remaining = file_len - pos;
            if remaining < HEADER_LEN as u64 {
                break;
            }
            let mut prefix = [0u8; LOG_OVERHEAD];
            reader.read_exact(&mut prefix)?;
            let batch_length = i32::from_be_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
            let total = LOG_OVERHEAD as i64 + batch_length as i64;
            if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32
                || total as u64 > remaining
                || total as usize > max_batch
            {
                break;
            }
            buf.clear();
            buf.extend_from_slice(&prefix);
            buf.resize(total as usize, 0);
            reader.read_exact(&mut buf[LOG_OVERHEAD..])?;
            let Ok(h) = batch::validate(&buf) else { break };
            if h.base_offset != self.next_offset {
                break;
            }
            self.track(pos as u32, BatchInfo::of(&h), index_interval);
        }
        let cut = file_len - self.size as u64;
        if cut > 0 {
            self.file.set_len(self.size as u64)?;
            self.file.sync_all()?;
        }
        Ok(cut)
    }

    /// Loads `.index` / `.timeindex` written at roll or clean shutdown, given the segment's size
    /// and next offset known from elsewhere. False when they are missing or inconsistent.
    pub fn load_indexes(&mut self, next_offset: i64, largest: (i64, i64)) -> std::io::Result<bool> {
        let size = self.file.metadata()?.len();
        self.load_indexes_up_to(next_offset, size, largest)
    }

    /// Loads the index files for the prefix of `size` bytes ending at `next_offset`.
    pub fn load_indexes_up_to(
        &mut self,
        next_offset: i64,
        size: u64,
        largest: (i64, i64),
    ) -> std::io::Result<bool> {
        if size > super::MAX_SEGMENT_BYTES || size > self.file.metadata()?.len() {
            return Ok(false);
        }
        match read_index_files(&self.dir, self.base_offset, size as u32, next_offset) {
            Some(idx) => {
                self.index = idx;
                self.size = size as u32;
                self.next_offset = next_offset;
                self.largest_timestamp = largest.0;
                self.largest_timestamp_batch = largest.1;
                self.bytes_since_index = u32::MAX;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub fn write_indexes(&self) -> std::io::Result<()> {
        // A sealed segment's index lives only in its files: writing the emptied in-memory one
        // would destroy them.
        debug_assert!(!self.sealed, "index files of a sealed segment rewritten");
        if self.sealed {
            return Ok(());
        }
        for (ext, bytes) in self.encode_indexes() {
            write_synced(&self.dir.join(file_name(self.base_offset, ext)), &bytes)?;
        }
        if !self.aborted.is_empty() {
            self.write_aborted()?;
        }
        Ok(())
    }

    /// The index files' contents as the in-memory index stands now, by file extension.
    pub fn encode_indexes(&self) -> [(&'static str, Vec<u8>); 2] {
        [
            ("index", self.index.encode_offsets()),
            ("timeindex", self.index.encode_times(self.largest())),
        ]
    }

    pub fn delete_files(&self) {
        index_cache::forget(self.id);
        for ext in ["log", "index", "timeindex", "txnindex"] {
            let _ = fs::remove_file(self.dir.join(file_name(self.base_offset, ext)));
        }
        // Left behind by a crash between staging and installing a checkpoint's indexes.
        discard_staged_indexes(&self.dir, self.base_offset);
    }

    /// Reads a located range and cuts it back to whole batches below `upper_bound`.
    pub fn read_located(file: &File, found: Located, upper_bound: i64) -> std::io::Result<Vec<u8>> {
        // One read for the whole range, then cut it back to whole batches below the bound.
        let mut out = read_exact_uninit_at(file, found.len, found.position as u64)?;
        let (batches, _) = batch::split_batches(&out);
        let keep = batches
            .iter()
            .take_while(|(_, h)| h.last_offset() < upper_bound)
            .last()
            .map(|(start, h)| start + h.total_len())
            .unwrap_or(0);
        out.truncate(keep);
        Ok(out)
    }

    /// Finds where a read at `offset` starts (the batch holding it, found by reading only the
    /// headers after the index entry) and how many bytes it spans: `max_bytes` or what is left
    /// of the segment, or the whole first batch when it alone is larger (KIP-74).
    /// `size` is the segment size snapshot taken under the log lock, so the bytes below it are
    /// complete batches.
    pub fn locate_batches(
        file: &File,
        index_position: u32,
        size: u32,
        offset: i64,
        max_bytes: usize,
    ) -> std::io::Result<Option<Located>> {
        let mut pos = index_position;
        let mut header = [0u8; HEADER_LEN];
        // Skip the few batches between the index entry and `offset`, reading only headers.
        let first = loop {
            if size.saturating_sub(pos) < HEADER_LEN as u32 {
                return Ok(None);
            }
            file.read_exact_at(&mut header, pos as u64)?;
            let Ok(h) = BatchHeader::parse(&header) else {
                return Ok(None);
            };
            let len = h.total_len() as u32;
            if len < HEADER_LEN as u32 || len > size - pos {
                return Ok(None);
            }
            if h.last_offset() >= offset {
                break h;
            }
            pos += len;
        };
        let first_len = first.total_len();
        let len = if first_len > max_bytes {
            first_len
        } else {
            max_bytes.min((size - pos) as usize)
        };
        Ok(Some(Located {
            position: pos,
            len,
            first_last_offset: first.last_offset(),
        }))
    }
}

/// Where a read starts in a segment file and how far it may reach.
#[derive(Debug, Clone, Copy)]
pub struct Located {
    pub position: u32,
    pub len: usize,
    /// The last offset of the batch the read starts with.
    pub first_last_offset: i64,
}

/// Index files written beside their final names (`.tmp`) and fsynced, so the slow part of
/// replacing them can run without the partition lock; [`install_staged_indexes`] then renames
/// them into place.
pub fn stage_indexes(
    dir: &Path,
    base: i64,
    files: &[(&'static str, Vec<u8>)],
) -> std::io::Result<()> {
    for (ext, bytes) in files {
        write_synced(&dir.join(staged_name(base, ext)), bytes)?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_data()
}

pub fn install_staged_indexes(dir: &Path, base: i64) -> std::io::Result<()> {
    for ext in INDEX_EXTENSIONS {
        fs::rename(
            dir.join(staged_name(base, ext)),
            dir.join(file_name(base, ext)),
        )?;
    }
    Ok(())
}

pub fn discard_staged_indexes(dir: &Path, base: i64) {
    for ext in INDEX_EXTENSIONS {
        let _ = fs::remove_file(dir.join(staged_name(base, ext)));
    }
}

const INDEX_EXTENSIONS: [&str; 2] = ["index", "timeindex"];

fn staged_name(base: i64, ext: &str) -> String {
    format!("{}.tmp", file_name(base, ext))
}

/// Reads exactly `len` bytes at `offset` into a fresh buffer without zeroing it first: fetches
/// read megabytes at a time, and zeroing them cost as many instructions as everything else on
/// the fetch path together.
pub(crate) fn read_exact_uninit_at(
    file: &File,
    len: usize,
    offset: u64,
) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let at = offset + out.len() as u64;
        // Reads into the spare capacity; should the allocation be larger than asked, the extra
        // bytes are cut off below.
        let n = rustix::io::pread(file, rustix::buffer::spare_capacity(&mut out), at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    out.truncate(len);
    Ok(out)
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.sealed {
            index_cache::forget(self.id);
        }
    }
}

/// A scan start that may still need a sealed segment's index.
pub enum Locate {
    At(u32),
    Offset(SealedIndex, u32),
    Time(SealedIndex, i64),
}

impl Locate {
    pub fn resolve(self) -> std::io::Result<u32> {
        match self {
            Locate::At(position) => Ok(position),
            Locate::Offset(sealed, relative) => Ok(sealed.get()?.position_for(relative)),
            Locate::Time(sealed, ts) => {
                let idx = sealed.get()?;
                Ok(idx.position_for(idx.relative_for_time(ts)))
            }
        }
    }
}

/// What a lookup in a sealed segment's index needs, copied out from under the log lock.
pub struct SealedIndex {
    id: SegmentId,
    dir: Arc<Path>,
    base_offset: i64,
    size: u32,
    next_offset: i64,
    file: Arc<File>,
}

impl SealedIndex {
    fn get(&self) -> std::io::Result<Arc<SegmentIndex>> {
        index_cache::get_or_load(self.id, || self.load())
    }

    fn relative(&self, offset: i64) -> u32 {
        relative_to(self.base_offset, offset)
    }

    /// The index from its files, checked against the segment; rebuilt from the `.log` (which
    /// recovery or the appends already validated) when the files are missing or inconsistent.
    fn load(&self) -> std::io::Result<SegmentIndex> {
        if let Some(idx) =
            read_index_files(&self.dir, self.base_offset, self.size, self.next_offset)
        {
            return Ok(idx);
        }
        tracing::warn!(dir = %self.dir.display(), segment = self.base_offset, "index files missing or inconsistent; rebuilding the index from the log");
        self.scan(REBUILD_INDEX_INTERVAL)
    }

    /// Builds an index by walking the batch headers of the first `size` bytes.
    fn scan(&self, index_interval: u32) -> std::io::Result<SegmentIndex> {
        let mut idx = SegmentIndex::default();
        let mut header = [0u8; HEADER_LEN];
        let (mut pos, mut since_entry) = (0u32, u32::MAX);
        let mut largest = (-1i64, 0u32);
        while self.size.saturating_sub(pos) >= HEADER_LEN as u32 {
            self.file.read_exact_at(&mut header, pos as u64)?;
            let Ok(h) = BatchHeader::parse(&header) else {
                break;
            };
            let len = h.total_len() as u32;
            if len < HEADER_LEN as u32 || len > self.size - pos {
                break;
            }
            if h.max_timestamp > largest.0 {
                largest = (h.max_timestamp, self.relative(h.base_offset));
            }
            if since_entry >= index_interval {
                idx.offsets.push((self.relative(h.base_offset), pos));
                idx.push_time(largest.0, largest.1);
                since_entry = 0;
            }
            since_entry = since_entry.saturating_add(len);
            pos += len;
        }
        idx.push_time(largest.0, largest.1);
        Ok(idx)
    }
}
