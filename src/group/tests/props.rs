//! Seeded random operations: invariants hold after every step, generations never go back,
//! every request is answered eventually, and the survivors converge again.

use proptest::prelude::*;

use super::client::{converge, Client, Rng};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Step(usize),
    Advance(i64),
    Crash(usize),
    Restart(usize),
    Leave(usize),
    Commit(usize),
    /// The client gives up on its request in flight and sends it again.
    Retry(usize),
}

const CLIENTS: usize = 4;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..CLIENTS).prop_map(Op::Step),
        3 => (0..15_000i64).prop_map(Op::Advance),
        1 => (0..CLIENTS).prop_map(Op::Crash),
        1 => (0..CLIENTS).prop_map(Op::Restart),
        1 => (0..CLIENTS).prop_map(Op::Leave),
        1 => (0..CLIENTS).prop_map(Op::Commit),
        1 => (0..CLIENTS).prop_map(Op::Retry),
    ]
}

fn run(ops: Vec<Op>, seed: u64, initial_delay: bool) {
    let cfg = if initial_delay {
        GroupConfig::default()
    } else {
        no_delay()
    };
    let mut h = Harness::new(cfg);
    // Half the clients are static members.
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|i| {
            let name = format!("c{i}");
            let instance = (i % 2 == 1).then(|| format!("inst{i}"));
            Client::new(&name, instance.as_deref())
        })
        .collect();
    let mut alive = [true; CLIENTS];
    let mut last_generation = 0;
    for op in ops {
        match op {
            Op::Step(i) if alive[i] => clients[i].step(&mut h),
            Op::Step(_) => {}
            Op::Advance(ms) => h.advance(ms),
            Op::Crash(i) => alive[i] = false,
            Op::Restart(i) => {
                clients[i].restart();
                alive[i] = true;
            }
            Op::Leave(i) if alive[i] => clients[i].leave(&mut h),
            Op::Leave(_) => {}
            Op::Commit(i) if alive[i] => clients[i].commit(&mut h),
            Op::Commit(_) => {}
            Op::Retry(i) if alive[i] => {
                clients[i].inflight = None;
                clients[i].step(&mut h);
            }
            Op::Retry(_) => {}
        }
        match h.c.generation(GROUP) {
            // A group that expired starts again from generation 0, as a new group.
            None => last_generation = 0,
            Some(generation) => {
                assert!(
                    generation >= last_generation,
                    "generation went from {last_generation} to {generation}"
                );
                last_generation = generation;
            }
        }
    }
    // The survivors come back together in one generation.
    let mut live: Vec<Client> = clients
        .into_iter()
        .zip(alive)
        .filter_map(|(c, a)| a.then_some(c))
        .collect();
    if !live.is_empty() {
        let mut rng = Rng(seed);
        converge(&mut h, &mut live, &mut rng, 20_000);
        let generation = h.c.generation(GROUP);
        assert!(live.iter().all(|c| Some(c.generation) == generation));
    }
    // Then everyone goes quiet: after enough time every request has had its answer.
    h.run_for(20 * 60 * 1000);
    let unanswered: Vec<RequestId> = h
        .sent
        .iter()
        .copied()
        .filter(|id| !h.delivered.contains(id))
        .collect();
    assert!(unanswered.is_empty(), "never answered: {unanswered:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operations(ops in proptest::collection::vec(op(), 1..200), seed in any::<u64>(), delay in any::<bool>()) {
        run(ops, seed, delay);
    }
}
