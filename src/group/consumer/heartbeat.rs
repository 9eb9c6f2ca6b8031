//! ConsumerGroupHeartbeat: joining, heartbeating and leaving a consumer group, following Kafka's
//! GroupMetadataManager.consumerGroupHeartbeat: (1) update the member, bumping the group epoch
//! when what the assignor sees changed; (2) recompute the target assignment when the group epoch
//! is ahead of it; (3) move this member one step towards its target.

use std::sync::Arc;

use super::assignor::{self, Subscriptions, ASSIGNORS};
use super::reconcile::reconcile;
use super::{
    assignment_to_vec, compile_regex, ConsumerGroup, ConsumerMember, MemberState, LEAVE_EPOCH,
    LEAVE_STATIC_EPOCH,
};
use crate::group::api::{ConsumerGroupHeartbeat, ConsumerGroupHeartbeatResponse};
use crate::group::error::ErrorCode;
use crate::group::records::GroupRecord;
use crate::group::state::Group;
use crate::group::{Ctx, IdGen};
use std::collections::HashMap;

type Failure = (ErrorCode, String);

fn fail<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Failure> {
    Err((code, message.into()))
}

/// The checks Kafka makes before it looks at the group.
fn validate(req: &ConsumerGroupHeartbeat) -> Result<(), Failure> {
    let epoch = req.member_epoch;
    if (req.api_version >= 1 || epoch > 0 || epoch == LEAVE_EPOCH) && req.member_id.is_empty() {
        return fail(ErrorCode::InvalidRequest, "MemberId can't be empty.");
    }
    if req.group_id.is_empty() {
        return fail(ErrorCode::InvalidRequest, "GroupId can't be empty.");
    }
    if req.instance_id.as_deref() == Some("") {
        return fail(ErrorCode::InvalidRequest, "InstanceId can't be empty.");
    }
    if req.rack_id.as_deref() == Some("") {
        return fail(ErrorCode::InvalidRequest, "RackId can't be empty.");
    }
    if epoch == 0 {
        if req.rebalance_timeout_ms == -1 {
            return fail(
                ErrorCode::InvalidRequest,
                "RebalanceTimeoutMs must be provided in first request.",
            );
        }
        if req.owned.as_ref().is_none_or(|o| !o.is_empty()) {
            return fail(
                ErrorCode::InvalidRequest,
                "TopicPartitions must be empty when (re-)joining.",
            );
        }
        let names = req
            .subscribed_topic_names
            .as_ref()
            .is_some_and(|n| !n.is_empty());
        let regex = req
            .subscribed_topic_regex
            .as_ref()
            .is_some_and(|r| !r.is_empty());
        if !names && !regex {
            return fail(
                ErrorCode::InvalidRequest,
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
            );
        }
    } else if epoch == LEAVE_STATIC_EPOCH {
        if req.instance_id.is_none() {
            return fail(ErrorCode::InvalidRequest, "InstanceId can't be null.");
        }
    } else if epoch < LEAVE_STATIC_EPOCH {
        return fail(ErrorCode::InvalidRequest, "MemberEpoch is invalid.");
    }
    if let Some(re) = req
        .subscribed_topic_regex
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        if compile_regex(re).is_none() {
            return fail(
                ErrorCode::InvalidRegularExpression,
                "SubscribedTopicRegex is not a valid regular expression.",
            );
        }
    }
    if let Some(a) = &req.server_assignor {
        if !ASSIGNORS.contains(&a.as_str()) {
            return fail(
                ErrorCode::UnsupportedAssignor,
                format!(
                    "ServerAssignor {a} is not supported. Supported assignors: {}.",
                    ASSIGNORS.join(", ")
                ),
            );
        }
    }
    Ok(())
}

/// Kafka's throwIfConsumerGroupMemberEpochIsInvalid: a member may be one epoch behind when the
/// response that moved it on was lost, as long as it owns no more than it was given.
fn check_epoch(member: &ConsumerMember, req: &ConsumerGroupHeartbeat) -> Result<(), Failure> {
    let received = req.member_epoch;
    if received > member.epoch {
        return fail(
            ErrorCode::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater member epoch ({received}) than the one \
                 known by the group coordinator ({}). The member must abandon all its partitions \
                 and rejoin.",
                member.epoch
            ),
        );
    }
    if received < member.epoch {
        let subset = req.owned.as_ref().is_some_and(|owned| {
            owned.iter().all(|(t, parts)| {
                member
                    .assigned
                    .get(t)
                    .is_some_and(|a| parts.iter().all(|p| a.contains(p)))
            })
        });
        if received != member.previous_epoch || !subset {
            return fail(
                ErrorCode::FencedMemberEpoch,
                format!(
                    "The consumer group member has a smaller member epoch ({received}) than the \
                     one known by the group coordinator ({}). The member must abandon all its \
                     partitions and rejoin.",
                    member.epoch
                ),
            );
        }
    }
    Ok(())
}

/// The coordinator's groups and member-id source, borrowed apart from its config.
pub(crate) struct Groups<'a> {
    pub groups: &'a mut HashMap<String, Group>,
    pub ids: &'a mut IdGen,
}

impl Groups<'_> {
    /// Serves one ConsumerGroupHeartbeat; returns the id of the group it touched, if any.
    pub(crate) fn consumer_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: ConsumerGroupHeartbeat,
    ) -> (ConsumerGroupHeartbeatResponse, Option<String>) {
        if let Err((code, message)) = validate(&req) {
            return (ConsumerGroupHeartbeatResponse::error(code, message), None);
        }
        let group_id = req.group_id.clone();
        let result = if req.member_epoch == LEAVE_EPOCH || req.member_epoch == LEAVE_STATIC_EPOCH {
            self.consumer_leave(ctx, &req)
        } else {
            self.consumer_join_or_heartbeat(ctx, req)
        };
        match result {
            Ok(r) => (r, Some(group_id)),
            Err((code, message)) => (
                ConsumerGroupHeartbeatResponse::error(code, message),
                Some(group_id),
            ),
        }
    }

    /// The group a heartbeat is for: an existing consumer group, or a new one on a join (an
    /// empty classic group becomes a consumer group, keeping its offsets, as Kafka does).
    fn consumer_group_for(
        &mut self,
        ctx: &mut Ctx<'_>,
        group_id: &str,
        create: bool,
        image: &super::TopicImage,
    ) -> Result<&mut Group, Failure> {
        let now = ctx.now;
        let exists = self.groups.contains_key(group_id);
        if !exists && !create {
            return fail(
                ErrorCode::GroupIdNotFound,
                format!("Consumer group {group_id} not found."),
            );
        }
        let group = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id, now));
        if group.consumer.is_some() {
            return Ok(group);
        }
        if !create {
            return fail(
                ErrorCode::GroupIdNotFound,
                format!("Group {group_id} is not a consumer group."),
            );
        }
        if !group.members.is_empty() {
            // A live classic group: upgraded online when the policy and its members allow.
            if let Err(why) = group.upgrade_to_consumer(ctx, image) {
                tracing::info!(group = %group_id, "{why}");
                return fail(
                    ErrorCode::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                );
            }
        } else {
            if group.generation > 0 || group.protocol_type.is_some() {
                ctx.fx.persist.push(GroupRecord::GroupMetadata {
                    group_id: group_id.to_string(),
                    value: None,
                });
            }
            let offsets = std::mem::take(&mut group.offsets);
            *group = Group::new(group_id, now);
            group.offsets = offsets;
            group.consumer = Some(ConsumerGroup::default());
            tracing::info!(group = %group_id, "consumer group created");
        }
        Ok(group)
    }

    fn consumer_join_or_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: ConsumerGroupHeartbeat,
    ) -> Result<ConsumerGroupHeartbeatResponse, Failure> {
        let joining = req.member_epoch == 0;
        let member_id = if req.member_id.is_empty() {
            self.ids.plain_uuid()
        } else {
            req.member_id.clone()
        };
        let cfg = ctx.cfg;
        let now = ctx.now;
        let group = self.consumer_group_for(ctx, &req.group_id, joining, &req.topics)?;
        let group_id = group.id.clone();
        let Some(cg) = group.consumer.as_mut() else {
            return fail(ErrorCode::GroupIdNotFound, "not a consumer group");
        };
        if cg.members.len() >= cfg.consumer_max_size && !cg.members.contains_key(&member_id) {
            return fail(
                ErrorCode::GroupMaxSizeReached,
                format!(
                    "The consumer group has reached its maximum capacity of {} members.",
                    cfg.consumer_max_size
                ),
            );
        }
        let mut dirty = false;
        // The member as it stands, and whether it is new to the group.
        let (member, is_new) = match &req.instance_id {
            Some(instance) => {
                let current = cg.static_members.get(instance).cloned();
                match current {
                    None if joining => (ConsumerMember::new(&member_id), true),
                    None => {
                        return fail(
                            ErrorCode::UnknownMemberId,
                            format!("Instance id {instance} is unknown."),
                        )
                    }
                    Some(cur) if cur == member_id => {
                        let m = cg
                            .members
                            .get(&cur)
                            .cloned()
                            .unwrap_or_else(|| ConsumerMember::new(&member_id));
                        if joining {
                            (rejoined(&m), false)
                        } else {
                            not_classic(&m)?;
                            check_epoch(&m, &req)?;
                            (m, false)
                        }
                    }
                    Some(cur) if joining => {
                        let Some(old) = cg.members.get(&cur).cloned() else {
                            return fail(ErrorCode::UnknownMemberId, "unknown static member");
                        };
                        // A classic member's instance may be taken over at once (Kafka
                        // checks the release only between consumer-protocol members).
                        if old.epoch != LEAVE_STATIC_EPOCH && !old.is_classic() {
                            return fail(
                                ErrorCode::UnreleasedInstanceId,
                                format!(
                                    "Static member {member_id} with instance id {instance} \
                                     cannot join the group because the instance id is owned by \
                                     {cur} member."
                                ),
                            );
                        }
                        // The instance comes back under a new member id: it takes over the old
                        // member's partitions and target, without a rebalance.
                        let target = cg.target.remove(&cur);
                        cg.remove_member(&cur);
                        let mut m = old;
                        m.id = member_id.clone();
                        m.epoch = 0;
                        m.previous_epoch = 0;
                        m.pending_revocation.clear();
                        if let Some(t) = target {
                            cg.target.insert(member_id.clone(), t);
                        }
                        tracing::info!(group = %group_id, instance = %instance, old = %cur, new = %member_id, "static member replaced");
                        dirty = true;
                        (m, false)
                    }
                    Some(_) => {
                        return fail(
                            ErrorCode::FencedInstanceId,
                            format!(
                                "Static member {member_id} with instance id {instance} was fenced \
                                 by another member."
                            ),
                        )
                    }
                }
            }
            None => match cg.members.get(&member_id) {
                None if joining => (ConsumerMember::new(&member_id), true),
                None => {
                    return fail(
                        ErrorCode::UnknownMemberId,
                        format!("Member {member_id} is not a member of group {group_id}."),
                    )
                }
                Some(m) if joining => (rejoined(m), false),
                Some(m) => {
                    not_classic(m)?;
                    check_epoch(m, &req)?;
                    (m.clone(), false)
                }
            },
        };
        let original = cg.members.get(&member_id).cloned();

        // (1) The member with what the request changed.
        let mut updated = member.clone();
        if let Some(i) = &req.instance_id {
            updated.instance_id = Some(i.clone());
        }
        if let Some(r) = &req.rack_id {
            updated.rack_id = Some(r.clone());
        }
        if req.rebalance_timeout_ms != -1 {
            updated.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        if let Some(a) = &req.server_assignor {
            updated.server_assignor = Some(a.clone());
        }
        if let Some(names) = &req.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            updated.subscribed_topic_names = names;
        }
        if let Some(re) = &req.subscribed_topic_regex {
            updated.subscribed_topic_regex = Some(re.clone()).filter(|r| !r.is_empty());
        }
        updated.client_id = req.client_id.clone();
        updated.client_host = req.client_host.clone();
        // From now on the member speaks the consumer protocol.
        updated.classic = None;
        updated.join_deadline_ms = None;
        updated.sync_deadline_ms = None;
        let mut bump = is_new
            || updated.subscribed_topic_names != member.subscribed_topic_names
            || updated.subscribed_topic_regex != member.subscribed_topic_regex;
        if is_new {
            tracing::info!(group = %group_id, member = %member_id, "member joins the consumer group");
        }
        let image = req.topics.clone();
        let image_changed = cg
            .seen_image
            .as_ref()
            .is_none_or(|seen| !Arc::ptr_eq(seen, &image));
        cg.add_member(updated);
        if bump || image_changed || cg.group_epoch > cg.assignment_epoch {
            let metadata = cg.compute_subscription_metadata(&image);
            if metadata != cg.subscription_metadata {
                cg.subscription_metadata = metadata;
                bump = true;
            }
            cg.seen_image = Some(image.clone());
        }
        if bump {
            cg.group_epoch = cg.group_epoch.saturating_add(1);
            tracing::debug!(group = %group_id, epoch = cg.group_epoch, "group epoch bumped");
            dirty = true;
        }

        // (2) A new target when the group epoch moved past it.
        if cg.group_epoch > cg.assignment_epoch {
            compute_target(
                cg,
                &image,
                cfg.consumer_assignors.first().map_or("uniform", |s| s),
            );
            dirty = true;
        }

        // (3) One reconciliation step for this member.
        let held = cg.held_by_others(&member_id);
        let target = cg.target.get(&member_id).cloned().unwrap_or_default();
        let Some(current) = cg.members.get(&member_id).cloned() else {
            return fail(ErrorCode::UnknownMemberId, "member vanished");
        };
        let mut next = reconcile(
            &current,
            cg.assignment_epoch,
            &target,
            &held,
            req.owned.as_deref(),
        );
        if next.state == MemberState::UnrevokedPartitions {
            if current.state != MemberState::UnrevokedPartitions || next != current {
                next.rebalance_deadline_ms =
                    Some(now.saturating_add(i64::from(next.rebalance_timeout_ms.max(0))));
            }
        } else {
            next.rebalance_deadline_ms = None;
        }
        next.session_deadline_ms = Some(now.saturating_add(cfg.consumer_session_timeout_ms));
        if original.as_ref().is_none_or(|o| !o.same_persisted(&next)) {
            dirty = true;
        }
        let full = joining
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topic_names.is_some()
                && req.owned.is_some());
        let assignment = if full
            || original
                .as_ref()
                .is_none_or(|o| o.assigned != next.assigned)
        {
            Some(assignment_to_vec(&next.assigned))
        } else {
            None
        };
        let response = ConsumerGroupHeartbeatResponse {
            error: ErrorCode::None,
            error_message: None,
            member_id: Some(member_id.clone()),
            member_epoch: next.epoch,
            heartbeat_interval_ms: i32::try_from(cfg.consumer_heartbeat_interval_ms)
                .unwrap_or(i32::MAX),
            assignment,
        };
        tracing::debug!(
            group = %group_id,
            member = %member_id,
            epoch = next.epoch,
            state = ?next.state,
            assigned = next.assigned.values().map(|p| p.len()).sum::<usize>(),
            names = ?next.subscribed_topic_names,
            regex = ?next.subscribed_topic_regex,
            "consumer heartbeat"
        );
        cg.add_member(next);
        if dirty {
            group.persist_consumer(ctx);
        }
        Ok(response)
    }

    fn consumer_leave(
        &mut self,
        ctx: &mut Ctx<'_>,
        req: &ConsumerGroupHeartbeat,
    ) -> Result<ConsumerGroupHeartbeatResponse, Failure> {
        let group = self.consumer_group_for(ctx, &req.group_id, false, &req.topics)?;
        let Some(cg) = group.consumer.as_mut() else {
            return fail(ErrorCode::GroupIdNotFound, "not a consumer group");
        };
        let member_id = match &req.instance_id {
            None => {
                if !cg.members.contains_key(&req.member_id) {
                    return fail(
                        ErrorCode::UnknownMemberId,
                        format!(
                            "Member {} is not a member of group {}.",
                            req.member_id, req.group_id
                        ),
                    );
                }
                req.member_id.clone()
            }
            Some(instance) => match cg.static_members.get(instance) {
                None => {
                    return fail(
                        ErrorCode::UnknownMemberId,
                        format!("Instance id {instance} is unknown."),
                    )
                }
                Some(cur) if *cur != req.member_id => {
                    return fail(
                        ErrorCode::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance} was fenced by another \
                             member.",
                            req.member_id
                        ),
                    )
                }
                Some(cur) => cur.clone(),
            },
        };
        if req.member_epoch == LEAVE_STATIC_EPOCH {
            // A static member leaving for a while keeps its partitions, so that it can come
            // back without a rebalance; its session timeout still applies.
            if let Some(m) = cg.members.get_mut(&member_id) {
                m.epoch = LEAVE_STATIC_EPOCH;
                m.pending_revocation.clear();
                m.state = MemberState::Stable;
                m.rebalance_deadline_ms = None;
            }
            tracing::info!(group = %req.group_id, member = %member_id, "static member left temporarily");
        } else {
            let was_consumer = cg.members.get(&member_id).is_some_and(|m| !m.is_classic());
            cg.remove_member(&member_id);
            tracing::info!(group = %req.group_id, member = %member_id, "member left the consumer group");
            if was_consumer && cg.downgradable(ctx.cfg) {
                // As Kafka: the classic group takes the epoch the members know as their
                // generation, and its rebalance moves it on.
                group.downgrade_to_classic(ctx, true);
                return Ok(left_response(req));
            }
            cg.group_epoch = cg.group_epoch.saturating_add(1);
            if cg.members.is_empty() {
                group.state_since_ms = ctx.now;
            }
        }
        group.persist_consumer(ctx);
        Ok(left_response(req))
    }
}

fn left_response(req: &ConsumerGroupHeartbeat) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse {
        error: ErrorCode::None,
        error_message: None,
        member_id: Some(req.member_id.clone()),
        member_epoch: req.member_epoch,
        heartbeat_interval_ms: 0,
        assignment: None,
    }
}

/// A classic member talks through JoinGroup/SyncGroup/Heartbeat until it rejoins with epoch 0.
fn not_classic(m: &ConsumerMember) -> Result<(), Failure> {
    if m.is_classic() {
        return fail(
            ErrorCode::UnknownMemberId,
            format!("Member {} uses the classic protocol.", m.id),
        );
    }
    Ok(())
}

/// A member that rejoins (epoch 0) under an id the group still holds has abandoned its
/// partitions: it starts over at epoch 0, keeping its subscription.
fn rejoined(m: &ConsumerMember) -> ConsumerMember {
    let mut m = m.clone();
    m.epoch = 0;
    m.previous_epoch = 0;
    m.state = MemberState::Stable;
    m.assigned.clear();
    m.pending_revocation.clear();
    m
}

/// Recomputes every member's target for the current group epoch.
pub(crate) fn compute_target(
    cg: &mut ConsumerGroup,
    image: &super::TopicImage,
    default_assignor: &str,
) {
    let mut subscriptions = Subscriptions::new();
    for m in cg.members.values() {
        let mut ids = std::collections::BTreeSet::new();
        for n in &m.subscribed_topic_names {
            if let Some(t) = cg.subscription_metadata.get(n) {
                ids.insert(t.id);
            }
        }
        if let Some(re) = m.subscribed_topic_regex.as_deref().and_then(compile_regex) {
            for (n, t) in &cg.subscription_metadata {
                if re.is_match(n) && image.get(n).is_some() {
                    ids.insert(t.id);
                }
            }
        }
        subscriptions.insert(m.id.clone(), ids);
    }
    let partitions = cg
        .subscription_metadata
        .values()
        .map(|t| (t.id, t.partitions))
        .collect();
    let name = cg.preferred_assignor(default_assignor).to_string();
    cg.target = assignor::assign(&name, &subscriptions, &partitions, &cg.target);
    cg.assignment_epoch = cg.group_epoch;
}

impl Group {
    /// Records the consumer group's current state (one snapshot record per change).
    pub(crate) fn persist_consumer(&self, ctx: &mut Ctx<'_>) {
        if let Some(cg) = &self.consumer {
            ctx.fx.persist.push(GroupRecord::ConsumerGroup {
                group_id: self.id.clone(),
                value: Some(super::record::snapshot(cg, self.state_since_ms)),
            });
        }
    }
}
