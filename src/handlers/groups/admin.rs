//! DescribeGroups (15), ListGroups (16), DeleteGroups (42).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse,
};

use super::{answer, code, later, opt, s, submit, UNAVAILABLE};
use crate::group::{self as g, ErrorCode, GroupRequest, GroupResponse};
use crate::handlers::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use crate::handlers::{Reply, RequestContext};

/// READ, DELETE and DESCRIBE (AclOperation codes 3, 6, 8): everything a group allows, since
/// this broker has no authorizer.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub async fn describe(ctx: RequestContext, req: DescribeGroupsRequest) -> Reply {
    let v = ctx.version();
    let ids: Vec<String> = req.groups.iter().map(|g| g.0.to_string()).collect();
    let operations = if v >= 3 && req.include_authorized_operations {
        GROUP_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let pending = submit(
        &ctx,
        GroupRequest::Describe(g::DescribeGroups {
            group_ids: ids.clone(),
        }),
    )
    .await;
    later(async move {
        let c = ctx;
        let groups = match answer(pending).await {
            Some(GroupResponse::Describe(r)) => r.groups,
            _ => ids
                .iter()
                .map(|id| g::DescribedGroup {
                    error: UNAVAILABLE,
                    group_id: id.clone(),
                    group_state: String::new(),
                    protocol_type: String::new(),
                    protocol_data: String::new(),
                    members: Vec::new(),
                })
                .collect(),
        };
        let groups = groups
            .into_iter()
            .map(|d| {
                // KIP-1043: from v6 a group that does not exist is an error, not a Dead group.
                let missing = d.error.is_ok() && d.group_state == "Dead" && d.members.is_empty();
                let (error, message) = if v >= 6 && missing {
                    (
                        ErrorCode::GroupIdNotFound,
                        Some(format!("Group {} not found.", d.group_id)),
                    )
                } else {
                    (d.error, None)
                };
                DescribedGroup::default()
                    .with_error_code(code(error))
                    .with_error_message(if v >= 6 {
                        message.as_deref().map(s)
                    } else {
                        None
                    })
                    .with_group_id(GroupId(s(&d.group_id)))
                    .with_group_state(s(&d.group_state))
                    .with_protocol_type(s(&d.protocol_type))
                    .with_protocol_data(s(&d.protocol_data))
                    .with_authorized_operations(operations)
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(s(&m.member_id))
                                    .with_group_instance_id(if v >= 4 {
                                        opt(&m.group_instance_id)
                                    } else {
                                        None
                                    })
                                    .with_client_id(s(&m.client_id))
                                    .with_client_host(s(&m.client_host))
                                    .with_member_metadata(m.member_metadata)
                                    .with_member_assignment(m.member_assignment)
                            })
                            .collect(),
                    )
            })
            .collect();
        c.respond(&DescribeGroupsResponse::default().with_groups(groups))
    })
}

pub async fn list(ctx: RequestContext, req: ListGroupsRequest) -> Reply {
    let v = ctx.version();
    let request = g::ListGroups {
        states_filter: req.states_filter.iter().map(|x| x.to_string()).collect(),
        types_filter: req.types_filter.iter().map(|x| x.to_string()).collect(),
    };
    let pending = submit(&ctx, GroupRequest::List(request)).await;
    later(async move {
        let c = ctx;
        let r = match answer(pending).await {
            Some(GroupResponse::List(r)) => r,
            _ => g::ListGroupsResponse {
                error: UNAVAILABLE,
                groups: Vec::new(),
            },
        };
        let groups = r
            .groups
            .into_iter()
            .map(|l| {
                ListedGroup::default()
                    .with_group_id(GroupId(s(&l.group_id)))
                    .with_protocol_type(s(&l.protocol_type))
                    .with_group_state(if v >= 4 { s(&l.group_state) } else { s("") })
                    .with_group_type(if v >= 5 { s(&l.group_type) } else { s("") })
            })
            .collect();
        c.respond(
            &ListGroupsResponse::default()
                .with_error_code(code(r.error))
                .with_groups(groups),
        )
    })
}

pub async fn delete(ctx: RequestContext, req: DeleteGroupsRequest) -> Reply {
    let ids: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let pending = submit(
        &ctx,
        GroupRequest::Delete(g::DeleteGroups {
            group_ids: ids.clone(),
        }),
    )
    .await;
    later(async move {
        let c = ctx;
        let results = match answer(pending).await {
            Some(GroupResponse::Delete(r)) => r.results,
            _ => ids.into_iter().map(|id| (id, UNAVAILABLE)).collect(),
        };
        let results = results
            .into_iter()
            .map(|(id, e)| {
                DeletableGroupResult::default()
                    .with_group_id(GroupId(s(&id)))
                    .with_error_code(code(e))
            })
            .collect();
        c.respond(&DeleteGroupsResponse::default().with_results(results))
    })
}
