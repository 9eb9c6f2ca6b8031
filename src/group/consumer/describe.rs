//! ConsumerGroupDescribe, and how consumer groups appear in ListGroups.

use super::{Assignment, ConsumerGroup, TopicImage};
use crate::group::api::{
    ConsumerGroupDescribeResponse, DescribedConsumerGroup, DescribedConsumerMember, NamedPartitions,
};
use crate::group::error::ErrorCode;
use crate::group::state::Group;

fn named(a: &Assignment, image: &TopicImage) -> NamedPartitions {
    a.iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(t, p)| {
            let name = image.name(t).unwrap_or_default().to_string();
            (*t, name, p.iter().copied().collect())
        })
        .collect()
}

fn describe_one(
    id: &str,
    cg: &ConsumerGroup,
    image: &TopicImage,
    default_assignor: &str,
) -> DescribedConsumerGroup {
    let members = cg
        .members
        .values()
        .map(|m| DescribedConsumerMember {
            member_id: m.id.clone(),
            instance_id: m.instance_id.clone(),
            rack_id: m.rack_id.clone(),
            member_epoch: m.epoch,
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            subscribed_topic_names: m.subscribed_topic_names.clone(),
            subscribed_topic_regex: m.subscribed_topic_regex.clone(),
            assignment: named(&m.assigned, image),
            target_assignment: named(&cg.target.get(&m.id).cloned().unwrap_or_default(), image),
            classic: m.is_classic(),
        })
        .collect();
    DescribedConsumerGroup {
        error: ErrorCode::None,
        error_message: None,
        group_id: id.to_string(),
        group_state: cg.state().name().to_string(),
        group_epoch: cg.group_epoch,
        assignment_epoch: cg.assignment_epoch,
        assignor_name: cg.preferred_assignor(default_assignor).to_string(),
        members,
    }
}

/// Groups that are not consumer groups (unknown, or classic) answer GROUP_ID_NOT_FOUND, which
/// tells Kafka's admin client to describe them with DescribeGroups instead.
pub(crate) fn describe(
    groups: &std::collections::HashMap<String, Group>,
    ids: &[String],
    image: &TopicImage,
    default_assignor: &str,
) -> ConsumerGroupDescribeResponse {
    let groups = ids
        .iter()
        .map(
            |id| match groups.get(id).and_then(|g| g.consumer.as_ref()) {
                Some(cg) => describe_one(id, cg, image, default_assignor),
                None => DescribedConsumerGroup {
                    error: ErrorCode::GroupIdNotFound,
                    error_message: Some(match groups.get(id) {
                        Some(_) => format!("Group {id} is not a consumer group."),
                        None => format!("Group {id} not found."),
                    }),
                    group_id: id.clone(),
                    group_state: String::new(),
                    group_epoch: 0,
                    assignment_epoch: 0,
                    assignor_name: String::new(),
                    members: Vec::new(),
                },
            },
        )
        .collect();
    ConsumerGroupDescribeResponse { groups }
}
