//! Session and rebalance timeouts of consumer-group members.

use super::{ConsumerGroup, MemberState};

impl ConsumerGroup {
    /// Removes every member whose session expired, or that did not give up its revoked
    /// partitions within its rebalance timeout, and bumps the group epoch so the others are
    /// reassigned. Returns whether anything changed.
    pub(crate) fn expire_members(&mut self, group_id: &str, now: i64) -> bool {
        let expired: Vec<(String, &'static str)> = self
            .members
            .values()
            .filter_map(|m| {
                if m.session_deadline_ms.is_some_and(|d| d <= now) {
                    Some((m.id.clone(), "session timeout"))
                } else if m.state == MemberState::UnrevokedPartitions
                    && m.rebalance_deadline_ms.is_some_and(|d| d <= now)
                {
                    Some((m.id.clone(), "rebalance timeout"))
                } else {
                    None
                }
            })
            .collect();
        if expired.is_empty() {
            return false;
        }
        for (id, why) in expired {
            tracing::info!(group = %group_id, member = %id, reason = why, "member fenced");
            self.remove_member(&id);
        }
        self.group_epoch = self.group_epoch.saturating_add(1);
        true
    }

    /// Gives members loaded from the log a full session (and revoking members a full rebalance
    /// timeout) from `now`.
    pub(crate) fn arm(&mut self, now: i64, session_timeout_ms: i64) {
        for m in self.members.values_mut() {
            if m.session_deadline_ms.is_none() {
                m.session_deadline_ms = Some(now.saturating_add(session_timeout_ms));
            }
            if m.state == MemberState::UnrevokedPartitions && m.rebalance_deadline_ms.is_none() {
                m.rebalance_deadline_ms =
                    Some(now.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
            }
        }
    }
}
