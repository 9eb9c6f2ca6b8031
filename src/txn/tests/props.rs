//! Random sequences of requests, ticks and marker completions, checked after every step:
//! - a transactional id's (producer id, epoch) never goes back;
//! - a prepared transaction has exactly one piece of marker work outstanding for its producer
//!   id and epoch, and no other open transaction exists for the id meanwhile;
//! - a Prepare is always followed by the same outcome (PrepareCommit only by CompleteCommit);
//! - replaying every record persisted so far rebuilds an equal state.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Init {
        id: usize,
        expected: u8,
    },
    Add {
        id: usize,
        partition: i32,
        stale: bool,
        v2: bool,
    },
    AddOffsets {
        id: usize,
        v2: bool,
    },
    Verify {
        id: usize,
        partition: i32,
    },
    End {
        id: usize,
        commit: bool,
        v2: bool,
        epoch_back: i16,
    },
    Markers {
        pick: usize,
    },
    Tick {
        advance_ms: i64,
    },
}

const IDS: [&str; 3] = ["a", "b", "c"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..3u8).prop_map(|(id, expected)| Op::Init { id, expected }),
        (0..3usize, 0..3i32, prop::bool::weighted(0.1), any::<bool>()).prop_map(
            |(id, partition, stale, v2)| Op::Add {
                id,
                partition,
                stale,
                v2
            }
        ),
        (0..3usize, any::<bool>()).prop_map(|(id, v2)| Op::AddOffsets { id, v2 }),
        (0..3usize, 0..3i32).prop_map(|(id, partition)| Op::Verify { id, partition }),
        (0..3usize, any::<bool>(), any::<bool>(), 0..3i16).prop_map(
            |(id, commit, v2, epoch_back)| Op::End {
                id,
                commit,
                v2,
                epoch_back
            }
        ),
        (0..8usize).prop_map(|pick| Op::Markers { pick }),
        (0..4_000i64).prop_map(|advance_ms| Op::Tick { advance_ms }),
    ]
}

fn small_config() -> TxnConfig {
    TxnConfig {
        max_timeout_ms: 60_000,
        id_expiration_ms: 20_000,
        abort_check_interval_ms: 500,
        expiry_check_interval_ms: 2_000,
        server_version: TxnVersion::V2,
        coordinator_epoch: 0,
    }
}

fn request(c: &TxnCoordinator, op: &Op) -> Option<TxnRequest> {
    let current = |id: usize| {
        c.transaction(IDS[id])
            .map(|m| (m.producer_id, m.producer_epoch))
            .unwrap_or((ProducerId(0), ProducerEpoch(0)))
    };
    Some(match *op {
        Op::Init { id, expected } => TxnRequest::InitProducerId(InitProducerId {
            transactional_id: IDS[id].into(),
            transaction_timeout_ms: 3_000,
            expected: match expected {
                0 => None,
                1 => Some(current(id)),
                _ => Some((
                    current(id).0,
                    ProducerEpoch(current(id).1 .0.saturating_sub(1)),
                )),
            },
        }),
        Op::Add {
            id,
            partition,
            stale,
            v2,
        } => {
            let (pid, epoch) = current(id);
            TxnRequest::AddPartitions(AddPartitions {
                transactional_id: IDS[id].into(),
                producer_id: pid,
                producer_epoch: if stale {
                    ProducerEpoch(epoch.0.saturating_sub(1))
                } else {
                    epoch
                },
                partitions: [tp("t", partition)].into_iter().collect(),
                verify_only: false,
                client_version: if v2 { TxnVersion::V2 } else { TxnVersion::V1 },
            })
        }
        Op::AddOffsets { id, v2 } => {
            let (pid, epoch) = current(id);
            TxnRequest::AddOffsets(AddOffsets {
                transactional_id: IDS[id].into(),
                producer_id: pid,
                producer_epoch: epoch,
                group_id: "g".into(),
                client_version: if v2 { TxnVersion::V2 } else { TxnVersion::V1 },
            })
        }
        Op::Verify { id, partition } => {
            let (pid, epoch) = current(id);
            TxnRequest::AddPartitions(AddPartitions {
                transactional_id: IDS[id].into(),
                producer_id: pid,
                producer_epoch: epoch,
                partitions: [tp("t", partition)].into_iter().collect(),
                verify_only: true,
                client_version: TxnVersion::V2,
            })
        }
        Op::End {
            id,
            commit,
            v2,
            epoch_back,
        } => {
            let (pid, epoch) = current(id);
            TxnRequest::EndTxn(EndTxn {
                transactional_id: IDS[id].into(),
                producer_id: pid,
                producer_epoch: ProducerEpoch(epoch.0.saturating_sub(epoch_back)),
                result: if commit {
                    TxnResult::Commit
                } else {
                    TxnResult::Abort
                },
                client_version: if v2 { TxnVersion::V2 } else { TxnVersion::V1 },
            })
        }
        Op::Markers { .. } | Op::Tick { .. } => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let mut c = TxnCoordinator::new(small_config(), Arc::new(Counter(AtomicI64::new(1))));
        let mut now = 0i64;
        let mut persisted: Vec<TxnRecord> = Vec::new();
        let mut outstanding: Vec<MarkerWork> = Vec::new();
        let mut last_seen: BTreeMap<&str, (ProducerId, ProducerEpoch)> = BTreeMap::new();
        for op in &ops {
            let before: BTreeMap<String, TxnMetadata> = c.transactions().clone();
            let fx = match op {
                Op::Tick { advance_ms } => {
                    now += advance_ms;
                    if c.next_deadline().is_some_and(|d| d <= now) { c.tick(now) } else { Effects::default() }
                }
                Op::Markers { pick } => {
                    if outstanding.is_empty() {
                        continue;
                    }
                    let work = outstanding.remove(pick % outstanding.len());
                    c.handle(now, 1, TxnRequest::MarkersWritten(work.done()))
                }
                other => {
                    let req = request(&c, other).expect("a request");
                    c.handle(now, 1, req)
                }
            };
            persisted.extend(fx.persist);
            outstanding.extend(fx.tasks);

            for (i, id) in IDS.iter().enumerate() {
                let Some(m) = c.transaction(id) else { continue };
                let now_pair = (m.producer_id, m.producer_epoch);
                if let Some(prev) = last_seen.get(id) {
                    prop_assert!(now_pair >= *prev, "{id}: {prev:?} -> {now_pair:?} after {op:?}");
                }
                last_seen.insert(IDS[i], now_pair);
                if let Some(old) = before.get(*id) {
                    match old.state {
                        TxnState::PrepareCommit => prop_assert!(
                            matches!(m.state, TxnState::PrepareCommit | TxnState::CompleteCommit),
                            "{id}: PrepareCommit -> {:?}", m.state),
                        TxnState::PrepareAbort => prop_assert!(
                            matches!(m.state, TxnState::PrepareAbort | TxnState::CompleteAbort),
                            "{id}: PrepareAbort -> {:?}", m.state),
                        _ => {}
                    }
                }
                let owed = outstanding
                    .iter()
                    .filter(|w| w.transactional_id == *id && (w.producer_id, w.producer_epoch) == now_pair)
                    .count();
                if m.state.is_prepared() {
                    prop_assert_eq!(owed, 1, "{}: prepared with {} pieces of work", id, owed);
                    let w = outstanding.iter().find(|w| w.transactional_id == *id && (w.producer_id, w.producer_epoch) == now_pair).unwrap();
                    prop_assert_eq!(w.result == TxnResult::Commit, m.state == TxnState::PrepareCommit);
                    prop_assert_eq!(&w.partitions, &m.partitions);
                } else {
                    prop_assert_eq!(owed, 0);
                }
                if m.state != TxnState::Ongoing && !m.state.is_prepared() {
                    prop_assert!(m.partitions.is_empty() && m.groups.is_empty());
                }
            }

            let mut rebuilt = c.empty_like();
            for r in &persisted {
                rebuilt.replay(r);
            }
            prop_assert_eq!(rebuilt.transactions(), c.transactions());
        }
    }
}
