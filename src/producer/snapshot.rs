//! Producer state snapshots: `<next offset, 20 digits>.snapshot` in the partition directory.
//!
//! `"STPS" | version u8 (2) | producer count u32 | producers | CRC-32C of all before`, where a
//! producer is `id i64 | epoch i16 | last timestamp i64 | open transaction's first offset i64
//! (-1: none) | coordinator epoch i32 | batch count u8 (<= 5) | batches`, and a batch is
//! `first seq i32 | last seq i32 | base offset i64 | last offset i64 | append time i64`.
//! Version 1 lacks the two transaction fields and is still read.
//! Counts are checked against the bytes present before anything is allocated; a snapshot that
//! fails any check is deleted and an older one (or a replay from the log start) is used instead.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::state::{BatchMeta, ProducerEntry, ProducerStateManager, BATCHES_KEPT};
use super::ProducerStateError;
use crate::types::Offset;

const MAGIC: &[u8; 4] = b"STPS";
const VERSION: u8 = 2;
const PRODUCER_FIXED_V1: usize = 8 + 2 + 8 + 1;
const BATCH_LEN: usize = 4 + 4 + 8 + 8 + 8;

fn path_for(dir: &Path, offset: Offset) -> PathBuf {
    dir.join(format!("{:020}.snapshot", offset.value()))
}

pub fn encode(state: &ProducerStateManager) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        13 + state.producers.len() * (PRODUCER_FIXED_V1 + 12 + BATCHES_KEPT * BATCH_LEN),
    );
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(state.producers.len() as u32).to_be_bytes());
    let mut ids: Vec<&i64> = state.producers.keys().collect();
    ids.sort();
    for id in ids {
        let e = &state.producers[id];
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&e.epoch.to_be_bytes());
        out.extend_from_slice(&e.last_timestamp_ms.to_be_bytes());
        out.extend_from_slice(&e.current_txn_first_offset.to_be_bytes());
        out.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        out.push(e.batches.len() as u8);
        for b in &e.batches {
            out.extend_from_slice(&b.first_seq.to_be_bytes());
            out.extend_from_slice(&b.last_seq.to_be_bytes());
            out.extend_from_slice(&b.base_offset.to_be_bytes());
            out.extend_from_slice(&b.last_offset.to_be_bytes());
            out.extend_from_slice(&b.append_time_ms.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if self.0.len() < N {
            return Err("truncated".into());
        }
        let mut a = [0u8; N];
        a.copy_from_slice(&self.0[..N]);
        self.0 = &self.0[N..];
        Ok(a)
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.take::<8>().map(i64::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, String> {
        self.take::<4>().map(i32::from_be_bytes)
    }
}

pub fn decode(bytes: &[u8]) -> Result<ProducerStateManager, String> {
    if bytes.len() < 13 {
        return Err("too short".into());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err("checksum mismatch".into());
    }
    let version = body[4];
    if &body[..4] != MAGIC || !(1..=VERSION).contains(&version) {
        return Err("unknown format".into());
    }
    let fixed = if version >= 2 {
        PRODUCER_FIXED_V1 + 12
    } else {
        PRODUCER_FIXED_V1
    };
    let mut r = Reader(&body[5..]);
    let count = u32::from_be_bytes(r.take::<4>()?) as usize;
    if count > r.0.len() / fixed {
        return Err(format!("producer count {count} exceeds the data"));
    }
    let mut state = ProducerStateManager::new();
    for _ in 0..count {
        let id = r.i64()?;
        let epoch = i16::from_be_bytes(r.take::<2>()?);
        let last_timestamp_ms = r.i64()?;
        let (current_txn_first_offset, coordinator_epoch) = if version >= 2 {
            (r.i64()?.max(-1), r.i32()?)
        } else {
            (-1, -1)
        };
        let n = r.take::<1>()?[0] as usize;
        if n > BATCHES_KEPT {
            return Err(format!("{n} batches for producer {id}"));
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            batches.push_back(BatchMeta {
                first_seq: r.i32()?,
                last_seq: r.i32()?,
                base_offset: r.i64()?,
                last_offset: r.i64()?,
                append_time_ms: r.i64()?,
            });
        }
        state.producers.insert(
            id,
            ProducerEntry {
                epoch,
                batches,
                last_timestamp_ms,
                current_txn_first_offset,
                coordinator_epoch,
            },
        );
    }
    if !r.0.is_empty() {
        return Err("trailing bytes".into());
    }
    state.rebuild_ongoing();
    Ok(state)
}

pub fn write(
    dir: &Path,
    offset: Offset,
    state: &ProducerStateManager,
) -> Result<(), ProducerStateError> {
    let path = path_for(dir, offset);
    let tmp = path.with_extension("snapshot.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&encode(state))?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn snapshot_offsets(dir: &Path) -> Result<Vec<i64>, ProducerStateError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".snapshot")) {
            if let Ok(o) = stem.parse::<i64>() {
                out.push(o);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub fn load_newest(
    dir: &Path,
    max_offset: Offset,
) -> Result<(ProducerStateManager, Option<Offset>), ProducerStateError> {
    let offsets = snapshot_offsets(dir)?;
    for o in offsets.iter().rev() {
        let path = path_for(dir, Offset(*o));
        if *o > max_offset.value() {
            // Written for data that did not survive the crash.
            let _ = fs::remove_file(&path);
            continue;
        }
        match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| decode(&b))
        {
            Ok(state) => return Ok((state, Some(Offset(*o)))),
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "discarding unreadable producer snapshot");
                let _ = fs::remove_file(&path);
            }
        }
    }
    Ok((ProducerStateManager::new(), None))
}

pub fn clean(dir: &Path, keep_from: Offset) -> Result<(), ProducerStateError> {
    let offsets = snapshot_offsets(dir)?;
    if let Some((newest, older)) = offsets.split_last() {
        for o in older
            .iter()
            .filter(|o| **o < keep_from.value() && *o != newest)
        {
            let _ = fs::remove_file(path_for(dir, Offset(*o)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{test_util::build_batch, BatchHeader};
    use proptest::prelude::*;

    fn sample() -> ProducerStateManager {
        let mut s = ProducerStateManager::new();
        for pid in 0..4 {
            for seq in 0..7 {
                let mut h = BatchHeader::parse(&build_batch(0, 5, &[b"a"], pid, 1, seq)).unwrap();
                h.base_offset = seq as i64;
                s.apply(&h, 9);
            }
        }
        s
    }

    #[test]
    fn open_transactions_round_trip_and_version_1_snapshots_still_load() {
        let mut s = sample();
        let mut h = BatchHeader::parse(&build_batch(0, 5, &[b"a"], 42, 0, 0)).unwrap();
        h.attributes |= 0x10;
        h.base_offset = 100;
        s.apply(&h, -1);
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.first_unstable_offset(), Some(100));
        // Version 1: the same producers without the two transaction fields.
        let v2 = encode(&sample());
        let mut v1 = v2[..9].to_vec();
        v1[4] = 1;
        let mut at = 9;
        while at < v2.len() - 4 {
            v1.extend_from_slice(&v2[at..at + 18]);
            let n = v2[at + 30] as usize;
            v1.push(v2[at + 30]);
            v1.extend_from_slice(&v2[at + 31..at + 31 + n * BATCH_LEN]);
            at += 31 + n * BATCH_LEN;
        }
        let crc = crc32c::crc32c(&v1);
        v1.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(decode(&v1).unwrap(), sample());
    }

    #[test]
    fn snapshot_round_trip_and_newest_valid_wins() {
        let dir = tempfile::tempdir().unwrap();
        let s = sample();
        write(dir.path(), Offset(10), &ProducerStateManager::new()).unwrap();
        write(dir.path(), Offset(20), &s).unwrap();
        write(dir.path(), Offset(30), &s).unwrap();
        fs::write(path_for(dir.path(), Offset(30)), b"junk").unwrap();
        let (loaded, at) = load_newest(dir.path(), Offset(25)).unwrap();
        assert_eq!(at, Some(Offset(20)));
        assert_eq!(loaded, s);
        assert!(
            !path_for(dir.path(), Offset(30)).exists(),
            "newer-than-log snapshot removed"
        );
        clean(dir.path(), Offset(15)).unwrap();
        assert!(!path_for(dir.path(), Offset(10)).exists());
        assert!(path_for(dir.path(), Offset(20)).exists());
    }

    proptest! {
        #[test]
        fn any_corruption_is_detected_and_decoding_never_panics(flip_at in any::<usize>(), flip in 1u8..=255, cut in any::<usize>()) {
            let good = encode(&sample());
            let mut bad = good.clone();
            let i = flip_at % bad.len();
            bad[i] ^= flip;
            prop_assert!(decode(&bad).is_err());
            prop_assert!(decode(&good[..cut % good.len()]).is_err());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }
    }
}
