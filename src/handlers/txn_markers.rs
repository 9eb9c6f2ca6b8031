//! WriteTxnMarkers (key 27): COMMIT or ABORT markers appended to partitions, as the transaction
//! coordinator writes them and as `kafka-transactions.sh abort` (the admin client's
//! abortTransaction) sends them. Each marker is answered once it is durable.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use tokio::task::JoinSet;

use super::{Reply, RequestContext};
use crate::broker::now_ms;
use crate::error::log_error;
use crate::record::control::ControlType;
use crate::types::TopicPartition;

pub async fn handle(ctx: RequestContext, req: WriteTxnMarkersRequest) -> Reply {
    let now = now_ms();
    let mut results = Vec::with_capacity(req.markers.len());
    // (marker, topic, partition) positions of appends still to be made durable.
    let mut waits = Vec::new();
    for (m, marker) in req.markers.into_iter().enumerate() {
        let kind = if marker.transaction_result {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let mut topics = Vec::with_capacity(marker.topics.len());
        for (t, topic) in marker.topics.into_iter().enumerate() {
            let name = topic.name.0.to_string();
            let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
            for (p, index) in topic.partition_indexes.into_iter().enumerate() {
                let code = match ctx
                    .broker
                    .partition(&TopicPartition::new(name.clone(), index))
                {
                    None => ResponseError::UnknownTopicOrPartition.code(),
                    Some(part) => match part.log.append_marker(
                        marker.producer_id.0,
                        marker.producer_epoch,
                        kind,
                        marker.coordinator_epoch,
                        part.leader_epoch(),
                        now,
                    ) {
                        Ok(at) => {
                            if !part.log.acknowledgeable(at.next()) {
                                waits.push((m, t, p, part.clone(), at.next()));
                            }
                            0
                        }
                        Err(e) => {
                            tracing::debug!(partition = %name, index, error = %e, "marker refused");
                            log_error(&e).code()
                        }
                    },
                };
                partitions.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(index)
                        .with_error_code(code),
                );
            }
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(topic.name)
                    .with_partitions(partitions),
            );
        }
        results.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(marker.producer_id)
                .with_topics(topics),
        );
    }
    Reply::Later(Box::pin(async move {
        let mut set = JoinSet::new();
        for (m, t, p, part, end) in waits {
            set.spawn(async move { (m, t, p, part.log.wait_durable(end).await) });
        }
        while let Some(done) = set.join_next().await {
            if let Ok((m, t, p, Err(e))) = done {
                tracing::error!(error = %e, "flush of a transaction marker failed");
                results[m].topics[t].partitions[p].error_code = log_error(&e).code();
            }
        }
        ctx.respond(&WriteTxnMarkersResponse::default().with_markers(results))
            .map(Into::into)
    }))
}
