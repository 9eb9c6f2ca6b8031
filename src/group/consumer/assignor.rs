//! The server-side assignors of KIP-848 consumer groups.
//!
//! `uniform` (Kafka's default) spreads partitions so member counts differ by at most one where
//! subscriptions allow, keeping each member's previous partitions where it can (fewer revocations
//! per rebalance). `range` gives each member a contiguous range of every topic it subscribes to,
//! so members line up across co-partitioned topics.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::Assignment;

/// Names clients may ask for in `ServerAssignor`, the first being the default.
pub const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// Member id -> subscribed topic ids (existing topics only).
pub(crate) type Subscriptions = BTreeMap<String, BTreeSet<Uuid>>;

/// Computes a target assignment for every member of `subscriptions`.
pub(crate) fn assign(
    assignor: &str,
    subscriptions: &Subscriptions,
    partitions: &BTreeMap<Uuid, i32>,
    previous: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    if assignor == "range" {
        range(subscriptions, partitions)
    } else {
        uniform(subscriptions, partitions, previous)
    }
}

fn range(
    subscriptions: &Subscriptions,
    partitions: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = subscriptions
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (topic, count) in partitions {
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, subs)| subs.contains(topic))
            .map(|(m, _)| m)
            .collect();
        let n = i32::try_from(members.len()).unwrap_or(i32::MAX);
        if n == 0 {
            continue;
        }
        let (quota, extra) = (count / n, count % n);
        let mut start = 0;
        for (i, m) in members.into_iter().enumerate() {
            let i = i32::try_from(i).unwrap_or(i32::MAX);
            let len = quota + i32::from(i < extra);
            if len > 0 {
                if let Some(a) = out.get_mut(m) {
                    a.insert(*topic, (start..start + len).collect());
                }
            }
            start += len;
        }
    }
    out
}

fn uniform(
    subscriptions: &Subscriptions,
    partitions: &BTreeMap<Uuid, i32>,
    previous: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    let mut owner: BTreeMap<(Uuid, i32), String> = BTreeMap::new();
    let mut count: BTreeMap<String, usize> = subscriptions.keys().map(|m| (m.clone(), 0)).collect();
    let eligible = |m: &str, t: &Uuid| subscriptions.get(m).is_some_and(|s| s.contains(t));
    let exists = |t: &Uuid, p: i32| partitions.get(t).is_some_and(|n| p >= 0 && p < *n);

    // 1. Keep what each member had, where it still subscribes and the partition still exists.
    for (m, prev) in previous {
        for (t, parts) in prev {
            if !eligible(m, t) {
                continue;
            }
            for &p in parts {
                if exists(t, p) && !owner.contains_key(&(*t, p)) {
                    owner.insert((*t, p), m.clone());
                    if let Some(c) = count.get_mut(m) {
                        *c += 1;
                    }
                }
            }
        }
    }
    // 2. Every unowned partition goes to the least-loaded member that subscribes to its topic.
    for (t, n) in partitions {
        for p in 0..*n {
            if owner.contains_key(&(*t, p)) {
                continue;
            }
            let best = count
                .iter()
                .filter(|(m, _)| eligible(m, t))
                .min_by_key(|(_, c)| **c)
                .map(|(m, _)| m.clone());
            if let Some(m) = best {
                owner.insert((*t, p), m.clone());
                if let Some(c) = count.get_mut(&m) {
                    *c += 1;
                }
            }
        }
    }
    // 3. Balance: move a partition from a member to one with at least two fewer that can take
    // it. Each move lowers the sum of squared counts, so this ends; the cap is a backstop.
    let cap = owner.len().saturating_mul(2);
    for _ in 0..cap {
        let Some(mv) = find_move(&owner, &count, &eligible) else {
            break;
        };
        let (key, from, to) = mv;
        owner.insert(key, to.clone());
        if let Some(c) = count.get_mut(&from) {
            *c -= 1;
        }
        if let Some(c) = count.get_mut(&to) {
            *c += 1;
        }
    }
    let mut out: BTreeMap<String, Assignment> = subscriptions
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for ((t, p), m) in owner {
        if let Some(a) = out.get_mut(&m) {
            a.entry(t).or_default().insert(p);
        }
    }
    out
}

/// The partition to move from the most-loaded member that has one some much-less-loaded
/// member could take instead.
fn find_move(
    owner: &BTreeMap<(Uuid, i32), String>,
    count: &BTreeMap<String, usize>,
    eligible: &dyn Fn(&str, &Uuid) -> bool,
) -> Option<((Uuid, i32), String, String)> {
    let mut by_load: Vec<(&String, usize)> = count.iter().map(|(m, c)| (m, *c)).collect();
    by_load.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let least = by_load.last().map_or(0, |(_, c)| *c);
    for (from, load) in &by_load {
        if *load < least + 2 {
            break;
        }
        // The last partitions first: a member tends to keep its lowest ones.
        for ((t, p), _) in owner.iter().rev().filter(|(_, m)| m == from) {
            let to = by_load
                .iter()
                .rev()
                .find(|(m, c)| c + 1 < *load && eligible(m, t))
                .map(|(m, _)| (*m).clone());
            if let Some(to) = to {
                return Some(((*t, *p), (*from).clone(), to));
            }
        }
    }
    None
}
