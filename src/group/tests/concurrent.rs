//! Many consumers joining at once, interleaved by a seeded shuffle, settle in one generation
//! without UNKNOWN_MEMBER_ID loops.

use super::client::{converge, Client, Rng};
use super::*;

fn join_at_once(n: usize, seed: u64, cfg: GroupConfig) {
    let mut h = Harness::new(cfg);
    let mut rng = Rng(seed);
    let mut clients: Vec<Client> = (0..n)
        .map(|i| Client::new(&format!("c{i}"), None))
        .collect();
    converge(&mut h, &mut clients, &mut rng, 5_000);
    let generation = h.c.generation(GROUP);
    assert!(clients.iter().all(|c| Some(c.generation) == generation));
    assert_eq!(
        clients.iter().map(|c| c.unknown_member).sum::<usize>(),
        0,
        "no UNKNOWN_MEMBER_ID"
    );
    let g = &h.c.groups[GROUP];
    assert_eq!(g.members.len(), n);
    // Every member got its own assignment from the leader.
    assert!(g
        .members
        .values()
        .all(|m| m.assignment == format!("a-{}", m.id)));
}

#[test]
fn two_consumers() {
    for seed in 0..5 {
        join_at_once(2, seed, GroupConfig::default());
        join_at_once(2, seed, no_delay());
    }
}

#[test]
fn five_consumers() {
    for seed in 0..5 {
        join_at_once(5, seed, GroupConfig::default());
        join_at_once(5, seed, no_delay());
    }
}

#[test]
fn fifty_consumers() {
    join_at_once(50, 42, GroupConfig::default());
    join_at_once(50, 43, no_delay());
}

#[test]
fn late_joiner_and_crash_reconverge() {
    let mut h = Harness::new(GroupConfig::default());
    let mut rng = Rng(9);
    let mut clients: Vec<Client> = (0..4)
        .map(|i| Client::new(&format!("c{i}"), None))
        .collect();
    converge(&mut h, &mut clients, &mut rng, 5_000);
    let first = h.c.generation(GROUP);
    clients.push(Client::new("late", None));
    converge(&mut h, &mut clients, &mut rng, 5_000);
    assert!(h.c.generation(GROUP) > first);
    // One consumer dies silently; the others notice via heartbeats and rebalance without it.
    let dead = clients.remove(0);
    converge(&mut h, &mut clients, &mut rng, 5_000);
    let g = &h.c.groups[GROUP];
    assert!(!g.members.contains_key(&dead.member_id));
    assert_eq!(g.members.len(), 4);
}
