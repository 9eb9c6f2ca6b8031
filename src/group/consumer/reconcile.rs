//! One member's step towards its target assignment (Kafka's CurrentAssignmentBuilder).
//!
//! The invariant it keeps: a partition is never given to a member while another member still
//! holds it (assigned or being revoked). So a member first gives up what it must lose, staying at
//! its epoch, and moves to the target epoch once it no longer reports those partitions; partitions
//! other members have not released yet are handed over on a later heartbeat.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{Assignment, ConsumerMember, MemberState};

/// Whether the member still reports any partition of `revoking`. A heartbeat without an owned
/// list (None: unchanged) cannot prove the member let go, so it counts as still owning.
fn still_owns(owned: Option<&[(Uuid, Vec<i32>)]>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(t, parts)| {
        revoking
            .get(t)
            .is_some_and(|r| parts.iter().any(|p| r.contains(p)))
    })
}

/// The member after one reconciliation step towards `target` at `target_epoch`.
pub(crate) fn reconcile(
    member: &ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    held_by_others: &BTreeSet<(Uuid, i32)>,
    owned: Option<&[(Uuid, Vec<i32>)]>,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.epoch == target_epoch => member.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => next(
            member,
            member.epoch,
            target_epoch,
            target,
            held_by_others,
            owned,
        ),
        MemberState::UnrevokedPartitions => {
            if still_owns(owned, &member.pending_revocation) {
                return member.clone();
            }
            next(
                member,
                member.epoch.saturating_add(1),
                target_epoch,
                target,
                held_by_others,
                owned,
            )
        }
    }
}

fn next(
    member: &ConsumerMember,
    epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    held_by_others: &BTreeSet<(Uuid, i32)>,
    owned: Option<&[(Uuid, Vec<i32>)]>,
) -> ConsumerMember {
    let mut keep = Assignment::new();
    let mut revoke = Assignment::new();
    let mut add = Assignment::new();
    let mut unreleased = false;
    let topics: BTreeSet<Uuid> = target
        .keys()
        .chain(member.assigned.keys())
        .copied()
        .collect();
    let empty = BTreeSet::new();
    for t in topics {
        let want = target.get(&t).unwrap_or(&empty);
        let have = member.assigned.get(&t).unwrap_or(&empty);
        let kept: BTreeSet<i32> = have.intersection(want).copied().collect();
        let lost: BTreeSet<i32> = have.difference(&kept).copied().collect();
        let mut gained = BTreeSet::new();
        for p in want.difference(&kept) {
            if held_by_others.contains(&(t, *p)) {
                unreleased = true;
            } else {
                gained.insert(*p);
            }
        }
        if !kept.is_empty() {
            keep.insert(t, kept);
        }
        if !lost.is_empty() {
            revoke.insert(t, lost);
        }
        if !gained.is_empty() {
            add.insert(t, gained);
        }
    }
    let mut m = member.clone();
    if !revoke.is_empty() && still_owns(owned, &revoke) {
        // Give up first, at the current epoch; the rest comes once the member confirms.
        m.state = MemberState::UnrevokedPartitions;
        set_epoch(&mut m, epoch);
        m.assigned = keep;
        m.pending_revocation = revoke;
        return m;
    }
    for (t, parts) in add {
        keep.entry(t).or_default().extend(parts);
    }
    m.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    set_epoch(&mut m, target_epoch);
    m.assigned = keep;
    m.pending_revocation = Assignment::new();
    m
}

/// As Kafka: the epoch the member had becomes its previous one, which a heartbeat may still
/// carry when the response with the new epoch was lost.
fn set_epoch(m: &mut ConsumerMember, epoch: i32) {
    m.previous_epoch = m.epoch;
    m.epoch = epoch;
}
