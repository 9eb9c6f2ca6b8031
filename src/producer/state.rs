//! Sequence checks for idempotent producers, as Apache Kafka's ProducerStateManager does them.
//!
//! Per producer id: its epoch and the last five batches (first/last sequence and offsets), the
//! window within which a retried batch is recognised and answered with its original offsets.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use super::snapshot;
use super::ProducerStateError;
use crate::record::batch::BatchHeader;
use crate::types::Offset;

/// Kafka keeps this many batches per producer for duplicate detection (and clients never have
/// more than five requests in flight with idempotence on).
pub const BATCHES_KEPT: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub append_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    /// The largest batch timestamp seen, for producer.id.expiration.ms.
    pub last_timestamp_ms: i64,
    /// First offset of this producer's open transaction in the partition; -1 when none.
    pub current_txn_first_offset: i64,
    /// Epoch of the coordinator that wrote this producer's last marker; -1 before any.
    pub coordinator_epoch: i32,
}

impl ProducerEntry {
    fn new(epoch: i16) -> Self {
        ProducerEntry {
            epoch,
            batches: VecDeque::with_capacity(BATCHES_KEPT),
            last_timestamp_ms: -1,
            current_txn_first_offset: -1,
            coordinator_epoch: -1,
        }
    }

    fn set_epoch(&mut self, epoch: i16) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.batches.clear();
        }
    }
}

/// One producer's state as DescribeProducers reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerView {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp_ms: i64,
    pub coordinator_epoch: i32,
    /// -1 when no transaction is open.
    pub current_txn_first_offset: i64,
}

/// A transaction ended in this partition by a marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    /// The transaction's first offset here (the marker's own offset for a transaction that
    /// wrote nothing here).
    pub first_offset: i64,
    pub last_offset: i64,
    pub aborted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    Duplicate {
        base_offset: Offset,
        last_offset: Offset,
        append_time_ms: i64,
    },
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProducerStateManager {
    pub(super) producers: HashMap<i64, ProducerEntry>,
    /// Open transactions by first offset: the smallest bounds the last stable offset.
    ongoing: BTreeMap<i64, i64>,
}

fn last_seq_of(h: &BatchHeader) -> i32 {
    // Sequences wrap at i32::MAX back to 0.
    let last = h.base_sequence as i64 + h.last_offset_delta as i64;
    if last > i32::MAX as i64 {
        (last - i32::MAX as i64 - 1) as i32
    } else {
        last as i32
    }
}

fn in_sequence(last: i32, next: i32) -> bool {
    next as i64 == last as i64 + 1 || (next == 0 && last == i32::MAX)
}

impl ProducerStateManager {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, ProducerStateError> {
        if h.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown producer (new, or its state expired or was removed with old segments):
            // Kafka accepts any sequence here.
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(ProducerStateError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                current: entry.epoch,
                got: h.producer_epoch,
            });
        }
        let last_seq = last_seq_of(h);
        if h.producer_epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
            {
                return Ok(SequenceCheck::Duplicate {
                    base_offset: Offset(dup.base_offset),
                    last_offset: Offset(dup.last_offset),
                    append_time_ms: dup.append_time_ms,
                });
            }
            if let Some(last) = entry.batches.back() {
                if !in_sequence(last.last_seq, h.base_sequence) {
                    return Err(ProducerStateError::OutOfOrderSequence {
                        producer_id: h.producer_id,
                        expected: last.last_seq.wrapping_add(1).max(0),
                        got: h.base_sequence,
                    });
                }
            }
        } else if h.base_sequence != 0 {
            // A bumped epoch starts its sequences again at 0.
            return Err(ProducerStateError::OutOfOrderSequence {
                producer_id: h.producer_id,
                expected: 0,
                got: h.base_sequence,
            });
        }
        Ok(SequenceCheck::Append)
    }

    /// Checks a transaction marker against the producer's state, as Kafka does: an older
    /// producer epoch is fenced, and so is a marker from an older coordinator epoch.
    pub fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), ProducerStateError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < entry.epoch {
            return Err(ProducerStateError::InvalidProducerEpoch {
                producer_id,
                current: entry.epoch,
                got: producer_epoch,
            });
        }
        if coordinator_epoch < entry.coordinator_epoch {
            return Err(ProducerStateError::CoordinatorFenced {
                producer_id,
                current: entry.coordinator_epoch,
                got: coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Applies a COMMIT or ABORT marker appended at `h.base_offset`: the producer's open
    /// transaction (if any) ends there.
    pub fn apply_marker(
        &mut self,
        h: &BatchHeader,
        aborted: bool,
        coordinator_epoch: i32,
    ) -> CompletedTxn {
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch));
        entry.set_epoch(h.producer_epoch);
        entry.coordinator_epoch = coordinator_epoch;
        entry.last_timestamp_ms = entry.last_timestamp_ms.max(h.max_timestamp);
        let first = entry.current_txn_first_offset;
        entry.current_txn_first_offset = -1;
        if first >= 0 {
            self.ongoing.remove(&first);
        }
        CompletedTxn {
            producer_id: h.producer_id,
            first_offset: if first >= 0 { first } else { h.base_offset },
            last_offset: h.base_offset,
            aborted,
        }
    }

    /// Every producer with state here, for DescribeProducers, by producer id.
    pub fn describe(&self) -> Vec<ProducerView> {
        let mut out: Vec<ProducerView> = self
            .producers
            .iter()
            .map(|(id, e)| ProducerView {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map(|b| b.last_seq).unwrap_or(-1),
                last_timestamp_ms: e.last_timestamp_ms,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_first_offset: e.current_txn_first_offset,
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// The first offset of the oldest open transaction, if any.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// Open transactions as (producer id, first offset), oldest first.
    pub fn ongoing(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing.iter().map(|(first, pid)| (*pid, *first))
    }

    pub(super) fn rebuild_ongoing(&mut self) {
        self.ongoing = self
            .producers
            .iter()
            .filter(|(_, e)| e.current_txn_first_offset >= 0)
            .map(|(pid, e)| (e.current_txn_first_offset, *pid))
            .collect();
    }

    pub fn apply(&mut self, h: &BatchHeader, append_time_ms: i64) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch));
        entry.set_epoch(h.producer_epoch);
        if h.is_transactional() && entry.current_txn_first_offset < 0 {
            entry.current_txn_first_offset = h.base_offset;
            self.ongoing.insert(h.base_offset, h.producer_id);
        }
        if entry.batches.len() == BATCHES_KEPT {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: last_seq_of(h),
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            append_time_ms,
        });
        entry.last_timestamp_ms = entry.last_timestamp_ms.max(h.max_timestamp);
    }

    /// Drops producers silent for `expiration_ms`, never one with an open transaction.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) {
        self.producers.retain(|_, e| {
            e.current_txn_first_offset >= 0 || now_ms - e.last_timestamp_ms < expiration_ms
        });
    }

    pub fn write_snapshot(
        &self,
        dir: &Path,
        next_offset: Offset,
    ) -> Result<(), ProducerStateError> {
        snapshot::write(dir, next_offset, self)
    }

    pub fn load(
        dir: &Path,
        max_offset: Offset,
    ) -> Result<(Self, Option<Offset>), ProducerStateError> {
        snapshot::load_newest(dir, max_offset)
    }

    pub fn clean_snapshots(dir: &Path, keep_from: Offset) -> Result<(), ProducerStateError> {
        snapshot::clean(dir, keep_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{test_util::build_batch, BatchHeader};
    use proptest::prelude::*;

    fn header(pid: i64, epoch: i16, seq: i32, n: usize, base: i64) -> BatchHeader {
        let vals: Vec<&[u8]> = (0..n).map(|_| b"x".as_slice()).collect();
        let mut h = BatchHeader::parse(&build_batch(base, 1, &vals, pid, epoch, seq)).unwrap();
        h.base_offset = base;
        h
    }

    #[test]
    fn in_order_duplicate_and_gap() {
        let mut s = ProducerStateManager::new();
        let b0 = header(7, 0, 0, 3, 0);
        assert_eq!(s.check(&b0).unwrap(), SequenceCheck::Append);
        s.apply(&b0, -1);
        let b1 = header(7, 0, 3, 2, 3);
        assert_eq!(s.check(&b1).unwrap(), SequenceCheck::Append);
        s.apply(&b1, -1);
        assert_eq!(
            s.check(&header(7, 0, 0, 3, 99)).unwrap(),
            SequenceCheck::Duplicate {
                base_offset: Offset(0),
                last_offset: Offset(2),
                append_time_ms: -1
            }
        );
        assert!(matches!(
            s.check(&header(7, 0, 6, 1, 5)),
            Err(ProducerStateError::OutOfOrderSequence {
                expected: 5,
                got: 6,
                ..
            })
        ));
        assert!(matches!(
            s.check(&header(7, 0, 1, 1, 5)),
            Err(ProducerStateError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn epochs_fence_and_reset() {
        let mut s = ProducerStateManager::new();
        s.apply(&header(7, 3, 0, 1, 0), -1);
        assert!(matches!(
            s.check(&header(7, 2, 1, 1, 1)),
            Err(ProducerStateError::InvalidProducerEpoch {
                current: 3,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            s.check(&header(7, 4, 5, 1, 1)),
            Err(ProducerStateError::OutOfOrderSequence { expected: 0, .. })
        ));
        assert_eq!(
            s.check(&header(7, 4, 0, 1, 1)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn unknown_producers_and_plain_batches_are_accepted() {
        let s = ProducerStateManager::new();
        assert_eq!(
            s.check(&header(9, 0, 42, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            s.check(&header(-1, -1, -1, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut s = ProducerStateManager::new();
        s.apply(&header(1, 0, i32::MAX - 1, 2, 0), -1);
        assert_eq!(
            s.check(&header(1, 0, 0, 1, 2)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStateManager::new();
        for i in 0..6 {
            s.apply(&header(1, 0, i, 1, i as i64), -1);
        }
        assert!(matches!(
            s.check(&header(1, 0, 0, 1, 0)),
            Err(ProducerStateError::OutOfOrderSequence { .. })
        ));
        assert!(matches!(
            s.check(&header(1, 0, 1, 1, 1)).unwrap(),
            SequenceCheck::Duplicate { .. }
        ));
    }

    proptest! {
        /// A producer sending batches in order, with each batch possibly retried later (within the
        /// five in flight), gets every retry recognised as a duplicate with its original offsets,
        /// and every new batch appended.
        #[test]
        fn retries_within_the_window_are_duplicates(sizes in proptest::collection::vec(1usize..5, 1..40), retries in proptest::collection::vec((0usize..5, any::<bool>()), 1..40)) {
            let mut s = ProducerStateManager::new();
            let mut seq = 0i32;
            let mut offset = 0i64;
            let mut sent: Vec<(i32, usize, i64)> = Vec::new();
            for (i, n) in sizes.iter().enumerate() {
                let h = header(5, 1, seq, *n, offset);
                prop_assert_eq!(s.check(&h).unwrap(), SequenceCheck::Append);
                s.apply(&h, -1);
                sent.push((seq, *n, offset));
                seq += *n as i32;
                offset += *n as i64;
                if let Some((back, go)) = retries.get(i) {
                    if *go && *back < sent.len() && *back < BATCHES_KEPT {
                        let (rseq, rn, roff) = sent[sent.len() - 1 - back];
                        match s.check(&header(5, 1, rseq, rn, 999)).unwrap() {
                            SequenceCheck::Duplicate { base_offset, .. } => prop_assert_eq!(base_offset, Offset(roff)),
                            other => prop_assert!(false, "retry not a duplicate: {:?}", other),
                        }
                    }
                }
            }
        }
    }
}
