//! SyncGroup, Heartbeat and LeaveGroup, member removal, and the group's timers (session expiry,
//! pending-member expiry, join and sync deadlines).

use super::api::{
    Heartbeat, HeartbeatResponse, JoinGroupResponse, LeaveGroup, LeaveGroupResponse, LeftMember,
    RequestId, SyncGroup, SyncGroupResponse,
};
use super::error::ErrorCode;
use super::state::{Group, GroupState};
use super::{Ctx, GroupResponse};

pub(crate) fn sync_error(ctx: &mut Ctx<'_>, id: RequestId, error: ErrorCode) {
    ctx.fx
        .responses
        .push((id, GroupResponse::Sync(SyncGroupResponse::error(error))));
}

fn heartbeat_reply(ctx: &mut Ctx<'_>, id: RequestId, error: ErrorCode) {
    ctx.fx
        .responses
        .push((id, GroupResponse::Heartbeat(HeartbeatResponse { error })));
}

impl Group {
    /// Fencing, membership and generation checks shared by SyncGroup and Heartbeat.
    fn check_member(&self, instance: Option<&str>, member_id: &str, generation: i32) -> ErrorCode {
        if self.is_fenced(instance, member_id) {
            ErrorCode::FencedInstanceId
        } else if !self.members.contains_key(member_id) {
            ErrorCode::UnknownMemberId
        } else if generation != self.generation {
            ErrorCode::IllegalGeneration
        } else {
            ErrorCode::None
        }
    }

    fn sync_answer(&self, member_id: &str) -> SyncGroupResponse {
        SyncGroupResponse {
            error: ErrorCode::None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    pub(crate) fn sync(&mut self, ctx: &mut Ctx<'_>, id: RequestId, req: SyncGroup) {
        let member_id = req.member_id.as_str();
        let mut error = self.check_member(
            req.group_instance_id.as_deref(),
            member_id,
            req.generation_id,
        );
        let type_mismatch = req
            .protocol_type
            .as_ref()
            .is_some_and(|t| self.protocol_type.as_ref() != Some(t));
        let name_mismatch = req
            .protocol_name
            .as_ref()
            .is_some_and(|n| self.protocol_name.as_ref() != Some(n));
        if error.is_ok() && (type_mismatch || name_mismatch) {
            error = ErrorCode::InconsistentGroupProtocol;
        }
        if error.is_ok() {
            error = match self.state {
                GroupState::Empty | GroupState::Dead => ErrorCode::UnknownMemberId,
                GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
                GroupState::CompletingRebalance | GroupState::Stable => ErrorCode::None,
            };
        }
        if !error.is_ok() {
            return sync_error(ctx, id, error);
        }
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline_ms = None;
        }
        self.touch(ctx.now, member_id);
        if self.state == GroupState::Stable {
            let answer = self.sync_answer(member_id);
            ctx.fx.responses.push((id, GroupResponse::Sync(answer)));
            return;
        }
        if let Some(m) = self.members.get_mut(member_id) {
            if let Some(old) = m.awaiting_sync.replace(id) {
                sync_error(ctx, old, ErrorCode::RebalanceInProgress);
            }
        }
        if self.is_leader(member_id) {
            self.apply_assignment(ctx, req.assignments);
        }
    }

    /// The leader's assignment completes the generation: members it did not name get an empty
    /// assignment (as Kafka), ids it names that are not members are ignored.
    fn apply_assignment(&mut self, ctx: &mut Ctx<'_>, assignments: Vec<(String, bytes::Bytes)>) {
        // Indexed once: a large group's leader names every member.
        let by_member: std::collections::HashMap<String, bytes::Bytes> =
            assignments.into_iter().collect();
        for m in self.members.values_mut() {
            m.assignment = by_member.get(&m.id).cloned().unwrap_or_default();
        }
        self.transition(GroupState::Stable, ctx.now);
        ctx.fx.persist.push(self.metadata_record());
        tracing::info!(group = %self.id, generation = self.generation, "group stable");
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for member_id in ids {
            let answer = self.sync_answer(&member_id);
            if let Some(req) = self
                .members
                .get_mut(&member_id)
                .and_then(|m| m.awaiting_sync.take())
            {
                ctx.fx.responses.push((req, GroupResponse::Sync(answer)));
            }
        }
    }

    pub(crate) fn heartbeat(&mut self, ctx: &mut Ctx<'_>, id: RequestId, req: Heartbeat) {
        if matches!(self.state, GroupState::Empty | GroupState::Dead) {
            return heartbeat_reply(ctx, id, ErrorCode::UnknownMemberId);
        }
        let error = self.check_member(
            req.group_instance_id.as_deref(),
            &req.member_id,
            req.generation_id,
        );
        if !error.is_ok() {
            return heartbeat_reply(ctx, id, error);
        }
        self.touch(ctx.now, &req.member_id);
        // Only the join phase asks members to rejoin; in CompletingRebalance the member already
        // has the new generation and just needs to finish its sync.
        let error = if self.state == GroupState::PreparingRebalance {
            ErrorCode::RebalanceInProgress
        } else {
            ErrorCode::None
        };
        heartbeat_reply(ctx, id, error);
    }

    pub(crate) fn leave(&mut self, ctx: &mut Ctx<'_>, id: RequestId, req: LeaveGroup) {
        let mut results = Vec::with_capacity(req.members.len());
        for leaving in req.members {
            let instance = leaving.group_instance_id.as_deref();
            let error = if leaving.member_id.is_empty() {
                // Administrative removal by instance id alone (KIP-345).
                match instance.and_then(|i| self.static_members.get(i)).cloned() {
                    Some(current) => {
                        self.remove_and_update(ctx, &current, "left by instance id");
                        ErrorCode::None
                    }
                    None => ErrorCode::UnknownMemberId,
                }
            } else if self.pending.shift_remove(&leaving.member_id).is_some() {
                self.maybe_complete_join(ctx);
                ErrorCode::None
            } else if self.is_fenced(instance, &leaving.member_id) {
                ErrorCode::FencedInstanceId
            } else if self.members.contains_key(&leaving.member_id) {
                self.remove_and_update(ctx, &leaving.member_id, "left the group");
                ErrorCode::None
            } else {
                ErrorCode::UnknownMemberId
            };
            results.push(LeftMember {
                member_id: leaving.member_id,
                group_instance_id: leaving.group_instance_id,
                error,
            });
        }
        let resp = LeaveGroupResponse {
            error: ErrorCode::None,
            members: results,
        };
        ctx.fx.responses.push((id, GroupResponse::Leave(resp)));
    }

    /// Removes a member, answers whatever it had parked, and moves the group on.
    pub(crate) fn remove_and_update(&mut self, ctx: &mut Ctx<'_>, member_id: &str, reason: &str) {
        let Some(member) = self.remove_member(member_id) else {
            return;
        };
        tracing::info!(group = %self.id, member = %member_id, reason, "member removed");
        if let Some(req) = member.awaiting_join {
            let resp = JoinGroupResponse::error(member_id, ErrorCode::UnknownMemberId);
            ctx.fx.responses.push((req, GroupResponse::Join(resp)));
        }
        if let Some(req) = member.awaiting_sync {
            sync_error(ctx, req, ErrorCode::UnknownMemberId);
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(ctx),
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Fires every timer due at `ctx.now`. Each round removes a member or ends a phase, so the
    /// loop is bounded by the group's size; the cap only guards against a logic slip.
    pub(crate) fn fire_timers(&mut self, ctx: &mut Ctx<'_>) {
        let cap = self.size().saturating_mul(2).saturating_add(16);
        for _ in 0..cap {
            if self.next_deadline().is_none_or(|d| d > ctx.now) {
                return;
            }
            self.fire_once(ctx);
        }
        tracing::warn!(group = %self.id, "timer loop cap reached");
    }

    fn fire_once(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if let Some(cg) = self.consumer.as_mut() {
            if let Some(consumer_left) = cg.expire_members(&self.id, now) {
                if cg.members.is_empty() {
                    self.state_since_ms = now;
                }
                if consumer_left && cg.downgradable(ctx.cfg) {
                    self.downgrade_to_classic(ctx, true);
                } else {
                    // The others are reassigned at a new epoch.
                    cg.group_epoch = cg.group_epoch.saturating_add(1);
                    self.persist_consumer(ctx);
                }
            }
            return;
        }
        let expired_pending: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired_pending {
            tracing::info!(group = %self.id, member = %id, "pending member expired");
            self.pending.shift_remove(&id);
            self.maybe_complete_join(ctx);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expired(now))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            self.remove_and_update(ctx, &id, "session expired");
        }
        if self.join_deadline_ms.is_some_and(|d| d <= now) {
            self.on_join_deadline(ctx);
        }
        if self.sync_deadline_ms.is_some_and(|d| d <= now) {
            self.sync_deadline_ms = None;
            if matches!(
                self.state,
                GroupState::CompletingRebalance | GroupState::Stable
            ) {
                // Members that never synced this generation are presumed gone (Kafka's pending
                // sync timeout); the rest rebalance without them.
                let silent: Vec<String> = self.pending_sync.iter().cloned().collect();
                for id in silent {
                    self.remove_and_update(ctx, &id, "no SyncGroup within the rebalance timeout");
                }
            }
            self.pending_sync.clear();
        }
    }
}
