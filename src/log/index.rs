//! The sparse offset index and time index of one segment, kept in memory and written whole to
//! `.index` / `.timeindex` files when a segment is rolled or the log is closed cleanly.
//!
//! Entries: offset index `relative offset u32 | file position u32`; time index
//! `max timestamp so far i64 | relative offset u32`. Both are derived data: on open they are
//! validated against the segment (monotonic, inside the file) and rebuilt from the `.log` when
//! anything is off.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIndex {
    /// (relative offset, file position), both increasing.
    pub offsets: Vec<(u32, u32)>,
    /// (max timestamp so far, relative offset), both non-decreasing.
    pub times: Vec<(i64, u32)>,
}

impl SegmentIndex {
    /// Position to start scanning from for `relative`: the last entry at or before it.
    pub fn position_for(&self, relative: u32) -> u32 {
        match self.offsets.partition_point(|(o, _)| *o <= relative) {
            0 => 0,
            i => self.offsets[i - 1].1,
        }
    }

    /// Relative offset to start scanning from for a timestamp query: the last entry whose max
    /// timestamp is below `ts` (every batch before it is older).
    pub fn relative_for_time(&self, ts: i64) -> u32 {
        match self.times.partition_point(|(t, _)| *t < ts) {
            0 => 0,
            i => self.times[i - 1].1,
        }
    }

    pub fn encode_offsets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.offsets.len() * 8);
        for (o, p) in &self.offsets {
            out.extend_from_slice(&o.to_be_bytes());
            out.extend_from_slice(&p.to_be_bytes());
        }
        out
    }

    /// Records the largest timestamp so far, if it grew since the last entry. Called with each
    /// offset-index entry, as Kafka does, so the time index is no denser than the offset index.
    pub fn push_time(&mut self, ts: i64, relative: u32) {
        if ts >= 0 && self.times.last().is_none_or(|(t, _)| ts > *t) {
            self.times.push((ts, relative));
        }
    }

    /// The time index file: the entries, then the segment's largest timestamp when it grew
    /// after the last entry, so that the file's last entry always gives it.
    pub fn encode_times(&self, largest: Option<(i64, u32)>) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.times.len() + 1) * 12);
        let last = self.times.last().map(|(t, _)| *t);
        let extra = largest.filter(|(t, _)| *t >= 0 && last.is_none_or(|l| *t > l));
        for (t, o) in self.times.iter().chain(extra.iter()) {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&o.to_be_bytes());
        }
        out
    }

    /// Decodes both files and checks them against the segment's size and last relative offset.
    /// None when anything is inconsistent: the caller rebuilds from the log.
    pub fn decode(
        offsets: &[u8],
        times: &[u8],
        segment_size: u32,
        last_relative: u32,
    ) -> Option<SegmentIndex> {
        if !offsets.len().is_multiple_of(8) || !times.len().is_multiple_of(12) {
            return None;
        }
        let mut idx = SegmentIndex::default();
        for c in offsets.chunks_exact(8) {
            let o = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            let p = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
            if let Some((po, pp)) = idx.offsets.last() {
                if o <= *po || p <= *pp {
                    return None;
                }
            }
            if p >= segment_size || o > last_relative {
                return None;
            }
            idx.offsets.push((o, p));
        }
        for c in times.chunks_exact(12) {
            let mut t = [0u8; 8];
            t.copy_from_slice(&c[..8]);
            let t = i64::from_be_bytes(t);
            let o = u32::from_be_bytes([c[8], c[9], c[10], c[11]]);
            if let Some((pt, po)) = idx.times.last() {
                if t < *pt || o < *po {
                    return None;
                }
            }
            if o > last_relative {
                return None;
            }
            idx.times.push((t, o));
        }
        Some(idx)
    }

    pub fn bytes(&self) -> usize {
        self.offsets.len() * 8 + self.times.len() * 12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_the_entry_at_or_before() {
        let idx = SegmentIndex {
            offsets: vec![(10, 100), (20, 200)],
            times: vec![(5, 10), (9, 20)],
        };
        assert_eq!(idx.position_for(0), 0);
        assert_eq!(idx.position_for(10), 100);
        assert_eq!(idx.position_for(19), 100);
        assert_eq!(idx.position_for(25), 200);
        assert_eq!(idx.relative_for_time(4), 0);
        assert_eq!(idx.relative_for_time(6), 10);
        assert_eq!(idx.relative_for_time(100), 20);
    }

    #[test]
    fn decode_rejects_inconsistent_files() {
        let idx = SegmentIndex {
            offsets: vec![(10, 100), (20, 200)],
            times: vec![(5, 10), (9, 20)],
        };
        let (o, t) = (idx.encode_offsets(), idx.encode_times(None));
        assert_eq!(SegmentIndex::decode(&o, &t, 300, 30), Some(idx.clone()));
        assert!(
            SegmentIndex::decode(&o, &t, 200, 30).is_none(),
            "position past the segment"
        );
        assert!(
            SegmentIndex::decode(&o, &t, 300, 15).is_none(),
            "offset past the segment"
        );
        assert!(
            SegmentIndex::decode(&o[..7], &t, 300, 30).is_none(),
            "torn entry"
        );
        let swapped = SegmentIndex {
            offsets: vec![(20, 200), (10, 100)],
            times: vec![],
        };
        assert!(SegmentIndex::decode(&swapped.encode_offsets(), &[], 300, 30).is_none());
    }

    #[test]
    fn the_time_file_ends_with_the_largest_timestamp() {
        let mut idx = SegmentIndex::default();
        idx.push_time(-1, 0);
        idx.push_time(5, 0);
        idx.push_time(5, 3);
        idx.push_time(4, 4);
        assert_eq!(idx.times, vec![(5, 0)], "only growth is recorded");
        let with_final = idx.encode_times(Some((9, 7)));
        let decoded = SegmentIndex::decode(&[], &with_final, 100, 10).expect("valid");
        assert_eq!(decoded.times, vec![(5, 0), (9, 7)]);
        assert_eq!(idx.encode_times(Some((5, 0))).len(), 12, "no repeat");
        assert_eq!(idx.encode_times(None).len(), 12);
    }
}
