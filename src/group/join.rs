//! The join phase: JoinGroup handling (KIP-394 member ids, KIP-345 static members), rebalance
//! preparation with the initial delay, and completion of the phase into a new generation.

use super::api::{JoinGroup, JoinGroupMember, JoinGroupResponse, RequestId};
use super::error::ErrorCode;
use super::state::{Group, GroupState, InitialDelay, Member};
use super::{Ctx, GroupResponse, IdGen};

/// Kafka's NewMemberJoinTimeoutMs: how long a member that has never completed a join may sit in
/// the join phase before it is dropped (it is expected to retry if still alive).
pub(crate) const NEW_MEMBER_JOIN_TIMEOUT_MS: i64 = 300_000;

fn respond(ctx: &mut Ctx<'_>, id: RequestId, resp: JoinGroupResponse) {
    ctx.fx.responses.push((id, GroupResponse::Join(resp)));
}

fn join_error(ctx: &mut Ctx<'_>, id: RequestId, member_id: &str, error: ErrorCode) {
    respond(ctx, id, JoinGroupResponse::error(member_id, error));
}

impl Group {
    pub(crate) fn join(
        &mut self,
        ctx: &mut Ctx<'_>,
        ids: &mut IdGen,
        id: RequestId,
        req: JoinGroup,
    ) {
        if !self.supports(&req.protocol_type, &req.protocols) {
            return join_error(
                ctx,
                id,
                &req.member_id,
                ErrorCode::InconsistentGroupProtocol,
            );
        }
        if req.member_id.is_empty() {
            self.join_new(ctx, ids, id, req);
        } else {
            self.join_known(ctx, id, req);
        }
        self.maybe_complete_join(ctx);
    }

    fn join_new(&mut self, ctx: &mut Ctx<'_>, ids: &mut IdGen, id: RequestId, req: JoinGroup) {
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let new_id = loop {
            let candidate = ids.member_id(prefix);
            if !self.members.contains_key(&candidate) && !self.pending.contains_key(&candidate) {
                break candidate;
            }
        };
        let existing = req
            .group_instance_id
            .as_ref()
            .and_then(|i| self.static_members.get(i))
            .cloned();
        if let Some(old_id) = existing {
            return self.replace_static(ctx, id, req, &old_id, new_id);
        }
        if self.size() >= ctx.cfg.max_group_size {
            return join_error(ctx, id, "", ErrorCode::GroupMaxSizeReached);
        }
        if req.group_instance_id.is_none() && req.require_known_member_id {
            // KIP-394: hand out the id first, so a client that times out and retries does not
            // leave an orphan member behind; it must come back with it within the session.
            let deadline = ctx.now + i64::from(req.session_timeout_ms);
            self.pending.insert(new_id.clone(), deadline);
            return join_error(ctx, id, &new_id, ErrorCode::MemberIdRequired);
        }
        self.add_and_rebalance(ctx, id, req, new_id);
    }

    fn join_known(&mut self, ctx: &mut Ctx<'_>, id: RequestId, req: JoinGroup) {
        let member_id = req.member_id.clone();
        if self.pending.contains_key(&member_id) {
            if req.group_instance_id.is_some() {
                // Pending ids are only handed to dynamic members; a static claim on one is bogus.
                return join_error(ctx, id, &member_id, ErrorCode::UnknownMemberId);
            }
            self.pending.shift_remove(&member_id);
            return self.add_and_rebalance(ctx, id, req, member_id);
        }
        if self.is_fenced(req.group_instance_id.as_deref(), &member_id) {
            return join_error(ctx, id, &member_id, ErrorCode::FencedInstanceId);
        }
        let instance_unknown = req
            .group_instance_id
            .as_ref()
            .is_some_and(|i| !self.static_members.contains_key(i));
        let Some(member) = self.members.get(&member_id) else {
            return join_error(ctx, id, &member_id, ErrorCode::UnknownMemberId);
        };
        if instance_unknown {
            return join_error(ctx, id, &member_id, ErrorCode::UnknownMemberId);
        }
        let unchanged = member.protocols == req.protocols;
        match self.state {
            GroupState::PreparingRebalance => self.update_and_rebalance(ctx, id, req),
            GroupState::CompletingRebalance if unchanged => {
                // A retried join after the phase completed: repeat this generation's answer.
                let resp = self.join_result(&member_id, false);
                self.touch(ctx.now, &member_id);
                respond(ctx, id, resp);
            }
            GroupState::Stable if unchanged && !self.is_leader(&member_id) => {
                let mut resp = self.join_result(&member_id, false);
                resp.members.clear();
                self.touch(ctx.now, &member_id);
                respond(ctx, id, resp);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_and_rebalance(ctx, id, req)
            }
            GroupState::Empty | GroupState::Dead => {
                join_error(ctx, id, &member_id, ErrorCode::UnknownMemberId)
            }
        }
    }

    fn add_and_rebalance(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: RequestId,
        req: JoinGroup,
        member_id: String,
    ) {
        if self.state == GroupState::PreparingRebalance && self.initial_delay.is_some() {
            self.new_member_added = true;
        }
        let was_empty = self.members.is_empty();
        self.add_member(Member {
            id: member_id,
            instance_id: req.group_instance_id,
            client_id: req.client_id,
            client_host: req.client_host,
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            session_timeout_ms: req.session_timeout_ms,
            protocols: req.protocols,
            assignment: Default::default(),
            awaiting_join: Some(id),
            awaiting_sync: None,
            is_new: true,
            deadline_ms: Some(ctx.now + NEW_MEMBER_JOIN_TIMEOUT_MS),
        });
        if was_empty {
            self.protocol_type = Some(req.protocol_type);
        }
        self.maybe_prepare_rebalance(ctx);
    }

    fn update_and_rebalance(&mut self, ctx: &mut Ctx<'_>, id: RequestId, req: JoinGroup) {
        let now = ctx.now;
        let Some(member) = self.members.get_mut(&req.member_id) else {
            return join_error(ctx, id, &req.member_id, ErrorCode::UnknownMemberId);
        };
        member.protocols = req.protocols;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        member.deadline_ms = Some(now + i64::from(member.session_timeout_ms));
        if let Some(old) = member.awaiting_join.replace(id) {
            // The earlier join was abandoned by its client; answer it so nothing stays parked.
            join_error(ctx, old, &req.member_id, ErrorCode::RebalanceInProgress);
        }
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(ctx);
        }
    }

    /// KIP-345: a known instance id rejoining with an unknown member id takes over the old
    /// member's place; the old id is fenced.
    fn replace_static(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: RequestId,
        req: JoinGroup,
        old_id: &str,
        new_id: String,
    ) {
        let Some(mut member) = self.members.shift_remove(old_id) else {
            return join_error(ctx, id, "", ErrorCode::UnknownMemberId);
        };
        if let Some(old) = member.awaiting_join.take() {
            join_error(ctx, old, old_id, ErrorCode::FencedInstanceId);
        }
        if let Some(old) = member.awaiting_sync.take() {
            super::sync::sync_error(ctx, old, ErrorCode::FencedInstanceId);
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        let was_leader = self.is_leader(old_id);
        member.id = new_id.clone();
        member.protocols = req.protocols;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.session_timeout_ms = req.session_timeout_ms;
        member.client_id = req.client_id;
        member.client_host = req.client_host;
        member.awaiting_join = Some(id);
        member.deadline_ms = Some(ctx.now + i64::from(member.session_timeout_ms));
        self.members.insert(new_id.clone(), member);
        if let Some(instance) = req.group_instance_id {
            self.static_members.insert(instance, new_id.clone());
        }
        if was_leader {
            self.leader = Some(new_id.clone());
        }
        match self.state {
            GroupState::Stable if self.select_protocol() == self.protocol_name => {
                // Same protocol: no rebalance, the member resumes the current generation with
                // the old member's assignment (persisted first, so a restart knows the new id).
                ctx.fx.persist.push(self.metadata_record());
                let leader = self.is_leader(&new_id);
                let resp = self.join_result(&new_id, leader);
                if let Some(m) = self.members.get_mut(&new_id) {
                    m.awaiting_join = None;
                }
                respond(ctx, id, resp);
            }
            GroupState::PreparingRebalance => {}
            // In CompletingRebalance the leader may already hold the old id in its assignment;
            // only a new rebalance keeps assignment and membership consistent.
            _ => self.prepare_rebalance(ctx),
        }
    }

    /// This generation's join answer for one member; the leader also gets every member.
    fn join_result(&self, member_id: &str, skip_assignment: bool) -> JoinGroupResponse {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if self.is_leader(member_id) {
            self.members
                .values()
                .map(|m| JoinGroupMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    metadata: m.metadata_for(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinGroupResponse {
            error: ErrorCode::None,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            skip_assignment,
            member_id: member_id.to_string(),
            members,
        }
    }

    pub(crate) fn touch(&mut self, now: i64, member_id: &str) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.deadline_ms = Some(now + i64::from(m.session_timeout_ms));
        }
    }

    pub(crate) fn maybe_prepare_rebalance(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(ctx);
        }
    }

    pub(crate) fn prepare_rebalance(&mut self, ctx: &mut Ctx<'_>) {
        if self.state == GroupState::CompletingRebalance {
            // Parked followers must rejoin: the assignment they wait for will never come.
            for m in self.members.values_mut() {
                m.assignment = Default::default();
                if let Some(old) = m.awaiting_sync.take() {
                    super::sync::sync_error(ctx, old, ErrorCode::RebalanceInProgress);
                }
            }
        }
        self.pending_sync.clear();
        self.sync_deadline_ms = None;
        let rebalance_timeout = self.rebalance_timeout_ms();
        let initial = ctx.cfg.initial_rebalance_delay_ms;
        if self.state == GroupState::Empty && initial > 0 {
            let delay_ms = initial.min(rebalance_timeout).max(0);
            self.initial_delay = Some(InitialDelay {
                delay_ms,
                remaining_ms: (rebalance_timeout - initial).max(0),
            });
            self.new_member_added = false;
            self.join_deadline_ms = Some(ctx.now + delay_ms);
        } else {
            self.initial_delay = None;
            self.join_deadline_ms = Some(ctx.now + rebalance_timeout);
        }
        self.transition(GroupState::PreparingRebalance, ctx.now);
    }

    /// The join phase ends early once every known member has rejoined, except during the
    /// initial delay, whose purpose is to wait for more members.
    pub(crate) fn maybe_complete_join(&mut self, ctx: &mut Ctx<'_>) {
        if self.state == GroupState::PreparingRebalance
            && self.initial_delay.is_none()
            && self.all_joined()
        {
            self.complete_join(ctx);
        }
    }

    pub(crate) fn on_join_deadline(&mut self, ctx: &mut Ctx<'_>) {
        self.join_deadline_ms = None;
        if let Some(d) = self.initial_delay {
            if self.new_member_added && d.remaining_ms > 0 {
                self.new_member_added = false;
                let delay_ms = ctx.cfg.initial_rebalance_delay_ms.min(d.remaining_ms);
                self.initial_delay = Some(InitialDelay {
                    delay_ms,
                    remaining_ms: (d.remaining_ms - d.delay_ms).max(0),
                });
                self.join_deadline_ms = Some(ctx.now + delay_ms);
                return;
            }
        }
        self.complete_join(ctx);
    }

    pub(crate) fn complete_join(&mut self, ctx: &mut Ctx<'_>) {
        self.join_deadline_ms = None;
        self.initial_delay = None;
        self.new_member_added = false;
        // Dynamic members that did not rejoin in time are gone; static ones keep their place
        // until their session expires, so a restarting instance does not cost a rebalance.
        let missing: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in missing {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time");
            self.remove_member(&id);
        }
        if !self.members.is_empty() {
            if !self.members.values().any(|m| m.awaiting_join.is_some()) {
                // Nobody rejoined: wait another rebalance timeout for session expiry to clear
                // the silent static members.
                tracing::warn!(group = %self.id, "no member rejoined; extending the join phase");
                self.join_deadline_ms = Some(ctx.now + self.rebalance_timeout_ms().max(1));
                return;
            }
            let leader_joined = self
                .leader
                .as_ref()
                .and_then(|l| self.members.get(l))
                .is_some_and(|m| m.awaiting_join.is_some());
            if !leader_joined {
                self.leader = self
                    .members
                    .values()
                    .find(|m| m.awaiting_join.is_some())
                    .map(|m| m.id.clone());
            }
        }
        self.generation = self.generation.saturating_add(1);
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = None;
            self.leader = None;
            self.transition(GroupState::Empty, ctx.now);
            ctx.fx.persist.push(self.metadata_record());
            return;
        }
        self.protocol_name = self.select_protocol();
        self.subscribed_topics = self.compute_subscribed_topics();
        self.transition(GroupState::CompletingRebalance, ctx.now);
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), "join phase complete");
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for member_id in ids {
            let resp = self.join_result(&member_id, false);
            if let Some(m) = self.members.get_mut(&member_id) {
                m.is_new = false;
                m.deadline_ms = Some(ctx.now + i64::from(m.session_timeout_ms));
                if let Some(req) = m.awaiting_join.take() {
                    respond(ctx, req, resp);
                }
            }
        }
        self.pending_sync = self.members.keys().cloned().collect();
        self.sync_deadline_ms = Some(ctx.now + self.rebalance_timeout_ms());
    }
}
