//! Online migration between the protocols, as Kafka 4.x does it: a ConsumerGroupHeartbeat that
//! joins a live classic group turns it into a consumer group whose classic members keep their
//! partitions and epochs and rejoin through JoinGroup when the new target leaves them behind;
//! when the last consumer-protocol member of a group of classic members leaves, the group turns
//! back into a classic group and rebalances. Offsets stay with the group through both.

use bytes::Bytes;

use super::{embedded, ClassicMember, ConsumerGroup, ConsumerMember, TopicImage};
use crate::group::api::{GroupResponse, JoinGroupResponse};
use crate::group::error::ErrorCode;
use crate::group::records::GroupRecord;
use crate::group::state::{Group, GroupState, Member, CONSUMER_PROTOCOL_TYPE};
use crate::group::{Ctx, GroupConfig};

/// `group.consumer.migration.policy`: which online conversions the coordinator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    Disabled,
    Upgrade,
    Downgrade,
    Bidirectional,
}

impl MigrationPolicy {
    /// Kafka takes the names in any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(MigrationPolicy::Disabled),
            "upgrade" => Some(MigrationPolicy::Upgrade),
            "downgrade" => Some(MigrationPolicy::Downgrade),
            "bidirectional" => Some(MigrationPolicy::Bidirectional),
            _ => None,
        }
    }

    pub fn upgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Upgrade | MigrationPolicy::Bidirectional
        )
    }

    pub fn downgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Downgrade | MigrationPolicy::Bidirectional
        )
    }
}

impl ConsumerGroup {
    /// Kafka's validateOnlineDowngrade, asked once a consumer-protocol member has gone: the
    /// members left all speak the classic protocol and fit in a classic group.
    pub(crate) fn downgradable(&self, cfg: &GroupConfig) -> bool {
        !self.members.is_empty()
            && self.members.values().all(ConsumerMember::is_classic)
            && cfg.migration_policy.downgrade()
            && self.members.len() <= cfg.max_group_size
    }
}

impl Group {
    /// Kafka's validateOnlineUpgrade and convertToConsumerGroup. Every classic member becomes a
    /// consumer-group member at the group's generation, owning (and targeted with) the
    /// partitions of its last assignment; requests parked in a join or sync phase are told to
    /// rejoin. On refusal the group is unchanged and the reason is returned.
    pub(crate) fn upgrade_to_consumer(
        &mut self,
        ctx: &mut Ctx<'_>,
        image: &TopicImage,
    ) -> Result<(), String> {
        let id = self.id.clone();
        if !ctx.cfg.migration_policy.upgrade() {
            return Err(format!(
                "Cannot upgrade classic group {id} to consumer group because the online upgrade \
                 is disabled."
            ));
        }
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return Err(format!(
                "Cannot upgrade classic group {id} to consumer group because the group does not \
                 use the consumer embedded protocol."
            ));
        }
        if self.members.len() > ctx.cfg.consumer_max_size {
            return Err(format!(
                "Cannot upgrade classic group {id} to consumer group because the group size \
                 exceeds the consumer group maximum size."
            ));
        }
        let malformed = || {
            format!(
                "Cannot upgrade the classic group {id} to consumer group because the embedded \
                 consumer protocol is malformed."
            )
        };
        let protocol = self.protocol_name.clone().ok_or_else(malformed)?;
        let generation = self.generation;
        let mut cg = ConsumerGroup {
            group_epoch: generation,
            assignment_epoch: generation,
            ..Default::default()
        };
        for m in self.members.values() {
            let sub = embedded::subscription(&m.metadata_for(&protocol)).ok_or_else(malformed)?;
            let assigned = embedded::assignment(&m.assignment, image).ok_or_else(malformed)?;
            let mut names: Vec<String> = sub.topics.iter().map(|t| t.to_string()).collect();
            names.sort();
            names.dedup();
            let mut member = ConsumerMember::new(&m.id);
            member.instance_id = m.instance_id.clone();
            member.rack_id = sub.rack_id.as_ref().map(|r| r.to_string());
            member.client_id = m.client_id.clone();
            member.client_host = m.client_host.clone();
            member.rebalance_timeout_ms = m.rebalance_timeout_ms;
            member.subscribed_topic_names = names;
            member.epoch = generation;
            member.previous_epoch = generation;
            member.assigned = assigned.clone();
            member.classic = Some(ClassicMember {
                session_timeout_ms: m.session_timeout_ms,
                protocols: m.protocols.clone(),
            });
            member.session_deadline_ms =
                Some(ctx.now.saturating_add(i64::from(m.session_timeout_ms)));
            cg.target.insert(m.id.clone(), assigned);
            cg.add_member(member);
        }
        // The new member always changes the subscriptions, so a new rebalance follows: those
        // waiting in this one learn it now.
        for m in self.members.values_mut() {
            if let Some(req) = m.awaiting_join.take() {
                let r = JoinGroupResponse::error(&m.id, ErrorCode::RebalanceInProgress);
                ctx.fx.responses.push((req, GroupResponse::Join(r)));
            }
            if let Some(req) = m.awaiting_sync.take() {
                crate::group::sync::sync_error(ctx, req, ErrorCode::RebalanceInProgress);
            }
        }
        ctx.fx.persist.push(GroupRecord::GroupMetadata {
            group_id: id.clone(),
            value: None,
        });
        let offsets = std::mem::take(&mut self.offsets);
        *self = Group::new(&id, ctx.now);
        self.offsets = offsets;
        self.consumer = Some(cg);
        tracing::info!(group = %id, generation, "classic group upgraded to a consumer group");
        Ok(())
    }

    /// Kafka's convertToClassicGroup: the classic members form a classic group at the group
    /// epoch, holding their target assignments. After a member left, a rebalance starts (they
    /// learn it from their next heartbeat); after a static replacement, the group stays Stable.
    pub(crate) fn downgrade_to_classic(&mut self, ctx: &mut Ctx<'_>, rebalance: bool) {
        let Some(cg) = self.consumer.take() else {
            return;
        };
        let id = self.id.clone();
        ctx.fx.persist.push(GroupRecord::ConsumerGroup {
            group_id: id.clone(),
            value: None,
        });
        // The targets only name subscribed topics, which the subscription metadata maps.
        let image = TopicImage::new(
            cg.subscription_metadata
                .iter()
                .map(|(n, t)| (n.clone(), *t)),
        );
        let offsets = std::mem::take(&mut self.offsets);
        *self = Group::new(&id, ctx.now);
        self.offsets = offsets;
        self.generation = cg.group_epoch;
        for m in cg.members.values() {
            let Some(c) = &m.classic else {
                continue;
            };
            self.add_member(Member {
                id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: c.session_timeout_ms,
                protocols: c.protocols.clone(),
                assignment: Bytes::new(),
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                deadline_ms: Some(ctx.now.saturating_add(i64::from(c.session_timeout_ms))),
            });
        }
        self.protocol_type = Some(CONSUMER_PROTOCOL_TYPE.to_string());
        self.protocol_name = self.select_protocol();
        let protocol = self.protocol_name.clone().unwrap_or_default();
        for m in self.members.values_mut() {
            let version = embedded::version(&m.metadata_for(&protocol));
            let target = cg.target.get(&m.id).cloned().unwrap_or_default();
            m.assignment = embedded::encode_assignment(&target, &image, version);
        }
        self.subscribed_topics = self.compute_subscribed_topics();
        self.transition(GroupState::Stable, ctx.now);
        ctx.fx.persist.push(self.metadata_record());
        tracing::info!(group = %id, generation = self.generation, "consumer group downgraded to a classic group");
        if rebalance {
            self.prepare_rebalance(ctx);
        }
    }
}
