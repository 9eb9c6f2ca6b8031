//! DescribeGroups, ListGroups and DeleteGroups: read-mostly operations across groups.

use std::collections::HashMap;

use super::api::{
    DeleteGroupsResponse, DescribeGroupsResponse, DescribedGroup, DescribedMember, ListGroups,
    ListGroupsResponse, ListedGroup,
};
use super::error::ErrorCode;
use super::records::GroupRecord;
use super::state::{Group, GroupState};
use super::Ctx;

const CLASSIC: &str = "classic";
const CONSUMER: &str = "consumer";

/// (group type, protocol type, state name) as ListGroups reports them.
fn listing(g: &Group) -> (&'static str, String, &'static str) {
    match &g.consumer {
        Some(cg) => (CONSUMER, CONSUMER.to_string(), cg.state().name()),
        None => (
            CLASSIC,
            g.protocol_type.clone().unwrap_or_default(),
            g.state.name(),
        ),
    }
}

pub(crate) fn describe(groups: &HashMap<String, Group>, ids: &[String]) -> DescribeGroupsResponse {
    let described = ids
        .iter()
        .map(|id| match groups.get(id).filter(|g| g.consumer.is_none()) {
            // Kafka (before DescribeGroups v6) describes an unknown group as Dead, without error;
            // a consumer (KIP-848) group is not a classic group and reads the same.
            None => DescribedGroup {
                error: ErrorCode::None,
                group_id: id.clone(),
                group_state: GroupState::Dead.name().to_string(),
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
            },
            Some(g) => describe_one(g),
        })
        .collect();
    DescribeGroupsResponse { groups: described }
}

fn describe_one(g: &Group) -> DescribedGroup {
    // Member metadata and assignments are only meaningful once the generation is Stable.
    let stable = g.state == GroupState::Stable;
    let protocol = if stable {
        g.protocol_name.clone().unwrap_or_default()
    } else {
        String::new()
    };
    let members = g
        .members
        .values()
        .map(|m| DescribedMember {
            member_id: m.id.clone(),
            group_instance_id: m.instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            member_metadata: if stable {
                m.metadata_for(&protocol)
            } else {
                Default::default()
            },
            member_assignment: if stable {
                m.assignment.clone()
            } else {
                Default::default()
            },
        })
        .collect();
    DescribedGroup {
        error: ErrorCode::None,
        group_id: g.id.clone(),
        group_state: g.state.name().to_string(),
        protocol_type: g.protocol_type.clone().unwrap_or_default(),
        protocol_data: protocol,
        members,
    }
}

pub(crate) fn list(groups: &HashMap<String, Group>, req: &ListGroups) -> ListGroupsResponse {
    let mut listed: Vec<ListedGroup> = groups
        .values()
        .filter(|g| g.state != GroupState::Dead)
        .filter_map(|g| {
            let (group_type, protocol_type, state) = listing(g);
            let type_ok = req.types_filter.is_empty()
                || req
                    .types_filter
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(group_type));
            let state_ok = req.states_filter.is_empty()
                || req
                    .states_filter
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(state));
            (type_ok && state_ok).then(|| ListedGroup {
                group_id: g.id.clone(),
                protocol_type,
                group_state: state.to_string(),
                group_type: group_type.to_string(),
            })
        })
        .collect();
    // A stable order keeps responses reproducible.
    listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    ListGroupsResponse {
        error: ErrorCode::None,
        groups: listed,
    }
}

pub(crate) fn delete(
    ctx: &mut Ctx<'_>,
    groups: &mut HashMap<String, Group>,
    ids: &[String],
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let error = match groups.get_mut(id) {
            None => ErrorCode::GroupIdNotFound,
            Some(g) if g.state == GroupState::Dead => ErrorCode::GroupIdNotFound,
            Some(g) if g.state != GroupState::Empty => ErrorCode::NonEmptyGroup,
            Some(g) if g.consumer.as_ref().is_some_and(|c| !c.members.is_empty()) => {
                ErrorCode::NonEmptyGroup
            }
            Some(g) => {
                g.drop_all_offsets(ctx);
                if g.consumer.is_some() {
                    ctx.fx.persist.push(GroupRecord::ConsumerGroup {
                        group_id: id.clone(),
                        value: None,
                    });
                }
                ctx.fx.persist.push(GroupRecord::GroupMetadata {
                    group_id: id.clone(),
                    value: None,
                });
                groups.remove(id);
                ErrorCode::None
            }
        };
        results.push((id.clone(), error));
    }
    DeleteGroupsResponse { results }
}
