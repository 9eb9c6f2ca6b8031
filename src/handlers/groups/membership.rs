//! JoinGroup (11), SyncGroup (14), Heartbeat (12), LeaveGroup (13): the classic rebalance
//! protocol. Joins and follower syncs are answered when the rebalance gets there, so all four
//! answer later.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};

use super::{answer, code, later, opt, s, submit, UNAVAILABLE};
use crate::group::{self as g, GroupRequest, GroupResponse};
use crate::handlers::{Reply, RequestContext};

pub async fn join(ctx: RequestContext, req: JoinGroupRequest) -> Reply {
    let v = ctx.version();
    let request = g::JoinGroup {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout; Kafka uses the session timeout.
        rebalance_timeout_ms: if v >= 1 {
            req.rebalance_timeout_ms
        } else {
            req.session_timeout_ms
        },
        require_known_member_id: v >= 4,
        reason: req.reason.as_ref().map(|r| r.to_string()),
        topics: ctx.broker.topic_image(),
    };
    let member_id = request.member_id.clone();
    let pending = submit(&ctx, GroupRequest::Join(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::Join(r)) => r,
            _ => g::JoinGroupResponse::error(&member_id, UNAVAILABLE),
        };
        c.respond(&join_response(r, c.version()))
    })
}

fn join_response(r: g::JoinGroupResponse, v: i16) -> JoinGroupResponse {
    let members = r
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(s(&m.member_id))
                .with_group_instance_id(if v >= 5 {
                    opt(&m.group_instance_id)
                } else {
                    None
                })
                .with_metadata(m.metadata)
        })
        .collect();
    // Before v7 the protocol name is a non-nullable string and there is no protocol type.
    let protocol_name = match (&r.protocol_name, v >= 7) {
        (Some(p), _) => Some(s(p)),
        (None, true) => None,
        (None, false) => Some(s("")),
    };
    JoinGroupResponse::default()
        .with_error_code(code(r.error))
        .with_generation_id(r.generation_id)
        .with_protocol_type(if v >= 7 { opt(&r.protocol_type) } else { None })
        .with_protocol_name(protocol_name)
        .with_leader(s(&r.leader))
        .with_skip_assignment(v >= 9 && r.skip_assignment)
        .with_member_id(s(&r.member_id))
        .with_members(members)
}

pub async fn sync(ctx: RequestContext, req: SyncGroupRequest) -> Reply {
    let v = ctx.version();
    if v >= 5 && (req.protocol_type.is_none() || req.protocol_name.is_none()) {
        // From v5 both are mandatory; Kafka refuses before looking at the group.
        return ctx.reply(
            &SyncGroupResponse::default()
                .with_error_code(code(g::ErrorCode::InconsistentGroupProtocol)),
        );
    }
    let request = g::SyncGroup {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
        protocol_type: req.protocol_type.as_ref().map(|p| p.to_string()),
        protocol_name: req.protocol_name.as_ref().map(|p| p.to_string()),
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
        topics: ctx.broker.topic_image(),
    };
    let pending = submit(&ctx, GroupRequest::Sync(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::Sync(r)) => r,
            _ => g::SyncGroupResponse::error(UNAVAILABLE),
        };
        let resp = SyncGroupResponse::default()
            .with_error_code(code(r.error))
            .with_protocol_type(if v >= 5 { opt(&r.protocol_type) } else { None })
            .with_protocol_name(if v >= 5 { opt(&r.protocol_name) } else { None })
            .with_assignment(r.assignment);
        c.respond(&resp)
    })
}

pub async fn heartbeat(ctx: RequestContext, req: HeartbeatRequest) -> Reply {
    let request = g::Heartbeat {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|i| i.to_string()),
    };
    let pending = submit(&ctx, GroupRequest::Heartbeat(request)).await;
    later(async move {
        let c = ctx;
        let error = match answer(pending).await {
            Some(GroupResponse::Heartbeat(r)) => r.error,
            _ => UNAVAILABLE,
        };
        c.respond(&HeartbeatResponse::default().with_error_code(code(error)))
    })
}

pub async fn leave(ctx: RequestContext, req: LeaveGroupRequest) -> Reply {
    let v = ctx.version();
    // v0-2 name one member; v3+ (KIP-345) a batch with instance ids.
    let members = if v >= 3 {
        req.members
            .into_iter()
            .map(|m| g::LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                reason: m.reason.as_ref().map(|r| r.to_string()),
            })
            .collect()
    } else {
        vec![g::LeavingMember {
            member_id: req.member_id.to_string(),
            group_instance_id: None,
            reason: None,
        }]
    };
    let request = g::LeaveGroup {
        group_id: req.group_id.0.to_string(),
        members,
    };
    let pending = submit(&ctx, GroupRequest::Leave(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::Leave(r)) => r,
            _ => g::LeaveGroupResponse {
                error: UNAVAILABLE,
                members: Vec::new(),
            },
        };
        let resp = if v >= 3 {
            LeaveGroupResponse::default()
                .with_error_code(code(r.error))
                .with_members(
                    r.members
                        .into_iter()
                        .map(|m| {
                            MemberResponse::default()
                                .with_member_id(s(&m.member_id))
                                .with_group_instance_id(opt(&m.group_instance_id))
                                .with_error_code(code(m.error))
                        })
                        .collect(),
                )
        } else {
            let error = if r.error.is_ok() {
                r.members.first().map_or(r.error, |m| m.error)
            } else {
                r.error
            };
            LeaveGroupResponse::default().with_error_code(code(error))
        };
        c.respond(&resp)
    })
}
