//! The broker's side of the transaction coordinator: producer ids from the broker's allocator,
//! and the `MarkerWriter` that ends a transaction in its partitions and groups.

use std::sync::{Arc, OnceLock, Weak};

use super::{now_ms, Broker};
use crate::coordinator::TaskFuture;
use crate::group::api::{GroupRequest, TxnMarker};
use crate::record::control::ControlType;
use crate::txn::api::TxnResult;
use crate::txn::markers::{MarkerError, MarkerWork, MarkerWriter};
use crate::txn::{NoProducerId, ProducerIdSource};
use crate::types::ProducerId;

/// A late-bound reference to the broker: the coordinator is built while the broker is opened,
/// before the `Arc` holding it exists.
#[derive(Default)]
pub struct BrokerLink(OnceLock<Weak<Broker>>);

impl BrokerLink {
    pub fn bind(&self, broker: &Arc<Broker>) {
        let _ = self.0.set(Arc::downgrade(broker));
    }

    fn broker(&self) -> Option<Arc<Broker>> {
        self.0.get().and_then(Weak::upgrade)
    }
}

impl ProducerIdSource for BrokerLink {
    fn next_producer_id(&self) -> Result<ProducerId, NoProducerId> {
        let broker = self.broker().ok_or(NoProducerId)?;
        broker.next_producer_id().map_err(|e| {
            tracing::error!(error = %e, "producer id allocation failed");
            NoProducerId
        })
    }
}

impl MarkerWriter for BrokerLink {
    fn write_markers(&self, work: MarkerWork) -> TaskFuture<Result<(), MarkerError>> {
        let broker = self.broker();
        Box::pin(async move {
            let broker = broker.ok_or_else(|| MarkerError("the broker is stopping".into()))?;
            write_markers(&broker, &work).await
        })
    }
}

/// Markers into every partition of the transaction, each durable, then the outcome applied to
/// the groups' pending offsets (durable in the group log before the group answers). A partition
/// where the producer has nothing open (its marker already written on an earlier try, or nothing
/// ever produced there) and a deleted partition need nothing.
async fn write_markers(broker: &Broker, work: &MarkerWork) -> Result<(), MarkerError> {
    let kind = match work.result {
        TxnResult::Commit => ControlType::Commit,
        TxnResult::Abort => ControlType::Abort,
    };
    // The outcome is durable (its Prepare record) before any marker work starts.
    crate::crash_points::hit("txn-before-markers");
    let now = now_ms();
    let mut waits = Vec::new();
    for tp in &work.partitions {
        let Some(part) = broker.partition(tp) else {
            continue;
        };
        let written = part
            .log
            .append_marker_if_open(
                work.producer_id.0,
                work.producer_epoch.0,
                kind,
                work.coordinator_epoch,
                part.leader_epoch(),
                now,
            )
            .map_err(|e| MarkerError(format!("{tp}: {e}")))?;
        if let Some(at) = written {
            waits.push((part, at.next()));
            // One partition has its marker, the others not yet.
            crate::crash_points::hit("txn-between-markers");
        }
    }
    for (part, end) in waits {
        part.log
            .wait_durable(end)
            .await
            .map_err(|e| MarkerError(format!("{}: {e}", part.tp)))?;
    }
    crate::crash_points::hit("txn-before-group-markers");
    if !work.groups.is_empty() {
        let marker = TxnMarker {
            producer_id: work.producer_id.0,
            commit: work.result == TxnResult::Commit,
        };
        broker
            .groups()
            .call(GroupRequest::TxnMarker(marker))
            .await
            .map_err(|_| MarkerError("the group coordinator is unavailable".into()))?;
    }
    // Every marker is durable; the coordinator has not yet recorded the transaction complete.
    crate::crash_points::hit("txn-after-markers");
    Ok(())
}
