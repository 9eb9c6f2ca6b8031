//! Unit tests of every request path and error code, and a property test driving random
//! sequences of requests, ticks and marker completions against the coordinator's invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::*;
use crate::types::{PartitionId, ProducerEpoch, ProducerId, TopicPartition};

struct Counter(AtomicI64);

impl ProducerIdSource for Counter {
    fn next_producer_id(&self) -> Result<ProducerId, NoProducerId> {
        Ok(ProducerId(self.0.fetch_add(1, Ordering::SeqCst)))
    }
}

struct Exhausted;

impl ProducerIdSource for Exhausted {
    fn next_producer_id(&self) -> Result<ProducerId, NoProducerId> {
        Err(NoProducerId)
    }
}

fn config() -> TxnConfig {
    TxnConfig {
        max_timeout_ms: 60_000,
        id_expiration_ms: 100_000,
        abort_check_interval_ms: 1_000,
        expiry_check_interval_ms: 10_000,
        server_version: TxnVersion::V2,
        coordinator_epoch: 7,
    }
}

fn coordinator() -> TxnCoordinator {
    TxnCoordinator::new(config(), Arc::new(Counter(AtomicI64::new(1000))))
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.into(),
        partition: PartitionId(p),
    }
}

fn tps(list: &[(&str, i32)]) -> BTreeSet<TopicPartition> {
    list.iter().map(|(t, p)| tp(t, *p)).collect()
}

/// Feeds one request; returns its response and the effects.
fn call(c: &mut TxnCoordinator, now: i64, req: TxnRequest) -> (TxnResponse, Effects) {
    let mut fx = c.handle(now, 1, req);
    let (_, response) = fx.responses.remove(0);
    (response, fx)
}

fn init_req(id: &str, expected: Option<(i64, i16)>) -> TxnRequest {
    TxnRequest::InitProducerId(InitProducerId {
        transactional_id: id.into(),
        transaction_timeout_ms: 10_000,
        expected: expected.map(|(p, e)| (ProducerId(p), ProducerEpoch(e))),
    })
}

fn init(c: &mut TxnCoordinator, now: i64, id: &str) -> (ProducerAnswer, Effects) {
    match call(c, now, init_req(id, None)) {
        (TxnResponse::InitProducerId(a), fx) => (a, fx),
        other => panic!("unexpected {other:?}"),
    }
}

fn add(
    c: &mut TxnCoordinator,
    now: i64,
    id: &str,
    pid: ProducerId,
    epoch: ProducerEpoch,
    parts: &[(&str, i32)],
    version: TxnVersion,
) -> (BTreeMap<TopicPartition, ErrorCode>, Effects) {
    let req = TxnRequest::AddPartitions(AddPartitions {
        transactional_id: id.into(),
        producer_id: pid,
        producer_epoch: epoch,
        partitions: tps(parts),
        verify_only: false,
        client_version: version,
    });
    match call(c, now, req) {
        (TxnResponse::AddPartitions(a), fx) => (a, fx),
        other => panic!("unexpected {other:?}"),
    }
}

fn end(
    c: &mut TxnCoordinator,
    now: i64,
    id: &str,
    pid: ProducerId,
    epoch: ProducerEpoch,
    result: TxnResult,
    version: TxnVersion,
) -> (ProducerAnswer, Effects) {
    let req = TxnRequest::EndTxn(EndTxn {
        transactional_id: id.into(),
        producer_id: pid,
        producer_epoch: epoch,
        result,
        client_version: version,
    });
    match call(c, now, req) {
        (TxnResponse::EndTxn(a), fx) => (a, fx),
        other => panic!("unexpected {other:?}"),
    }
}

fn complete(c: &mut TxnCoordinator, now: i64, work: &MarkerWork) -> Effects {
    call(c, now, TxnRequest::MarkersWritten(work.done())).1
}

fn all_ok(answer: &BTreeMap<TopicPartition, ErrorCode>) -> bool {
    answer.values().all(|e| e.is_ok())
}

fn state(c: &TxnCoordinator, id: &str) -> TxnState {
    c.transaction(id).map(|m| m.state).unwrap_or(TxnState::Dead)
}

/// An id with an open transaction on t-0; returns its producer id and epoch.
fn ongoing(c: &mut TxnCoordinator, id: &str, version: TxnVersion) -> (ProducerId, ProducerEpoch) {
    let (a, _) = init(c, 0, id);
    let (r, _) = add(
        c,
        10,
        id,
        a.producer_id,
        a.producer_epoch,
        &[("t", 0)],
        version,
    );
    assert!(all_ok(&r));
    (a.producer_id, a.producer_epoch)
}

#[test]
fn a_new_id_gets_a_producer_id_at_epoch_zero_and_a_record() {
    let mut c = coordinator();
    let (a, fx) = init(&mut c, 5, "tx");
    assert_eq!(a, ProducerAnswer::ok(ProducerId(1000), ProducerEpoch(0)));
    assert_eq!(fx.persist.len(), 1);
    let m = fx.persist[0].value.as_ref().unwrap();
    assert_eq!(m.state, TxnState::Empty);
    assert_eq!(m.timeout_ms, 10_000);
    assert_eq!(m.start_ms, -1);
    assert_eq!(m.last_update_ms, 5);
}

#[test]
fn transaction_timeouts_outside_one_to_the_maximum_are_refused() {
    let mut c = coordinator();
    for timeout in [0, -1, 60_001] {
        let req = TxnRequest::InitProducerId(InitProducerId {
            transactional_id: "tx".into(),
            transaction_timeout_ms: timeout,
            expected: None,
        });
        let (r, fx) = call(&mut c, 0, req);
        assert_eq!(
            r,
            TxnResponse::InitProducerId(ProducerAnswer::error(
                ErrorCode::InvalidTransactionTimeout
            ))
        );
        assert!(fx.persist.is_empty());
    }
    let (r, _) = call(&mut c, 0, init_req("", None));
    assert_eq!(
        r,
        TxnResponse::InitProducerId(ProducerAnswer::error(ErrorCode::InvalidRequest))
    );
}

#[test]
fn no_producer_id_available_is_retriable() {
    let mut c = TxnCoordinator::new(config(), Arc::new(Exhausted));
    let (a, fx) = init(&mut c, 0, "tx");
    assert_eq!(a.error, ErrorCode::CoordinatorNotAvailable);
    assert!(fx.persist.is_empty() && c.transaction("tx").is_none());
}

#[test]
fn a_second_init_bumps_the_epoch_and_fences_the_first_instance() {
    let mut c = coordinator();
    let (first, _) = init(&mut c, 0, "tx");
    let (second, _) = init(&mut c, 1, "tx");
    assert_eq!(second.producer_id, first.producer_id);
    assert_eq!(second.producer_epoch, ProducerEpoch(1));
    let (r, fx) = add(
        &mut c,
        2,
        "tx",
        first.producer_id,
        first.producer_epoch,
        &[("t", 0)],
        TxnVersion::V1,
    );
    assert!(r.values().all(|e| *e == ErrorCode::ProducerFenced));
    assert!(fx.persist.is_empty());
}

#[test]
fn init_during_an_open_transaction_aborts_it_under_a_new_epoch_then_answers_concurrent() {
    let mut c = coordinator();
    let (pid, epoch) = ongoing(&mut c, "tx", TxnVersion::V1);
    let (a, fx) = init(&mut c, 20, "tx");
    assert_eq!(a.error, ErrorCode::ConcurrentTransactions);
    let m = c.transaction("tx").unwrap().clone();
    assert_eq!(m.state, TxnState::PrepareAbort);
    // One bump for the fence, one for the end under the broker's Transactions V2.
    assert_eq!(m.producer_epoch, ProducerEpoch(epoch.0 + 2));
    assert_eq!(fx.persist.len(), 1);
    assert_eq!(fx.tasks.len(), 1);
    let work = &fx.tasks[0];
    assert_eq!(work.result, TxnResult::Abort);
    assert_eq!(work.producer_id, pid);
    assert_eq!(work.producer_epoch, m.producer_epoch);
    assert_eq!(work.coordinator_epoch, 7);
    assert_eq!(work.partitions, tps(&[("t", 0)]));
    // Still aborting: the retry waits.
    let (a, _) = init(&mut c, 21, "tx");
    assert_eq!(a.error, ErrorCode::ConcurrentTransactions);
    complete(&mut c, 22, work);
    assert_eq!(state(&c, "tx"), TxnState::CompleteAbort);
    let (a, _) = init(&mut c, 23, "tx");
    assert_eq!(a, ProducerAnswer::ok(pid, ProducerEpoch(epoch.0 + 3)));
}

#[test]
fn the_fence_bumps_once_when_the_broker_runs_transactions_v1() {
    let mut cfg = config();
    cfg.server_version = TxnVersion::V1;
    let mut c = TxnCoordinator::new(cfg, Arc::new(Counter(AtomicI64::new(1))));
    let (_, epoch) = ongoing(&mut c, "tx", TxnVersion::V1);
    init(&mut c, 20, "tx");
    let m = c.transaction("tx").unwrap();
    assert_eq!(m.producer_epoch, ProducerEpoch(epoch.0 + 1));
    assert_eq!(m.last_producer_epoch, ProducerEpoch(-1));
}

#[test]
fn kip_360_reinitialisation_with_the_current_or_a_retried_epoch() {
    let mut c = coordinator();
    let (a, _) = init(&mut c, 0, "tx");
    let (pid, e0) = (a.producer_id.0, a.producer_epoch.0);
    // The client holds (pid, 0): bump to 1, remembering 0.
    let (r, _) = call(&mut c, 1, init_req("tx", Some((pid, e0))));
    assert_eq!(
        r,
        TxnResponse::InitProducerId(ProducerAnswer::ok(ProducerId(pid), ProducerEpoch(1)))
    );
    assert_eq!(
        c.transaction("tx").unwrap().last_producer_epoch,
        ProducerEpoch(0)
    );
    // A retry of that call (answer lost): the same epoch again.
    let (r, _) = call(&mut c, 2, init_req("tx", Some((pid, e0))));
    assert_eq!(
        r,
        TxnResponse::InitProducerId(ProducerAnswer::ok(ProducerId(pid), ProducerEpoch(1)))
    );
    // An epoch that is neither current nor last, or another producer id: fenced.
    for expected in [(pid, 5), (pid + 77, 1)] {
        let (r, _) = call(&mut c, 3, init_req("tx", Some(expected)));
        assert_eq!(
            r,
            TxnResponse::InitProducerId(ProducerAnswer::error(ErrorCode::ProducerFenced))
        );
    }
}

#[test]
fn an_exhausted_epoch_rotates_to_a_new_producer_id() {
    let mut c = coordinator();
    let (a, _) = init(&mut c, 0, "tx");
    let mut m = c.transaction("tx").unwrap().clone();
    m.producer_epoch = ProducerEpoch(state::EPOCH_EXHAUSTED);
    c.replay(&TxnRecord {
        transactional_id: "tx".into(),
        value: Some(m),
    });
    // The client re-initialises holding the exhausted epoch (KIP-360): a new producer id.
    let exhausted = Some((a.producer_id.0, state::EPOCH_EXHAUSTED));
    let (r, fx) = call(&mut c, 1, init_req("tx", exhausted));
    let TxnResponse::InitProducerId(b) = r else {
        panic!()
    };
    assert_ne!(b.producer_id, a.producer_id);
    assert_eq!(b.producer_epoch, ProducerEpoch(0));
    let m = fx.persist[0].value.as_ref().unwrap();
    assert_eq!(m.prev_producer_id, a.producer_id);
    assert_eq!(m.last_producer_epoch, ProducerEpoch(state::EPOCH_EXHAUSTED));
    // Its retry (answer lost) names the previous id: the same new id and epoch again.
    let (r, _) = call(&mut c, 2, init_req("tx", exhausted));
    assert_eq!(r, TxnResponse::InitProducerId(b));
    // Without an expected epoch the rotation forgets the old one, and the retry is fenced.
    let mut m = c.transaction("tx").unwrap().clone();
    m.producer_epoch = ProducerEpoch(state::EPOCH_EXHAUSTED);
    c.replay(&TxnRecord {
        transactional_id: "tx".into(),
        value: Some(m),
    });
    let (d, _) = init(&mut c, 3, "tx");
    assert_eq!(d.producer_epoch, ProducerEpoch(0));
    let (r, _) = call(
        &mut c,
        4,
        init_req("tx", Some((b.producer_id.0, state::EPOCH_EXHAUSTED))),
    );
    assert_eq!(
        r,
        TxnResponse::InitProducerId(ProducerAnswer::error(ErrorCode::ProducerFenced))
    );
}

#[test]
fn add_partitions_checks_the_producer_and_starts_the_clock_once() {
    let mut c = coordinator();
    let (r, _) = add(
        &mut c,
        0,
        "nope",
        ProducerId(1),
        ProducerEpoch(0),
        &[("t", 0)],
        TxnVersion::V1,
    );
    assert!(r
        .values()
        .all(|e| *e == ErrorCode::InvalidProducerIdMapping));
    let (a, _) = init(&mut c, 0, "tx");
    let (pid, epoch) = (a.producer_id, a.producer_epoch);
    let (r, _) = add(
        &mut c,
        1,
        "tx",
        ProducerId(pid.0 + 1),
        epoch,
        &[("t", 0)],
        TxnVersion::V1,
    );
    assert!(r
        .values()
        .all(|e| *e == ErrorCode::InvalidProducerIdMapping));
    let (r, _) = add(
        &mut c,
        1,
        "tx",
        pid,
        ProducerEpoch(epoch.0 + 1),
        &[("t", 0)],
        TxnVersion::V1,
    );
    assert!(r.values().all(|e| *e == ErrorCode::ProducerFenced));
    let (r, fx) = add(
        &mut c,
        100,
        "tx",
        pid,
        epoch,
        &[("t", 0), ("t", 1)],
        TxnVersion::V1,
    );
    assert!(all_ok(&r) && r.len() == 2);
    assert_eq!(fx.persist.len(), 1);
    assert_eq!(c.transaction("tx").unwrap().start_ms, 100);
    assert_eq!(state(&c, "tx"), TxnState::Ongoing);
    // Already there: answered without a record.
    let (r, fx) = add(&mut c, 200, "tx", pid, epoch, &[("t", 1)], TxnVersion::V1);
    assert!(all_ok(&r) && fx.persist.is_empty());
    // A new one: recorded, the start time stays.
    let (r, fx) = add(&mut c, 300, "tx", pid, epoch, &[("u", 0)], TxnVersion::V1);
    assert!(all_ok(&r) && fx.persist.len() == 1);
    let m = c.transaction("tx").unwrap();
    assert_eq!(m.start_ms, 100);
    assert_eq!(m.partitions.len(), 3);
    assert_eq!(m.last_update_ms, 300);
    // While the outcome is written nothing may be added.
    end(
        &mut c,
        400,
        "tx",
        pid,
        epoch,
        TxnResult::Commit,
        TxnVersion::V1,
    );
    let (r, _) = add(&mut c, 401, "tx", pid, epoch, &[("v", 0)], TxnVersion::V1);
    assert!(r.values().all(|e| *e == ErrorCode::ConcurrentTransactions));
    let (r, _) = add(&mut c, 401, "", pid, epoch, &[("v", 0)], TxnVersion::V1);
    assert!(r.values().all(|e| *e == ErrorCode::InvalidRequest));
}

#[test]
fn verify_only_reports_membership_and_changes_nothing() {
    let mut c = coordinator();
    let (pid, epoch) = ongoing(&mut c, "tx", TxnVersion::V1);
    let req = TxnRequest::AddPartitions(AddPartitions {
        transactional_id: "tx".into(),
        producer_id: pid,
        producer_epoch: epoch,
        partitions: tps(&[("t", 0), ("t", 9)]),
        verify_only: true,
        client_version: TxnVersion::V1,
    });
    let (r, fx) = call(&mut c, 20, req);
    let mut expected = BTreeMap::new();
    expected.insert(tp("t", 0), ErrorCode::None);
    expected.insert(tp("t", 9), ErrorCode::TransactionAbortable);
    assert_eq!(r, TxnResponse::AddPartitions(expected));
    assert!(fx.persist.is_empty());
    assert_eq!(c.transaction("tx").unwrap().partitions, tps(&[("t", 0)]));
}

#[test]
fn add_offsets_puts_the_group_in_the_transaction_and_its_markers() {
    let mut c = coordinator();
    let (a, _) = init(&mut c, 0, "tx");
    let req = TxnRequest::AddOffsets(AddOffsets {
        transactional_id: "tx".into(),
        producer_id: a.producer_id,
        producer_epoch: a.producer_epoch,
        group_id: "g".into(),
        client_version: TxnVersion::V1,
    });
    let (r, fx) = call(&mut c, 50, req.clone());
    assert_eq!(r, TxnResponse::AddOffsets(ErrorCode::None));
    assert_eq!(fx.persist.len(), 1);
    assert_eq!(c.transaction("tx").unwrap().start_ms, 50);
    let (_, fx) = call(&mut c, 60, req);
    assert!(fx.persist.is_empty());
    let (r, _) = call(&mut c, 70, TxnRequest::Describe(vec!["tx".into()]));
    let TxnResponse::Describe(d) = r else {
        panic!()
    };
    assert_eq!(d[0].partitions, [offsets_partition()].into_iter().collect());
    let (_, fx) = end(
        &mut c,
        80,
        "tx",
        a.producer_id,
        a.producer_epoch,
        TxnResult::Commit,
        TxnVersion::V1,
    );
    assert_eq!(fx.tasks[0].groups, ["g".to_string()].into_iter().collect());
    assert!(fx.tasks[0].partitions.is_empty());
}

#[test]
fn end_txn_v1_decides_then_completes_and_answers_retries_like_kafka() {
    let mut c = coordinator();
    let (pid, epoch) = ongoing(&mut c, "tx", TxnVersion::V1);
    let v1 = TxnVersion::V1;
    let (a, fx) = end(&mut c, 20, "tx", pid, epoch, TxnResult::Commit, v1);
    assert_eq!(a, ProducerAnswer::error(ErrorCode::None));
    assert_eq!(fx.persist.len(), 1);
    assert_eq!(
        fx.persist[0].value.as_ref().unwrap().state,
        TxnState::PrepareCommit
    );
    assert_eq!(fx.tasks.len(), 1);
    assert_eq!(fx.tasks[0].result, TxnResult::Commit);
    assert_eq!(fx.tasks[0].producer_epoch, epoch, "V1 keeps the epoch");
    let work = fx.tasks[0].clone();
    let (a, _) = end(&mut c, 21, "tx", pid, epoch, TxnResult::Commit, v1);
    assert_eq!(a.error, ErrorCode::ConcurrentTransactions);
    let (a, _) = end(&mut c, 21, "tx", pid, epoch, TxnResult::Abort, v1);
    assert_eq!(a.error, ErrorCode::InvalidTxnState);
    let fx = complete(&mut c, 22, &work);
    assert_eq!(fx.persist.len(), 1);
    let m = c.transaction("tx").unwrap();
    assert_eq!(m.state, TxnState::CompleteCommit);
    assert!(m.partitions.is_empty());
    // Reported twice: nothing more.
    assert!(complete(&mut c, 23, &work).persist.is_empty());
    let (a, fx) = end(&mut c, 24, "tx", pid, epoch, TxnResult::Commit, v1);
    assert_eq!(a, ProducerAnswer::error(ErrorCode::None));
    assert!(fx.persist.is_empty());
    let (a, _) = end(&mut c, 24, "tx", pid, epoch, TxnResult::Abort, v1);
    assert_eq!(a.error, ErrorCode::InvalidTxnState);
    let (a, _) = end(
        &mut c,
        24,
        "tx",
        pid,
        ProducerEpoch(epoch.0 - 1),
        TxnResult::Commit,
        v1,
    );
    assert_eq!(a.error, ErrorCode::ProducerFenced);
    let (a, _) = end(
        &mut c,
        24,
        "tx",
        ProducerId(pid.0 + 1),
        epoch,
        TxnResult::Commit,
        v1,
    );
    assert_eq!(a.error, ErrorCode::InvalidProducerIdMapping);
    let (a, _) = end(&mut c, 24, "nope", pid, epoch, TxnResult::Commit, v1);
    assert_eq!(a.error, ErrorCode::InvalidProducerIdMapping);
    let (a, _) = end(&mut c, 24, "", pid, epoch, TxnResult::Commit, v1);
    assert_eq!(a.error, ErrorCode::InvalidRequest);
    // Empty: nothing to end.
    let (b, _) = init(&mut c, 25, "tx");
    let (a, _) = end(
        &mut c,
        26,
        "tx",
        b.producer_id,
        b.producer_epoch,
        TxnResult::Abort,
        v1,
    );
    assert_eq!(a.error, ErrorCode::InvalidTxnState);
}

#[test]
fn end_txn_v2_bumps_the_epoch_every_time_and_recognises_its_retry() {
    let mut c = coordinator();
    let v2 = TxnVersion::V2;
    let (pid, epoch) = ongoing(&mut c, "tx", v2);
    let next = ProducerEpoch(epoch.0 + 1);
    let (a, fx) = end(&mut c, 20, "tx", pid, epoch, TxnResult::Commit, v2);
    assert_eq!(a, ProducerAnswer::ok(pid, next));
    assert_eq!(
        fx.tasks[0].producer_epoch, next,
        "markers carry the bumped epoch"
    );
    let work = fx.tasks[0].clone();
    // Retry while prepared: concurrent; at the new epoch: fenced (it is not prepared for it).
    let (a, _) = end(&mut c, 21, "tx", pid, epoch, TxnResult::Commit, v2);
    assert_eq!(a.error, ErrorCode::ConcurrentTransactions);
    let (a, _) = end(&mut c, 21, "tx", pid, next, TxnResult::Commit, v2);
    assert_eq!(a.error, ErrorCode::ProducerFenced);
    complete(&mut c, 22, &work);
    // A retry after completion gets the same answer, without a new record.
    let (a, fx) = end(&mut c, 23, "tx", pid, epoch, TxnResult::Commit, v2);
    assert_eq!(a, ProducerAnswer::ok(pid, next));
    assert!(fx.persist.is_empty());
    let (a, _) = end(&mut c, 23, "tx", pid, epoch, TxnResult::Abort, v2);
    assert_eq!(a.error, ErrorCode::InvalidTxnState);
    // At the new epoch a commit has nothing to commit; an abort of nothing bumps again and
    // completes at once.
    let (a, _) = end(&mut c, 24, "tx", pid, next, TxnResult::Commit, v2);
    assert_eq!(a.error, ErrorCode::InvalidTxnState);
    let (a, fx) = end(&mut c, 25, "tx", pid, next, TxnResult::Abort, v2);
    assert_eq!(a, ProducerAnswer::ok(pid, ProducerEpoch(next.0 + 1)));
    assert!(fx.tasks.is_empty());
    assert_eq!(
        fx.persist.len(),
        2,
        "PrepareAbort and CompleteAbort in one append"
    );
    assert_eq!(state(&c, "tx"), TxnState::CompleteAbort);
    assert_eq!(c.transaction("tx").unwrap().start_ms, 25);
    // Two epochs ahead of the client: fenced.
    let (a, _) = end(&mut c, 26, "tx", pid, epoch, TxnResult::Abort, v2);
    assert_eq!(a.error, ErrorCode::ProducerFenced);
}

#[test]
fn end_txn_v2_at_an_exhausted_epoch_moves_to_a_new_producer_id() {
    let mut c = coordinator();
    let v2 = TxnVersion::V2;
    let (pid, _) = ongoing(&mut c, "tx", v2);
    let mut m = c.transaction("tx").unwrap().clone();
    m.producer_epoch = ProducerEpoch(state::EPOCH_EXHAUSTED);
    c.replay(&TxnRecord {
        transactional_id: "tx".into(),
        value: Some(m),
    });
    let old = ProducerEpoch(state::EPOCH_EXHAUSTED);
    let (a, fx) = end(&mut c, 20, "tx", pid, old, TxnResult::Commit, v2);
    assert_eq!(a.error, ErrorCode::None);
    assert_ne!(a.producer_id, pid);
    assert_eq!(a.producer_epoch, ProducerEpoch(0));
    let work = fx.tasks[0].clone();
    assert_eq!(work.producer_id, pid);
    assert_eq!(work.producer_epoch, ProducerEpoch(i16::MAX));
    complete(&mut c, 21, &work);
    let m = c.transaction("tx").unwrap();
    assert_eq!(
        (m.producer_id, m.producer_epoch),
        (a.producer_id, ProducerEpoch(0))
    );
    assert_eq!(m.prev_producer_id, pid);
    // The retry with the old id at the exhausted epoch gets the new id.
    let (r, _) = end(&mut c, 22, "tx", pid, old, TxnResult::Commit, v2);
    assert_eq!(r, a);
}

#[test]
fn transactions_past_their_timeout_are_aborted_under_a_new_epoch() {
    let mut c = coordinator();
    let (a, _) = init(&mut c, 0, "tx");
    add(
        &mut c,
        1_000,
        "tx",
        a.producer_id,
        a.producer_epoch,
        &[("t", 0)],
        TxnVersion::V1,
    );
    assert_eq!(c.next_deadline(), Some(i64::MIN));
    // Within the timeout (10 s from the first partition): nothing.
    let fx = c.tick(11_000);
    assert!(fx.persist.is_empty() && fx.tasks.is_empty());
    assert_eq!(c.next_deadline(), Some(12_000));
    let fx = c.tick(12_000);
    assert_eq!(fx.persist.len(), 1);
    assert_eq!(fx.tasks.len(), 1);
    assert_eq!(fx.tasks[0].result, TxnResult::Abort);
    let m = c.transaction("tx").unwrap();
    assert_eq!(m.state, TxnState::PrepareAbort);
    assert!(m.producer_epoch > a.producer_epoch);
    // The old producer is fenced.
    let (r, _) = end(
        &mut c,
        12_001,
        "tx",
        a.producer_id,
        a.producer_epoch,
        TxnResult::Commit,
        TxnVersion::V1,
    );
    assert_eq!(r.error, ErrorCode::ProducerFenced);
}

#[test]
fn idle_ids_expire_and_open_ones_do_not() {
    let mut c = coordinator();
    init(&mut c, 0, "idle");
    ongoing(&mut c, "busy", TxnVersion::V1);
    // The same tick times "busy" out (aborting it) and expires "idle".
    let fx = c.tick(200_000);
    let ids: Vec<_> = fx
        .persist
        .iter()
        .filter(|r| r.value.is_none())
        .map(|r| r.transactional_id.clone())
        .collect();
    assert_eq!(ids, vec!["idle".to_string()]);
    assert!(c.transaction("idle").is_none());
    assert_eq!(
        state(&c, "busy"),
        TxnState::PrepareAbort,
        "timed out, not expired"
    );
    let (r, _) = call(&mut c, 200_001, TxnRequest::Describe(vec!["idle".into()]));
    let TxnResponse::Describe(d) = r else {
        panic!()
    };
    assert_eq!(d[0].error, ErrorCode::TransactionalIdNotFound);
}

#[test]
fn list_filters_by_state_producer_and_duration() {
    let mut c = coordinator();
    let (p1, _) = ongoing(&mut c, "a", TxnVersion::V1);
    init(&mut c, 0, "b");
    let list =
        |c: &mut TxnCoordinator, f: ListTransactions| match call(c, 1_000, TxnRequest::List(f)).0 {
            TxnResponse::List(l) => l,
            other => panic!("{other:?}"),
        };
    let all = list(
        &mut c,
        ListTransactions {
            duration_filter_ms: -1,
            ..Default::default()
        },
    );
    assert_eq!(all.transactions.len(), 2);
    let l = list(
        &mut c,
        ListTransactions {
            states: vec!["Ongoing".into(), "Nonsense".into()],
            duration_filter_ms: -1,
            ..Default::default()
        },
    );
    assert_eq!(
        l.transactions,
        vec![("a".to_string(), p1, TxnState::Ongoing)]
    );
    assert_eq!(l.unknown_state_filters, vec!["Nonsense".to_string()]);
    let l = list(
        &mut c,
        ListTransactions {
            producer_ids: vec![p1],
            duration_filter_ms: -1,
            ..Default::default()
        },
    );
    assert_eq!(l.transactions.len(), 1);
    // "a" started at 10: running 990 ms at 1000.
    let l = list(
        &mut c,
        ListTransactions {
            states: vec!["Ongoing".into()],
            duration_filter_ms: 989,
            ..Default::default()
        },
    );
    assert_eq!(l.transactions.len(), 1);
    let l = list(
        &mut c,
        ListTransactions {
            states: vec!["Ongoing".into()],
            duration_filter_ms: 990,
            ..Default::default()
        },
    );
    assert!(l.transactions.is_empty());
}

#[test]
fn replay_rebuilds_the_state_and_owes_the_markers_of_prepared_transactions() {
    let mut c = coordinator();
    let mut log = Vec::new();
    let (pid, epoch) = ongoing(&mut c, "tx", TxnVersion::V2);
    for r in c.transactions() {
        log.push(TxnRecord {
            transactional_id: r.0.clone(),
            value: Some(r.1.clone()),
        });
    }
    let (_, fx) = end(
        &mut c,
        20,
        "tx",
        pid,
        epoch,
        TxnResult::Commit,
        TxnVersion::V2,
    );
    log.extend(fx.persist);
    let mut fresh = c.empty_like();
    for r in &log {
        fresh.replay(r);
    }
    assert_eq!(fresh.transactions(), c.transactions());
    assert_eq!(fresh.resume(), fx.tasks);
}

#[test]
fn runtime_unavailable_answers() {
    let e = ErrorCode::CoordinatorNotAvailable;
    let r = TxnCoordinator::unavailable(TxnResponse::EndTxn(ProducerAnswer::ok(
        ProducerId(1),
        ProducerEpoch(2),
    )));
    assert_eq!(r, TxnResponse::EndTxn(ProducerAnswer::error(e)));
    let mut m = BTreeMap::new();
    m.insert(tp("t", 0), ErrorCode::None);
    let r = TxnCoordinator::unavailable(TxnResponse::AddPartitions(m));
    assert_eq!(
        r,
        TxnResponse::AddPartitions([(tp("t", 0), e)].into_iter().collect())
    );
}

#[test]
fn producer_fenced_becomes_invalid_producer_epoch_for_old_versions() {
    let f = ErrorCode::ProducerFenced;
    assert_eq!(
        f.for_version(TxnApi::InitProducerId, 3),
        ErrorCode::InvalidProducerEpoch
    );
    assert_eq!(f.for_version(TxnApi::InitProducerId, 4), f);
    for api in [
        TxnApi::EndTxn,
        TxnApi::AddPartitionsToTxn,
        TxnApi::AddOffsetsToTxn,
    ] {
        assert_eq!(f.for_version(api, 1), ErrorCode::InvalidProducerEpoch);
        assert_eq!(f.for_version(api, 2), f);
    }
    assert_eq!(
        ErrorCode::InvalidTxnState.for_version(TxnApi::EndTxn, 0),
        ErrorCode::InvalidTxnState
    );
}

mod props;
