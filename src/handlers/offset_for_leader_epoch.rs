//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, used by consumers to validate
//! their position after a leader change (KIP-320).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::{Reply, RequestContext};
use crate::types::TopicPartition;

pub async fn handle(ctx: RequestContext, req: OffsetForLeaderEpochRequest) -> Reply {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let name = t.topic.0.to_string();
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let base = EpochEndOffset::default()
                    .with_partition(p.partition)
                    .with_leader_epoch(-1)
                    .with_end_offset(-1);
                let Some(part) = ctx
                    .broker
                    .partition(&TopicPartition::new(name.clone(), p.partition))
                else {
                    return base.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                };
                let epoch = part.leader_epoch();
                if let Err(e) = crate::error::check_leader_epoch(p.current_leader_epoch, epoch) {
                    return base.with_error_code(e.code());
                }
                let (found_epoch, end) = part.log.end_offset_for_epoch(p.leader_epoch);
                base.with_leader_epoch(found_epoch)
                    .with_end_offset(end.value())
            })
            .collect();
        topics.push(
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions),
        );
    }
    ctx.reply(&OffsetForLeaderEpochResponse::default().with_topics(topics))
}
