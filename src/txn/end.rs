//! Ending transactions: EndTxn from clients (Transactions V1 and V2 rules), aborts the
//! coordinator starts itself (fencing by a new producer instance, timeouts), completion once
//! the markers are written, and expiry of idle transactional ids.

use super::api::{EndTxn, MarkersWritten, ProducerAnswer, TxnResult, TxnVersion};
use super::error::ErrorCode;
use super::records::TxnRecord;
use super::state::{TxnState, EPOCH_EXHAUSTED};
use super::{Effects, TxnCoordinator};
use crate::types::{ProducerEpoch, ProducerId};

impl TxnCoordinator {
    pub(super) fn end_txn(&mut self, now: i64, r: EndTxn, fx: &mut Effects) -> ProducerAnswer {
        if r.transactional_id.is_empty() {
            return ProducerAnswer::error(ErrorCode::InvalidRequest);
        }
        let Some(m) = self.txns.get(&r.transactional_id) else {
            return ProducerAnswer::error(ErrorCode::InvalidProducerIdMapping);
        };
        let wanted = match r.result {
            TxnResult::Commit => TxnState::PrepareCommit,
            TxnResult::Abort => TxnState::PrepareAbort,
        };
        let done = match r.result {
            TxnResult::Commit => TxnState::CompleteCommit,
            TxnResult::Abort => TxnState::CompleteAbort,
        };
        if !r.client_version.bumps_epoch() {
            // V1: the client's epoch must be the current one; a completed transaction with the
            // same outcome is a retry.
            if m.producer_id != r.producer_id {
                return ProducerAnswer::error(ErrorCode::InvalidProducerIdMapping);
            }
            if m.producer_epoch != r.producer_epoch {
                return ProducerAnswer::error(ErrorCode::ProducerFenced);
            }
            return match m.state {
                TxnState::Ongoing => {
                    match self.prepare(now, &r.transactional_id, wanted, TxnVersion::V1, false, fx)
                    {
                        Ok(_) => ProducerAnswer::error(ErrorCode::None),
                        Err(e) => ProducerAnswer::error(e),
                    }
                }
                s if s == done => ProducerAnswer::error(ErrorCode::None),
                s if s == wanted => ProducerAnswer::error(ErrorCode::ConcurrentTransactions),
                _ => ProducerAnswer::error(ErrorCode::InvalidTxnState),
            };
        }
        // V2: every end bumps the epoch, so a request at the current epoch is the next end and
        // a request one epoch behind is a retry of the last one.
        let epoch = i32::from(r.producer_epoch.0);
        let current = i32::from(m.producer_epoch.0);
        let retry_on_overflow = m.prev_producer_id == r.producer_id
            && r.producer_epoch.0 == EPOCH_EXHAUSTED
            && m.producer_epoch.0 == 0;
        let retry_on_bump = current == epoch + 1;
        let valid_epoch = match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
            TxnState::CompleteCommit | TxnState::CompleteAbort => {
                retry_on_bump || retry_on_overflow || epoch == current
            }
            _ => epoch == current,
        };
        let is_retry = retry_on_bump || retry_on_overflow;
        if m.producer_id != r.producer_id && !retry_on_overflow {
            return ProducerAnswer::error(ErrorCode::InvalidProducerIdMapping);
        }
        if !valid_epoch {
            return ProducerAnswer::error(ErrorCode::ProducerFenced);
        }
        let current_answer = ProducerAnswer::ok(m.producer_id, m.producer_epoch);
        let v2 = TxnVersion::V2;
        let outcome = match (m.state, r.result) {
            (TxnState::Ongoing, _) => self.prepare(now, &r.transactional_id, wanted, v2, false, fx),
            (TxnState::CompleteCommit, TxnResult::Commit)
            | (TxnState::CompleteAbort, TxnResult::Abort)
                if is_retry =>
            {
                return current_answer;
            }
            // An abort with nothing added (V2 allows it): decided and completed alike.
            (
                TxnState::CompleteCommit | TxnState::CompleteAbort | TxnState::Empty,
                TxnResult::Abort,
            ) if !is_retry => self.prepare(now, &r.transactional_id, wanted, v2, true, fx),
            (TxnState::PrepareCommit, TxnResult::Commit)
            | (TxnState::PrepareAbort, TxnResult::Abort) => Err(ErrorCode::ConcurrentTransactions),
            _ => Err(ErrorCode::InvalidTxnState),
        };
        match outcome {
            Ok((pid, epoch)) => ProducerAnswer::ok(pid, epoch),
            Err(e) => ProducerAnswer::error(e),
        }
    }

    /// Decides the id's transaction: moves it to `state` (PrepareCommit or PrepareAbort),
    /// persists it and issues its marker work. Returns the producer id and epoch the id will
    /// have once complete (what EndTxn v5 answers).
    fn prepare(
        &mut self,
        now: i64,
        transactional_id: &str,
        state: TxnState,
        version: TxnVersion,
        nothing_added: bool,
        fx: &mut Effects,
    ) -> Result<(ProducerId, ProducerEpoch), ErrorCode> {
        let exhausted = self
            .txns
            .get(transactional_id)
            .is_some_and(|m| m.epoch_exhausted());
        let next_producer_id = if version.bumps_epoch() && exhausted {
            self.ids
                .next_producer_id()
                .map_err(|_| ErrorCode::CoordinatorNotAvailable)?
        } else {
            ProducerId::NONE
        };
        self.prepare_with(
            now,
            transactional_id,
            state,
            version,
            next_producer_id,
            nothing_added,
            fx,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare_with(
        &mut self,
        now: i64,
        transactional_id: &str,
        state: TxnState,
        version: TxnVersion,
        next_producer_id: ProducerId,
        nothing_added: bool,
        fx: &mut Effects,
    ) -> Result<(ProducerId, ProducerEpoch), ErrorCode> {
        let Some(m) = self.txns.get_mut(transactional_id) else {
            return Err(ErrorCode::InvalidProducerIdMapping);
        };
        if version.bumps_epoch() {
            // At i16::MAX only an abort can happen (a fence already used the last epoch); it
            // goes through without a bump so the id can recover.
            if m.producer_epoch.0 < i16::MAX {
                m.last_producer_epoch = m.producer_epoch;
                m.producer_epoch = ProducerEpoch(m.producer_epoch.0 + 1);
            } else {
                m.last_producer_epoch = m.producer_epoch;
            }
        }
        if nothing_added {
            m.start_ms = now;
        }
        m.next_producer_id = next_producer_id;
        m.last_update_ms = now;
        m.client_version = version;
        m.state = state;
        let answer = m.completed_producer();
        self.persist(transactional_id, fx);
        let m = &self.txns[transactional_id];
        if m.partitions.is_empty() && m.groups.is_empty() {
            // No markers to write: the Complete record goes in the same append.
            let done = super::api::MarkersWritten {
                transactional_id: transactional_id.to_string(),
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
            };
            self.markers_written(now, &done, fx);
        } else {
            fx.tasks.push(self.marker_work(transactional_id, m));
        }
        Ok(answer)
    }

    /// Fences the producer of an open transaction and aborts it (Kafka's PrepareEpochFence
    /// followed by PrepareAbort): the epoch is bumped once for the fence, and once more under
    /// Transactions V2 for the end, as Kafka does with its own transaction version.
    pub(super) fn fence_and_abort(&mut self, now: i64, transactional_id: &str, fx: &mut Effects) {
        let Some(m) = self.txns.get_mut(transactional_id) else {
            return;
        };
        if m.state != TxnState::Ongoing {
            return;
        }
        if m.producer_epoch.0 < i16::MAX {
            m.producer_epoch = ProducerEpoch(m.producer_epoch.0 + 1);
        }
        m.last_producer_epoch = ProducerEpoch(-1);
        let version = self.cfg.server_version;
        // A fence never rotates the producer id; the client's next InitProducerId does.
        let _ = self.prepare_with(
            now,
            transactional_id,
            TxnState::PrepareAbort,
            version,
            ProducerId::NONE,
            false,
            fx,
        );
    }

    /// The partition side wrote every marker of the transaction decided at this producer id
    /// and epoch: the transaction completes. Stale or repeated reports change nothing.
    pub(super) fn markers_written(&mut self, now: i64, done: &MarkersWritten, fx: &mut Effects) {
        let Some(m) = self.txns.get_mut(&done.transactional_id) else {
            return;
        };
        if !m.state.is_prepared()
            || m.producer_id != done.producer_id
            || m.producer_epoch != done.producer_epoch
        {
            return;
        }
        m.state = if m.state == TxnState::PrepareCommit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        if m.client_version.bumps_epoch() {
            m.prev_producer_id = m.producer_id;
            if m.next_producer_id != ProducerId::NONE {
                m.producer_id = m.next_producer_id;
                m.producer_epoch = ProducerEpoch(0);
            }
        }
        m.next_producer_id = ProducerId::NONE;
        m.partitions.clear();
        m.groups.clear();
        m.last_update_ms = now;
        self.persist(&done.transactional_id, fx);
    }

    /// Aborts every open transaction whose timeout (from its first added partition) passed.
    pub(super) fn abort_timed_out(&mut self, now: i64, fx: &mut Effects) {
        let due: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, m)| {
                m.state == TxnState::Ongoing
                    && m.start_ms.saturating_add(i64::from(m.timeout_ms)) < now
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            tracing::info!(transactional_id = %id, "aborting a transaction past its timeout");
            self.fence_and_abort(now, &id, fx);
        }
    }

    /// Forgets ids idle (no transaction open) for transactional.id.expiration.ms.
    pub(super) fn expire_ids(&mut self, now: i64, fx: &mut Effects) {
        let cutoff = now.saturating_sub(self.cfg.id_expiration_ms);
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, m)| m.state.may_expire() && m.last_update_ms <= cutoff)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.txns.remove(&id);
            fx.persist.push(TxnRecord {
                transactional_id: id,
                value: None,
            });
        }
    }
}
