//! Routes each request to its group, with the checks Kafka makes before a group is looked up
//! (group id, session timeout bounds) and the answers for groups that do not exist.

use super::state::Group;
use super::*;

impl GroupCoordinator {
    pub(crate) fn dispatch(
        &mut self,
        now: i64,
        id: RequestId,
        req: GroupRequest,
        fx: &mut Effects,
    ) -> Option<String> {
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            fx,
        };
        let reply = |ctx: &mut Ctx<'_>, r: GroupResponse| ctx.fx.responses.push((id, r));
        match req {
            GroupRequest::Join(j) => {
                if j.group_id.is_empty() {
                    let r = JoinGroupResponse::error(&j.member_id, ErrorCode::InvalidGroupId);
                    reply(&mut ctx, GroupResponse::Join(r));
                    return None;
                }
                if j.session_timeout_ms < self.cfg.min_session_timeout_ms
                    || j.session_timeout_ms > self.cfg.max_session_timeout_ms
                {
                    let r =
                        JoinGroupResponse::error(&j.member_id, ErrorCode::InvalidSessionTimeout);
                    reply(&mut ctx, GroupResponse::Join(r));
                    return None;
                }
                let group_id = j.group_id.clone();
                if let Some(g) = self.groups.get_mut(&group_id) {
                    match &g.consumer {
                        // A consumer group nobody is in turns back into a classic group.
                        Some(cg) if cg.members.is_empty() => {
                            ctx.fx.persist.push(GroupRecord::ConsumerGroup {
                                group_id: group_id.clone(),
                                value: None,
                            });
                            g.consumer = None;
                            tracing::info!(group = %group_id, "empty consumer group becomes a classic group");
                        }
                        // A live consumer group serves classic members itself.
                        Some(_) => {
                            g.classic_join_consumer(&mut ctx, &mut self.ids, id, j);
                            return Some(group_id);
                        }
                        None => {}
                    }
                }
                if !self.groups.contains_key(&group_id) && !j.member_id.is_empty() {
                    let r = JoinGroupResponse::error(&j.member_id, ErrorCode::UnknownMemberId);
                    reply(&mut ctx, GroupResponse::Join(r));
                    return None;
                }
                let group = self
                    .groups
                    .entry(group_id.clone())
                    .or_insert_with(|| Group::new(&group_id, now));
                group.join(&mut ctx, &mut self.ids, id, j);
                Some(group_id)
            }
            GroupRequest::Sync(s) => match self.groups.get_mut(&s.group_id) {
                _ if s.group_id.is_empty() => {
                    reply(
                        &mut ctx,
                        GroupResponse::Sync(SyncGroupResponse::error(ErrorCode::InvalidGroupId)),
                    );
                    None
                }
                None => {
                    reply(
                        &mut ctx,
                        GroupResponse::Sync(SyncGroupResponse::error(ErrorCode::UnknownMemberId)),
                    );
                    None
                }
                Some(g) => {
                    let group_id = s.group_id.clone();
                    if g.consumer.is_some() {
                        g.classic_sync_consumer(&mut ctx, id, s);
                    } else {
                        g.sync(&mut ctx, id, s);
                    }
                    Some(group_id)
                }
            },
            GroupRequest::Heartbeat(h) => match self.groups.get_mut(&h.group_id) {
                _ if h.group_id.is_empty() => {
                    reply(
                        &mut ctx,
                        GroupResponse::Heartbeat(HeartbeatResponse {
                            error: ErrorCode::InvalidGroupId,
                        }),
                    );
                    None
                }
                None => {
                    reply(
                        &mut ctx,
                        GroupResponse::Heartbeat(HeartbeatResponse {
                            error: ErrorCode::UnknownMemberId,
                        }),
                    );
                    None
                }
                Some(g) => {
                    let group_id = h.group_id.clone();
                    if g.consumer.is_some() {
                        g.classic_heartbeat_consumer(&mut ctx, id, h);
                    } else {
                        g.heartbeat(&mut ctx, id, h);
                    }
                    Some(group_id)
                }
            },
            GroupRequest::Leave(l) => match self.groups.get_mut(&l.group_id) {
                _ if l.group_id.is_empty() => {
                    let r = LeaveGroupResponse {
                        error: ErrorCode::InvalidGroupId,
                        members: Vec::new(),
                    };
                    reply(&mut ctx, GroupResponse::Leave(r));
                    None
                }
                None => {
                    let members = l
                        .members
                        .into_iter()
                        .map(|m| LeftMember {
                            member_id: m.member_id,
                            group_instance_id: m.group_instance_id,
                            error: ErrorCode::UnknownMemberId,
                        })
                        .collect();
                    let r = LeaveGroupResponse {
                        error: ErrorCode::None,
                        members,
                    };
                    reply(&mut ctx, GroupResponse::Leave(r));
                    None
                }
                Some(g) => {
                    let group_id = l.group_id.clone();
                    if g.consumer.is_some() {
                        g.classic_leave_consumer(&mut ctx, id, l);
                    } else {
                        g.leave(&mut ctx, id, l);
                    }
                    Some(group_id)
                }
            },
            GroupRequest::OffsetCommit(c) => {
                let group_id = c.group_id.clone();
                let r = match self.groups.get_mut(&group_id) {
                    // Without a group only a commit from outside group management makes sense;
                    // anything else comes from a generation that no longer exists.
                    None if c.generation_id >= 0 => {
                        offsets::commit_error(&c, ErrorCode::IllegalGeneration)
                    }
                    None => {
                        let g = self
                            .groups
                            .entry(group_id.clone())
                            .or_insert_with(|| Group::new(&group_id, now));
                        g.commit(&mut ctx, &c)
                    }
                    Some(g) => g.commit(&mut ctx, &c),
                };
                reply(&mut ctx, GroupResponse::OffsetCommit(r));
                Some(group_id)
            }
            GroupRequest::TxnOffsetCommit(c) => {
                let group_id = c.commit.group_id.clone();
                let r = match self.groups.get_mut(&group_id) {
                    // As for OffsetCommit: without a group only a commit from outside group
                    // management (KIP-447's fallback, generation -1) makes sense.
                    None if c.commit.generation_id >= 0 => {
                        offsets::commit_error(&c.commit, ErrorCode::IllegalGeneration)
                    }
                    None => {
                        let g = self
                            .groups
                            .entry(group_id.clone())
                            .or_insert_with(|| Group::new(&group_id, now));
                        g.txn_commit(&mut ctx, &c)
                    }
                    Some(g) => g.txn_commit(&mut ctx, &c),
                };
                reply(&mut ctx, GroupResponse::TxnOffsetCommit(r));
                Some(group_id)
            }
            GroupRequest::TxnMarker(m) => {
                let ids: Vec<String> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| g.pending_txn.contains_key(&m.producer_id))
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in &ids {
                    if let Some(g) = self.groups.get_mut(id) {
                        g.complete_txn(&mut ctx, m);
                    }
                }
                reply(&mut ctx, GroupResponse::TxnMarker);
                None
            }
            GroupRequest::ConsumerHeartbeat(h) => {
                let mut groups = consumer::heartbeat::Groups {
                    groups: &mut self.groups,
                    ids: &mut self.ids,
                };
                let (r, touched) = groups.consumer_heartbeat(&mut ctx, h);
                reply(&mut ctx, GroupResponse::ConsumerHeartbeat(r));
                touched
            }
            GroupRequest::ConsumerDescribe(d) => {
                let default = self
                    .cfg
                    .consumer_assignors
                    .first()
                    .map_or("uniform", |s| s.as_str());
                let r =
                    consumer::describe::describe(&self.groups, &d.group_ids, &d.topics, default);
                reply(&mut ctx, GroupResponse::ConsumerDescribe(r));
                None
            }
            GroupRequest::OffsetFetch(f) => {
                let r = offsets::fetch_offsets(self.groups.get(&f.group_id), &f);
                reply(&mut ctx, GroupResponse::OffsetFetch(r));
                None
            }
            GroupRequest::OffsetDelete(d) => {
                let r = match self.groups.get_mut(&d.group_id) {
                    _ if d.group_id.is_empty() => offsets::delete_error(ErrorCode::InvalidGroupId),
                    None => offsets::delete_error(ErrorCode::GroupIdNotFound),
                    Some(g) => g.delete_offsets(&mut ctx, &d),
                };
                reply(&mut ctx, GroupResponse::OffsetDelete(r));
                Some(d.group_id)
            }
            GroupRequest::Describe(d) => {
                let r = admin::describe(&self.groups, &d.group_ids);
                reply(&mut ctx, GroupResponse::Describe(r));
                None
            }
            GroupRequest::List(l) => {
                let r = admin::list(&self.groups, &l);
                reply(&mut ctx, GroupResponse::List(r));
                None
            }
            GroupRequest::Delete(d) => {
                let r = admin::delete(&mut ctx, &mut self.groups, &d.group_ids);
                reply(&mut ctx, GroupResponse::Delete(r));
                for id in &d.group_ids {
                    if !self.groups.contains_key(id) {
                        self.set_timer(id, None);
                    }
                }
                None
            }
        }
    }
}
