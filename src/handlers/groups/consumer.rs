//! ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69): the KIP-848 consumer protocol.
//! The coordinator gets the broker's current topic image with each request, so assignments
//! follow topics being created, deleted or growing partitions.

use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribeAssignment, DescribedGroup, Member,
    TopicPartitions as DescribeTopicPartitions,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse, GroupId, TopicName,
};

use super::{answer, code, later, opt, s, submit, UNAVAILABLE};
use crate::group::{self as g, GroupRequest, GroupResponse};
use crate::handlers::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use crate::handlers::{Reply, RequestContext};

/// READ, DELETE and DESCRIBE (AclOperation codes 3, 6, 8), as for classic groups.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub async fn heartbeat(ctx: RequestContext, req: ConsumerGroupHeartbeatRequest) -> Reply {
    let request = g::ConsumerGroupHeartbeat {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.as_ref().map(|i| i.to_string()),
        rack_id: req.rack_id.as_ref().map(|r| r.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|ns| ns.into_iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: req.subscribed_topic_regex.as_ref().map(|r| r.to_string()),
        server_assignor: req.server_assignor.as_ref().map(|a| a.to_string()),
        owned: req.topic_partitions.map(|tps| {
            tps.into_iter()
                .map(|tp| (tp.topic_id, tp.partitions))
                .collect()
        }),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        api_version: ctx.version(),
        topics: ctx.broker.topic_image(),
    };
    tracing::debug!(
        member = %request.member_id,
        epoch = request.member_epoch,
        rebalance_timeout_ms = request.rebalance_timeout_ms,
        names = ?request.subscribed_topic_names,
        regex = ?request.subscribed_topic_regex,
        owned = ?request.owned,
        "ConsumerGroupHeartbeat"
    );
    let member_id = request.member_id.clone();
    let pending = submit(&ctx, GroupRequest::ConsumerHeartbeat(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::ConsumerHeartbeat(r)) => r,
            _ => g::ConsumerGroupHeartbeatResponse::error(UNAVAILABLE, "coordinator unavailable"),
        };
        let member = r.member_id.clone().or_else(|| {
            // Errors keep the id the member sent, so it can retry under it.
            Some(member_id).filter(|m| !m.is_empty())
        });
        let assignment = r.assignment.map(|a| {
            Assignment::default().with_topic_partitions(
                a.into_iter()
                    .map(|(t, ps)| {
                        TopicPartitions::default()
                            .with_topic_id(t)
                            .with_partitions(ps)
                    })
                    .collect(),
            )
        });
        let resp = ConsumerGroupHeartbeatResponse::default()
            .with_error_code(code(r.error))
            .with_error_message(opt(&r.error_message))
            .with_member_id(opt(&member))
            .with_member_epoch(r.member_epoch)
            .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
            .with_assignment(assignment);
        c.respond(&resp)
    })
}

fn named(parts: g::NamedPartitions) -> DescribeAssignment {
    DescribeAssignment::default().with_topic_partitions(
        parts
            .into_iter()
            .map(|(id, name, ps)| {
                DescribeTopicPartitions::default()
                    .with_topic_id(id)
                    .with_topic_name(TopicName(s(&name)))
                    .with_partitions(ps)
            })
            .collect(),
    )
}

pub async fn describe(ctx: RequestContext, req: ConsumerGroupDescribeRequest) -> Reply {
    let ids: Vec<String> = req.group_ids.iter().map(|g| g.0.to_string()).collect();
    let operations = if req.include_authorized_operations {
        GROUP_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let pending = submit(
        &ctx,
        GroupRequest::ConsumerDescribe(g::ConsumerGroupDescribe {
            group_ids: ids.clone(),
            topics: ctx.broker.topic_image(),
        }),
    )
    .await;
    later(async move {
        let c = ctx;
        let groups: Vec<DescribedGroup> = match answer(pending).await {
            Some(GroupResponse::ConsumerDescribe(r)) => r
                .groups
                .into_iter()
                .map(|d| {
                    let members = d
                        .members
                        .into_iter()
                        .map(|m| {
                            Member::default()
                                .with_member_id(s(&m.member_id))
                                .with_instance_id(opt(&m.instance_id))
                                .with_rack_id(opt(&m.rack_id))
                                .with_member_epoch(m.member_epoch)
                                .with_client_id(s(&m.client_id))
                                .with_client_host(s(&m.client_host))
                                .with_subscribed_topic_names(
                                    m.subscribed_topic_names
                                        .iter()
                                        .map(|n| TopicName(s(n)))
                                        .collect(),
                                )
                                .with_subscribed_topic_regex(opt(&m.subscribed_topic_regex))
                                .with_assignment(named(m.assignment))
                                .with_target_assignment(named(m.target_assignment))
                                // v1: 0 = classic protocol, 1 = consumer protocol.
                                .with_member_type(match (c.version() >= 1, m.classic) {
                                    (false, _) => -1,
                                    (true, true) => 0,
                                    (true, false) => 1,
                                })
                        })
                        .collect();
                    DescribedGroup::default()
                        .with_error_code(code(d.error))
                        .with_error_message(opt(&d.error_message))
                        .with_group_id(GroupId(s(&d.group_id)))
                        .with_group_state(s(&d.group_state))
                        .with_group_epoch(d.group_epoch)
                        .with_assignment_epoch(d.assignment_epoch)
                        .with_assignor_name(s(&d.assignor_name))
                        .with_members(members)
                        .with_authorized_operations(if d.error.is_ok() {
                            operations
                        } else {
                            AUTHORIZED_OPERATIONS_OMITTED
                        })
                })
                .collect(),
            _ => ids
                .iter()
                .map(|id| {
                    DescribedGroup::default()
                        .with_error_code(code(UNAVAILABLE))
                        .with_group_id(GroupId(s(id)))
                })
                .collect(),
        };
        c.respond(&ConsumerGroupDescribeResponse::default().with_groups(groups))
    })
}
