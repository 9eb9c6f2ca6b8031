//! InitProducerId with a transactional id: a new id gets a producer id; an existing one gets
//! its epoch bumped (fencing any older instance), aborting an open transaction first; KIP-360
//! lets a producer re-initialise with the id and epoch it holds; an exhausted epoch rotates to
//! a new producer id.

use super::api::{InitProducerId, ProducerAnswer};
use super::error::ErrorCode;
use super::state::{TxnMetadata, TxnState, EPOCH_EXHAUSTED};
use super::{Effects, TxnCoordinator};
use crate::types::ProducerEpoch;

impl TxnCoordinator {
    pub(super) fn init_producer_id(
        &mut self,
        now: i64,
        r: InitProducerId,
        fx: &mut Effects,
    ) -> ProducerAnswer {
        if r.transactional_id.is_empty() {
            return ProducerAnswer::error(ErrorCode::InvalidRequest);
        }
        if r.transaction_timeout_ms <= 0 || r.transaction_timeout_ms > self.cfg.max_timeout_ms {
            return ProducerAnswer::error(ErrorCode::InvalidTransactionTimeout);
        }
        let mut m = match self.txns.get(&r.transactional_id) {
            Some(m) => m.clone(),
            None => match self.ids.next_producer_id() {
                Ok(pid) => TxnMetadata::new(pid, r.transaction_timeout_ms, now),
                Err(_) => return ProducerAnswer::error(ErrorCode::CoordinatorNotAvailable),
            },
        };
        if let Some((pid, epoch)) = r.expected {
            // Fenced unless the id is brand new, the client holds the current producer id (its
            // epoch is checked below), or it holds the previous one at an exhausted epoch: a
            // retry of a rotation whose answer it never got.
            let valid = m.producer_epoch.0 == -1
                || pid == m.producer_id
                || (pid == m.prev_producer_id && epoch.0 >= EPOCH_EXHAUSTED);
            if !valid {
                return ProducerAnswer::error(ErrorCode::ProducerFenced);
            }
        }
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                ProducerAnswer::error(ErrorCode::ConcurrentTransactions)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let rotate =
                    m.epoch_exhausted() && r.expected.is_none_or(|(_, e)| e == m.producer_epoch);
                if rotate {
                    let Ok(new_pid) = self.ids.next_producer_id() else {
                        return ProducerAnswer::error(ErrorCode::CoordinatorNotAvailable);
                    };
                    m.last_producer_epoch = if r.expected.is_some() {
                        m.producer_epoch
                    } else {
                        ProducerEpoch(-1)
                    };
                    m.prev_producer_id = m.producer_id;
                    m.producer_id = new_pid;
                    m.producer_epoch = ProducerEpoch(0);
                } else {
                    let bumped = ProducerEpoch(m.producer_epoch.0.saturating_add(1));
                    match r.expected {
                        None => {
                            m.producer_epoch = bumped;
                            m.last_producer_epoch = ProducerEpoch(-1);
                        }
                        Some((_, e)) if m.producer_epoch.0 == -1 || e == m.producer_epoch => {
                            m.last_producer_epoch = m.producer_epoch;
                            m.producer_epoch = bumped;
                        }
                        // A retry of a bump whose answer was lost: the same epoch again.
                        Some((_, e)) if e == m.last_producer_epoch => {}
                        Some(_) => return ProducerAnswer::error(ErrorCode::ProducerFenced),
                    }
                    m.prev_producer_id = m.producer_id;
                }
                m.timeout_ms = r.transaction_timeout_ms;
                m.state = TxnState::Empty;
                m.partitions.clear();
                m.groups.clear();
                m.start_ms = -1;
                m.last_update_ms = now;
                let answer = ProducerAnswer::ok(m.producer_id, m.producer_epoch);
                self.txns.insert(r.transactional_id.clone(), m);
                self.persist(&r.transactional_id, fx);
                answer
            }
            TxnState::Ongoing => {
                // Abort the open transaction under a bumped epoch the client never sees; its
                // retry after CONCURRENT_TRANSACTIONS bumps once more (or rotates the id).
                self.txns.insert(r.transactional_id.clone(), m);
                self.fence_and_abort(now, &r.transactional_id, fx);
                ProducerAnswer::error(ErrorCode::ConcurrentTransactions)
            }
            // Never at rest in the map; a retry finds a settled state.
            TxnState::Dead | TxnState::PrepareEpochFence => {
                ProducerAnswer::error(ErrorCode::ConcurrentTransactions)
            }
        }
    }
}
