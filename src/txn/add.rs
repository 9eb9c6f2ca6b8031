//! AddPartitionsToTxn (and its verify-only form, KIP-890 part 1) and AddOffsetsToTxn: a
//! transaction starts, and its timeout starts running, at the first partition or group added.

use std::collections::BTreeMap;

use super::api::{AddOffsets, AddPartitions, TxnVersion};
use super::error::ErrorCode;
use super::state::TxnState;
use super::{Effects, TxnCoordinator};
use crate::types::{ProducerEpoch, ProducerId, TopicPartition};

/// What a transaction gains: partitions or a group's offsets.
enum Addition<'a> {
    Partitions(&'a std::collections::BTreeSet<TopicPartition>),
    Group(&'a str),
}

impl TxnCoordinator {
    pub(super) fn add_partitions(
        &mut self,
        now: i64,
        r: AddPartitions,
        fx: &mut Effects,
    ) -> BTreeMap<TopicPartition, ErrorCode> {
        let all = |e: ErrorCode| r.partitions.iter().map(|p| (p.clone(), e)).collect();
        if r.verify_only {
            return match self.check_producer(&r.transactional_id, r.producer_id, r.producer_epoch) {
                Err(e) => all(e),
                Ok(()) => {
                    let m = &self.txns[&r.transactional_id];
                    r.partitions
                        .iter()
                        .map(|p| {
                            // Groups live in the one offsets partition, as they would in
                            // Kafka's __consumer_offsets with a single partition.
                            let in_txn = m.partitions.contains(p)
                                || (*p == super::offsets_partition() && !m.groups.is_empty());
                            let e = if in_txn {
                                ErrorCode::None
                            } else {
                                ErrorCode::TransactionAbortable
                            };
                            (p.clone(), e)
                        })
                        .collect()
                }
            };
        }
        all(self.add(
            now,
            &r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            Addition::Partitions(&r.partitions),
            r.client_version,
            fx,
        ))
    }

    pub(super) fn add_offsets(&mut self, now: i64, r: AddOffsets, fx: &mut Effects) -> ErrorCode {
        self.add(
            now,
            &r.transactional_id,
            r.producer_id,
            r.producer_epoch,
            Addition::Group(&r.group_id),
            r.client_version,
            fx,
        )
    }

    /// The checks every addition and verification makes, in Kafka's order. Ok means the id
    /// exists with this producer at this epoch and no outcome is being written.
    fn check_producer(
        &self,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    ) -> Result<(), ErrorCode> {
        if transactional_id.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        let Some(m) = self.txns.get(transactional_id) else {
            return Err(ErrorCode::InvalidProducerIdMapping);
        };
        if m.producer_id != producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if m.producer_epoch != producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if m.state.is_prepared() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        now: i64,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        addition: Addition<'_>,
        client_version: TxnVersion,
        fx: &mut Effects,
    ) -> ErrorCode {
        if let Err(e) = self.check_producer(transactional_id, producer_id, producer_epoch) {
            return e;
        }
        let Some(m) = self.txns.get_mut(transactional_id) else {
            return ErrorCode::InvalidProducerIdMapping;
        };
        let already = match &addition {
            Addition::Partitions(ps) => ps.is_subset(&m.partitions),
            Addition::Group(g) => m.groups.contains(*g),
        };
        if m.state == TxnState::Ongoing && already {
            // Nothing changes: answered at once, as Kafka does.
            return ErrorCode::None;
        }
        if matches!(
            m.state,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        ) {
            m.start_ms = now;
        }
        match addition {
            Addition::Partitions(ps) => m.partitions.extend(ps.iter().cloned()),
            Addition::Group(g) => {
                m.groups.insert(g.to_string());
            }
        }
        m.state = TxnState::Ongoing;
        m.last_update_ms = now;
        m.client_version = client_version;
        self.persist(transactional_id, fx);
        ErrorCode::None
    }
}
