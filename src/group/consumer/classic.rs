//! Classic members of a consumer group: JoinGroup, SyncGroup, Heartbeat and LeaveGroup from
//! consumers that still speak the classic protocol, served from the consumer group's state as
//! Kafka 4.x does (GroupMetadataManager.classicGroup*ToConsumerGroup). Such a member never
//! leads or assigns: its JoinGroup is answered at once with its member epoch as the generation,
//! its SyncGroup with the partitions it owns in the consumer group, and a heartbeat tells it to
//! rejoin (REBALANCE_IN_PROGRESS) when the group epoch moved on or it has partitions to give up.
//! Rejoining is how it reports what it still owns, so it reconciles one JoinGroup at a time.

use std::sync::Arc;

use super::heartbeat::compute_target;
use super::reconcile::reconcile;
use super::{embedded, ClassicMember, ConsumerGroup, ConsumerMember, MemberState};
use crate::group::api::{
    GroupResponse, Heartbeat, HeartbeatResponse, JoinGroup, JoinGroupResponse, LeaveGroup,
    LeaveGroupResponse, LeftMember, RequestId, SyncGroup, SyncGroupResponse,
};
use crate::group::error::ErrorCode;
use crate::group::state::{Group, CONSUMER_PROTOCOL_TYPE};
use crate::group::{Ctx, IdGen};

fn join_reply(ctx: &mut Ctx<'_>, id: RequestId, r: JoinGroupResponse) {
    ctx.fx.responses.push((id, GroupResponse::Join(r)));
}

fn heartbeat_reply(ctx: &mut Ctx<'_>, id: RequestId, error: ErrorCode) {
    ctx.fx
        .responses
        .push((id, GroupResponse::Heartbeat(HeartbeatResponse { error })));
}

/// Kafka's validateConsumerGroupMember: the member by instance id (which must map to this
/// member id) or by member id.
fn find<'a>(
    cg: &'a ConsumerGroup,
    member_id: &str,
    instance_id: Option<&str>,
) -> Result<&'a ConsumerMember, ErrorCode> {
    let current = match instance_id {
        None => member_id,
        Some(instance) => match cg.static_members.get(instance) {
            None => return Err(ErrorCode::UnknownMemberId),
            Some(cur) if cur != member_id => return Err(ErrorCode::FencedInstanceId),
            Some(cur) => cur.as_str(),
        },
    };
    cg.members.get(current).ok_or(ErrorCode::UnknownMemberId)
}

/// A classic member of `cg` (consumer-protocol members cannot use the classic requests).
fn find_classic<'a>(
    cg: &'a ConsumerGroup,
    member_id: &str,
    instance_id: Option<&str>,
    generation: i32,
) -> Result<&'a ConsumerMember, ErrorCode> {
    let m = find(cg, member_id, instance_id)?;
    if !m.is_classic() {
        return Err(ErrorCode::UnknownMemberId);
    }
    if m.epoch != generation {
        return Err(ErrorCode::IllegalGeneration);
    }
    Ok(m)
}

/// Arms the member's join timer unless it is already running (Kafka's
/// scheduleConsumerGroupJoinTimeoutIfAbsent).
fn expect_rejoin(cg: &mut ConsumerGroup, member_id: &str, now: i64) {
    if let Some(m) = cg.members.get_mut(member_id) {
        if m.join_deadline_ms.is_none() {
            m.join_deadline_ms = Some(now.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
        }
    }
}

fn touch(m: &mut ConsumerMember, now: i64) {
    if let Some(c) = &m.classic {
        m.session_deadline_ms = Some(now.saturating_add(i64::from(c.session_timeout_ms)));
    }
}

impl Group {
    /// JoinGroup into a consumer group that has members.
    pub(crate) fn classic_join_consumer(
        &mut self,
        ctx: &mut Ctx<'_>,
        ids: &mut IdGen,
        id: RequestId,
        req: JoinGroup,
    ) {
        match self.classic_join_inner(ctx, ids, &req) {
            Ok(r) => join_reply(ctx, id, r),
            Err((error, member_id)) => {
                join_reply(ctx, id, JoinGroupResponse::error(&member_id, error))
            }
        }
    }

    fn classic_join_inner(
        &mut self,
        ctx: &mut Ctx<'_>,
        ids: &mut IdGen,
        req: &JoinGroup,
    ) -> Result<JoinGroupResponse, (ErrorCode, String)> {
        let cfg = ctx.cfg;
        let now = ctx.now;
        let group_id = self.id.clone();
        let Some(cg) = self.consumer.as_mut() else {
            return Err((ErrorCode::UnknownMemberId, req.member_id.clone()));
        };
        let unknown = req.member_id.is_empty();
        let member_id = if unknown {
            ids.plain_uuid()
        } else {
            req.member_id.clone()
        };
        let err = |e: ErrorCode| (e, member_id.clone());
        if cg.members.len() >= cfg.consumer_max_size && !cg.members.contains_key(&member_id) {
            return Err(err(ErrorCode::GroupMaxSizeReached));
        }
        if !cg.supports_classic(&req.protocol_type, &req.protocols) {
            return Err(err(ErrorCode::InconsistentGroupProtocol));
        }
        if unknown && req.require_known_member_id && req.group_instance_id.is_none() {
            // KIP-394: the member comes back with this id.
            return Err(err(ErrorCode::MemberIdRequired));
        }
        let Some(sub) = req
            .protocols
            .first()
            .and_then(|(_, meta)| embedded::subscription(meta))
        else {
            return Err(err(ErrorCode::InconsistentGroupProtocol));
        };

        // Set when this join replaces a consumer-protocol static member (same instance id).
        let mut replaced_consumer = false;
        // The member as it stands, and whether it is new to the group.
        let (member, is_new) = match &req.group_instance_id {
            None => match cg.members.get(&member_id) {
                Some(m) => (m.clone(), false),
                None => (ConsumerMember::new(&member_id), true),
            },
            Some(instance) => match cg.static_members.get(instance).cloned() {
                None if unknown => (ConsumerMember::new(&member_id), true),
                None => return Err(err(ErrorCode::UnknownMemberId)),
                Some(cur) if unknown => {
                    // The instance comes back under a new id: it takes over the old member's
                    // partitions and target, starting from epoch 0.
                    let Some(old) = cg.members.get(&cur).cloned() else {
                        return Err(err(ErrorCode::UnknownMemberId));
                    };
                    let target = cg.target.remove(&cur);
                    cg.remove_member(&cur);
                    replaced_consumer = !old.is_classic();
                    let mut m = old;
                    m.id = member_id.clone();
                    m.epoch = 0;
                    m.previous_epoch = 0;
                    if let Some(t) = target {
                        cg.target.insert(member_id.clone(), t);
                    }
                    tracing::info!(group = %group_id, instance = %instance, old = %cur, new = %member_id, "static member replaced by a classic member");
                    (m, false)
                }
                Some(cur) if cur != member_id => return Err(err(ErrorCode::FencedInstanceId)),
                Some(cur) => match cg.members.get(&cur) {
                    Some(m) => (m.clone(), false),
                    None => return Err(err(ErrorCode::UnknownMemberId)),
                },
            },
        };
        let original = cg.members.get(&member_id).cloned();

        // (1) The member with what the request says.
        let mut names: Vec<String> = sub.topics.iter().map(|t| t.to_string()).collect();
        names.sort();
        names.dedup();
        let mut updated = member.clone();
        updated.instance_id = req.group_instance_id.clone().or(updated.instance_id);
        if let Some(rack) = sub.rack_id.as_ref() {
            updated.rack_id = Some(rack.to_string());
        }
        if req.rebalance_timeout_ms != -1 {
            updated.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        updated.server_assignor = None;
        updated.subscribed_topic_regex = None;
        updated.subscribed_topic_names = names;
        updated.client_id = req.client_id.clone();
        updated.client_host = req.client_host.clone();
        updated.classic = Some(ClassicMember {
            session_timeout_ms: req.session_timeout_ms,
            protocols: req.protocols.clone(),
        });
        let mut bump = is_new
            || updated.subscribed_topic_names != member.subscribed_topic_names
            || updated.subscribed_topic_regex != member.subscribed_topic_regex;
        if is_new {
            tracing::info!(group = %group_id, member = %member_id, "classic member joins the consumer group");
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
        }

        // (2) A new target when the group epoch moved past it.
        if cg.group_epoch > cg.assignment_epoch {
            compute_target(
                cg,
                &image,
                cfg.consumer_assignors.first().map_or("uniform", |s| s),
            );
        }

        // (3) One reconciliation step, from what the member says it owns: nothing for an eager
        // member (it gave everything up before rejoining), its partitions for a cooperative one.
        let owned: Vec<(uuid::Uuid, Vec<i32>)> = embedded::owned(&sub, &image)
            .into_iter()
            .map(|(t, p)| (t, p.into_iter().collect()))
            .collect();
        let held = cg.held_by_others(&member_id);
        let target = cg.target.get(&member_id).cloned().unwrap_or_default();
        let Some(current) = cg.members.get(&member_id).cloned() else {
            return Err(err(ErrorCode::UnknownMemberId));
        };
        let mut next = reconcile(&current, cg.assignment_epoch, &target, &held, Some(&owned));
        next.rebalance_deadline_ms = None;
        next.join_deadline_ms = None;
        next.sync_deadline_ms =
            Some(now.saturating_add(i64::from(next.rebalance_timeout_ms.max(0))));
        touch(&mut next, now);
        let dirty = original.as_ref().is_none_or(|o| !o.same_persisted(&next));
        let protocol_name = next.classic.as_ref().map(|c| c.protocol_name().to_string());
        let mut response = JoinGroupResponse {
            error: ErrorCode::None,
            generation_id: next.epoch,
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.to_string()),
            protocol_name,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.clone(),
            members: Vec::new(),
        };
        tracing::debug!(group = %group_id, member = %member_id, epoch = next.epoch, state = ?next.state, "classic join to consumer group");
        cg.add_member(next);
        if replaced_consumer && cg.downgradable(cfg) {
            // Kafka's downgrade by static replacement: the last consumer-protocol member was
            // replaced by a classic one, so the group is classic again, Stable, at the epoch
            // the members know, without a rebalance; the newcomer holds the replaced member's
            // target.
            self.downgrade_to_classic(ctx, false);
            response.generation_id = self.generation;
            return Ok(response);
        }
        if dirty || bump {
            self.persist_consumer(ctx);
        }
        Ok(response)
    }

    /// SyncGroup from a classic member of a consumer group: its current partitions.
    pub(crate) fn classic_sync_consumer(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: RequestId,
        req: SyncGroup,
    ) {
        let now = ctx.now;
        let result = (|| {
            let cg = self.consumer.as_mut().ok_or(ErrorCode::UnknownMemberId)?;
            let m = find_classic(
                cg,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
            )?;
            let protocol = m
                .classic
                .as_ref()
                .map(|c| c.protocol_name().to_string())
                .unwrap_or_default();
            if req
                .protocol_type
                .as_deref()
                .is_some_and(|t| t != CONSUMER_PROTOCOL_TYPE)
                || req.protocol_name.as_deref().is_some_and(|n| n != protocol)
            {
                return Err(ErrorCode::InconsistentGroupProtocol);
            }
            let member_id = m.id.clone();
            // A newer group epoch means another rebalance: rejoin first, unless the member is
            // in the middle of giving partitions up, which its next join completes.
            if cg.group_epoch > m.epoch && m.state != MemberState::UnrevokedPartitions {
                expect_rejoin(cg, &member_id, now);
                return Err(ErrorCode::RebalanceInProgress);
            }
            let version = m
                .classic
                .as_ref()
                .and_then(|c| c.protocols.first())
                .map_or(0, |(_, meta)| embedded::version(meta));
            let assignment = embedded::encode_assignment(&m.assigned, &req.topics, version);
            if let Some(m) = cg.members.get_mut(&member_id) {
                m.sync_deadline_ms = None;
                touch(m, now);
            }
            Ok(SyncGroupResponse {
                error: ErrorCode::None,
                protocol_type: req.protocol_type.clone(),
                protocol_name: req.protocol_name.clone(),
                assignment,
            })
        })();
        let r = result.unwrap_or_else(SyncGroupResponse::error);
        ctx.fx.responses.push((id, GroupResponse::Sync(r)));
    }

    /// Heartbeat from a classic member of a consumer group: REBALANCE_IN_PROGRESS when it must
    /// rejoin to move on.
    pub(crate) fn classic_heartbeat_consumer(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: RequestId,
        req: Heartbeat,
    ) {
        let now = ctx.now;
        let result = (|| {
            let cg = self.consumer.as_mut().ok_or(ErrorCode::UnknownMemberId)?;
            let m = find_classic(
                cg,
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
            )?;
            let member_id = m.id.clone();
            let rejoin = m.epoch < cg.group_epoch
                || m.state == MemberState::UnrevokedPartitions
                || (m.state == MemberState::UnreleasedPartitions && !cg.waiting_on_unreleased(m));
            if let Some(m) = cg.members.get_mut(&member_id) {
                touch(m, now);
            }
            if rejoin {
                expect_rejoin(cg, &member_id, now);
                return Err(ErrorCode::RebalanceInProgress);
            }
            Ok(())
        })();
        heartbeat_reply(ctx, id, result.err().unwrap_or(ErrorCode::None));
    }

    /// LeaveGroup for classic members of a consumer group (batched, by member or instance id).
    pub(crate) fn classic_leave_consumer(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: RequestId,
        req: LeaveGroup,
    ) {
        let group_id = self.id.clone();
        let mut results = Vec::with_capacity(req.members.len());
        let mut left = false;
        if let Some(cg) = self.consumer.as_mut() {
            for leaving in req.members {
                let instance = leaving.group_instance_id.as_deref();
                let found = match instance {
                    None => cg
                        .members
                        .get(&leaving.member_id)
                        .ok_or(ErrorCode::UnknownMemberId),
                    Some(i) => match cg.static_members.get(i).and_then(|cur| cg.members.get(cur)) {
                        None => Err(ErrorCode::UnknownMemberId),
                        // Administrative removal names the instance alone.
                        Some(m) if !leaving.member_id.is_empty() && m.id != leaving.member_id => {
                            Err(ErrorCode::FencedInstanceId)
                        }
                        Some(m) => Ok(m),
                    },
                };
                let mut member_id = leaving.member_id;
                let error = match found {
                    Ok(m) if m.is_classic() => {
                        member_id = m.id.clone();
                        tracing::info!(group = %group_id, member = %member_id, reason = leaving.reason.as_deref().unwrap_or("not provided"), "classic member left the consumer group");
                        cg.remove_member(&member_id);
                        left = true;
                        ErrorCode::None
                    }
                    Ok(_) => ErrorCode::UnknownMemberId,
                    Err(e) => e,
                };
                results.push(LeftMember {
                    member_id,
                    group_instance_id: leaving.group_instance_id,
                    error,
                });
            }
            if left {
                cg.group_epoch = cg.group_epoch.saturating_add(1);
                if cg.members.is_empty() {
                    self.state_since_ms = ctx.now;
                }
            }
        }
        if left {
            self.persist_consumer(ctx);
        }
        let resp = LeaveGroupResponse {
            error: ErrorCode::None,
            members: results,
        };
        ctx.fx.responses.push((id, GroupResponse::Leave(resp)));
    }
}
