//! Session and rebalance timeouts of consumer-group members.

use super::{ConsumerGroup, MemberState};

impl ConsumerGroup {
    /// Removes every member whose session expired, or that did not give up its revoked
    /// partitions within its rebalance timeout.
    /// Classic members have no rebalance timer: they are fenced when they do not rejoin or
    /// sync in time. Returns None when nothing expired, else whether a consumer-protocol member
    /// was among those removed (which may leave a group of classic members to downgrade). The
    /// caller bumps the group epoch, unless it downgrades the group.
    pub(crate) fn expire_members(&mut self, group_id: &str, now: i64) -> Option<bool> {
        let due = |d: Option<i64>| d.is_some_and(|d| d <= now);
        let expired: Vec<(String, &'static str, bool)> = self
            .members
            .values()
            .filter_map(|m| {
                let why = if due(m.session_deadline_ms) {
                    "session timeout"
                } else if !m.is_classic()
                    && m.state == MemberState::UnrevokedPartitions
                    && due(m.rebalance_deadline_ms)
                {
                    "rebalance timeout"
                } else if m.is_classic() && due(m.join_deadline_ms) {
                    "no JoinGroup within the rebalance timeout"
                } else if m.is_classic() && due(m.sync_deadline_ms) {
                    "no SyncGroup within the rebalance timeout"
                } else {
                    return None;
                };
                Some((m.id.clone(), why, !m.is_classic()))
            })
            .collect();
        if expired.is_empty() {
            return None;
        }
        let mut consumer_left = false;
        for (id, why, consumer) in expired {
            tracing::info!(group = %group_id, member = %id, reason = why, "member fenced");
            self.remove_member(&id);
            consumer_left |= consumer;
        }
        Some(consumer_left)
    }

    /// Gives members loaded from the log a full session (and revoking members a full rebalance
    /// timeout) from `now`.
    pub(crate) fn arm(&mut self, now: i64, session_timeout_ms: i64) {
        for m in self.members.values_mut() {
            if m.session_deadline_ms.is_none() {
                let session = m
                    .classic
                    .as_ref()
                    .map_or(session_timeout_ms, |c| i64::from(c.session_timeout_ms));
                m.session_deadline_ms = Some(now.saturating_add(session));
            }
            if m.state == MemberState::UnrevokedPartitions
                && !m.is_classic()
                && m.rebalance_deadline_ms.is_none()
            {
                m.rebalance_deadline_ms =
                    Some(now.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
            }
        }
    }
}
