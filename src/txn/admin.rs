//! DescribeTransactions and ListTransactions.

use std::collections::BTreeSet;

use super::api::{DescribedTxn, ListTransactions, ListedTxns};
use super::error::ErrorCode;
use super::state::TxnState;
use super::{offsets_partition, TxnCoordinator};
use crate::types::{ProducerEpoch, ProducerId};

impl TxnCoordinator {
    pub(super) fn describe(&self, ids: &[String]) -> Vec<DescribedTxn> {
        ids.iter()
            .map(|id| {
                let mut out = DescribedTxn {
                    transactional_id: id.clone(),
                    error: ErrorCode::None,
                    state: None,
                    producer_id: ProducerId::NONE,
                    producer_epoch: ProducerEpoch(-1),
                    timeout_ms: 0,
                    start_ms: -1,
                    partitions: BTreeSet::new(),
                };
                if id.is_empty() {
                    out.error = ErrorCode::InvalidRequest;
                    return out;
                }
                match self.txns.get(id).filter(|m| m.state != TxnState::Dead) {
                    None => out.error = ErrorCode::TransactionalIdNotFound,
                    Some(m) => {
                        out.state = Some(m.state);
                        out.producer_id = m.producer_id;
                        out.producer_epoch = m.producer_epoch;
                        out.timeout_ms = m.timeout_ms;
                        out.start_ms = m.start_ms;
                        out.partitions = m.partitions.clone();
                        if !m.groups.is_empty() {
                            out.partitions.insert(offsets_partition());
                        }
                    }
                }
                out
            })
            .collect()
    }

    pub(super) fn list(&self, now: i64, filter: &ListTransactions) -> ListedTxns {
        let mut out = ListedTxns::default();
        let mut states = Vec::new();
        for name in &filter.states {
            match TxnState::from_name(name) {
                Some(s) => states.push(s),
                None => out.unknown_state_filters.push(name.clone()),
            }
        }
        for (id, m) in &self.txns {
            let included = m.state != TxnState::Dead
                && (filter.producer_ids.is_empty() || filter.producer_ids.contains(&m.producer_id))
                && (filter.states.is_empty() || states.contains(&m.state))
                && !(filter.duration_filter_ms >= 0
                    && now.saturating_sub(m.start_ms) <= filter.duration_filter_ms);
            if included {
                out.transactions.push((id.clone(), m.producer_id, m.state));
            }
        }
        out
    }
}
