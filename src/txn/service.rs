//! The transaction coordinator plugged into the coordinator runtime: its durable log
//! (`<data-dir>/__transaction_state/`), the handle request handlers call, and the runner that
//! hands marker work to the partition side (`MarkerWriter`) and reports it done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::api::{TxnRequest, TxnResponse, TxnVersion};
use super::error::TxnRecordError;
use super::markers::{MarkerWork, MarkerWriter};
use super::records::TxnRecord;
use super::{NoProducerId, ProducerIdSource, TxnConfig, TxnCoordinator};
use crate::coordinator::log::{CoordinatorLog, CoordinatorLogConfig, LogRecord, ReplayReport};
use crate::coordinator::{CoordinatorHandle, TaskFuture, TaskRunner, Unavailable};
use crate::log::LogError;
use crate::types::ProducerId;

/// Directory name inside the data directory; no `-<partition>` suffix, so the broker's sweep of
/// partition directories never mistakes it for a topic's.
pub const DIR_NAME: &str = "__transaction_state";

/// First and longest wait between attempts at marker work that failed.
const MARKER_RETRY_FIRST: Duration = Duration::from_millis(100);
const MARKER_RETRY_MAX: Duration = Duration::from_secs(5);

pub type TxnLog = CoordinatorLog<TxnRecord>;

impl LogRecord for TxnRecord {
    type Error = TxnRecordError;
    const LOG_NAME: &'static str = "transaction log";

    fn encode(&self) -> (Bytes, Option<Bytes>) {
        TxnRecord::encode(self)
    }

    fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, TxnRecordError> {
        TxnRecord::decode(key, value)
    }
}

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR_NAME)
}

/// Opens the transaction log of `data_dir` and reads back every live record.
pub fn open_log(
    data_dir: &Path,
    config: CoordinatorLogConfig,
    now_ms: i64,
) -> Result<(TxnLog, Vec<TxnRecord>, ReplayReport), LogError> {
    TxnLog::open(dir(data_dir), config, now_ms)
}

/// Opens the transaction log of `data_dir` and rebuilds the coordinator from it (the loop is
/// started separately, once a runtime is running).
pub fn load(
    data_dir: &Path,
    config: TxnConfig,
    ids: Arc<dyn ProducerIdSource>,
    now_ms: i64,
) -> Result<(TxnCoordinator, TxnLog), LogError> {
    let (log, records, report) = open_log(data_dir, CoordinatorLogConfig::default(), now_ms)?;
    let mut coordinator = TxnCoordinator::new(config, ids);
    for r in &records {
        coordinator.replay(r);
    }
    if report.records > 0 || report.skipped > 0 {
        tracing::info!(
            records = report.records,
            skipped = report.skipped,
            "transaction coordinator state loaded"
        );
    }
    Ok((coordinator, log))
}

/// Cloneable handle the transaction request handlers use.
#[derive(Clone)]
pub struct TxnService {
    handle: CoordinatorHandle<TxnCoordinator>,
}

impl TxnService {
    /// Starts the coordinator loop on the current tokio runtime. `coordinator` already holds the
    /// replayed state of `log`; the marker work of transactions it finds prepared starts at once.
    pub fn start(
        coordinator: TxnCoordinator,
        log: Arc<TxnLog>,
        writer: Arc<dyn MarkerWriter>,
    ) -> TxnService {
        TxnService {
            handle: CoordinatorHandle::start(coordinator, log, Arc::new(MarkerRunner { writer })),
        }
    }

    /// Opens (and replays) the log in `data_dir` and starts the loop.
    pub fn open(
        data_dir: &Path,
        config: TxnConfig,
        ids: Arc<dyn ProducerIdSource>,
        writer: Arc<dyn MarkerWriter>,
        now_ms: i64,
    ) -> Result<(TxnService, Arc<TxnLog>), LogError> {
        let (coordinator, log) = load(data_dir, config, ids, now_ms)?;
        let log = Arc::new(log);
        Ok((TxnService::start(coordinator, log.clone(), writer), log))
    }

    /// Queues one request; the receiver gets its answer once what it changed is durable.
    /// Requests are taken in the order they were queued.
    pub async fn submit(
        &self,
        request: TxnRequest,
    ) -> Result<oneshot::Receiver<TxnResponse>, Unavailable> {
        self.handle.submit(request).await
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, request: TxnRequest) -> Result<TxnResponse, Unavailable> {
        self.handle.call(request).await
    }
}

/// Runs marker work until the writer reports it durable, then reports it to the coordinator.
struct MarkerRunner {
    writer: Arc<dyn MarkerWriter>,
}

impl TaskRunner<TxnCoordinator> for MarkerRunner {
    fn run(&self, work: MarkerWork) -> TaskFuture<TxnRequest> {
        let writer = self.writer.clone();
        Box::pin(async move {
            let mut wait = MARKER_RETRY_FIRST;
            loop {
                match writer.write_markers(work.clone()).await {
                    Ok(()) => return TxnRequest::MarkersWritten(work.done()),
                    Err(e) => {
                        tracing::warn!(
                            transactional_id = %work.transactional_id,
                            producer_id = work.producer_id.0,
                            error = %e.0,
                            "writing transaction markers failed; retrying"
                        );
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(MARKER_RETRY_MAX);
                    }
                }
            }
        })
    }
}

impl ProducerIdSource for crate::producer::ProducerIdAllocator {
    fn next_producer_id(&self) -> Result<ProducerId, NoProducerId> {
        self.next().map_err(|e| {
            tracing::error!(error = %e, "producer id allocation failed");
            NoProducerId
        })
    }
}

/// Builds the coordinator configuration from the broker's (Kafka's key names).
pub fn txn_config(c: &crate::config::BrokerConfig) -> TxnConfig {
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    TxnConfig {
        max_timeout_ms: i32::try_from(c.transaction_max_timeout_ms).unwrap_or(i32::MAX),
        id_expiration_ms: ms(c.transactional_id_expiration_ms),
        abort_check_interval_ms: ms(c.transaction_abort_timed_out_transaction_cleanup_interval_ms),
        expiry_check_interval_ms: ms(c.transaction_remove_expired_transaction_cleanup_interval_ms),
        server_version: TxnVersion::V2,
        coordinator_epoch: 0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::txn::api::*;
    use crate::txn::error::ErrorCode;
    use crate::txn::markers::MarkerError;
    use crate::txn::state::TxnState;
    use crate::types::{PartitionId, TopicPartition};

    struct Ids(AtomicI64);

    impl ProducerIdSource for Ids {
        fn next_producer_id(&self) -> Result<ProducerId, NoProducerId> {
            Ok(ProducerId(self.0.fetch_add(1, Ordering::SeqCst)))
        }
    }

    /// Records the work it is given; fails the first `failures` calls, and never finishes any
    /// when `stall` is set.
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<MarkerWork>>,
        failures: AtomicI64,
        stall: bool,
    }

    impl MarkerWriter for Recorder {
        fn write_markers(&self, work: MarkerWork) -> TaskFuture<Result<(), MarkerError>> {
            self.seen.lock().unwrap().push(work);
            if self.stall {
                return Box::pin(std::future::pending());
            }
            let fail = self.failures.fetch_sub(1, Ordering::SeqCst) > 0;
            Box::pin(async move {
                if fail {
                    Err(MarkerError("partition busy".into()))
                } else {
                    Ok(())
                }
            })
        }
    }

    fn config() -> TxnConfig {
        TxnConfig::default()
    }

    async fn state_of(service: &TxnService, id: &str) -> Option<TxnState> {
        match service.call(TxnRequest::Describe(vec![id.into()])).await {
            Ok(TxnResponse::Describe(d)) => d.first().and_then(|d| d.state),
            _ => None,
        }
    }

    /// Asks until the id reaches `want` (bounded by a number of asks, not by time).
    /// Polls until the state is reached; bounded (30 s) so a broken service fails the test
    /// instead of hanging it. Marker retries back off from 100 ms, so polls must wait too.
    async fn reaches(service: &TxnService, id: &str, want: TxnState) -> bool {
        for _ in 0..3_000 {
            if state_of(service, id).await == Some(want) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    async fn begin_and_commit(service: &TxnService) -> ProducerAnswer {
        let TxnResponse::InitProducerId(a) = service
            .call(TxnRequest::InitProducerId(InitProducerId {
                transactional_id: "tx".into(),
                transaction_timeout_ms: 60_000,
                expected: None,
            }))
            .await
            .unwrap()
        else {
            panic!()
        };
        let add = service
            .call(TxnRequest::AddPartitions(AddPartitions {
                transactional_id: "tx".into(),
                producer_id: a.producer_id,
                producer_epoch: a.producer_epoch,
                partitions: [TopicPartition {
                    topic: "t".into(),
                    partition: PartitionId(0),
                }]
                .into_iter()
                .collect(),
                verify_only: false,
                client_version: TxnVersion::V2,
            }))
            .await
            .unwrap();
        let TxnResponse::AddPartitions(add) = add else {
            panic!()
        };
        assert!(add.values().all(|e| e.is_ok()));
        let TxnResponse::EndTxn(end) = service
            .call(TxnRequest::EndTxn(EndTxn {
                transactional_id: "tx".into(),
                producer_id: a.producer_id,
                producer_epoch: a.producer_epoch,
                result: TxnResult::Commit,
                client_version: TxnVersion::V2,
            }))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(end.error, ErrorCode::None);
        end
    }

    #[tokio::test]
    async fn a_commit_completes_once_the_writer_reports_its_markers_durable() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Arc::new(Recorder {
            failures: AtomicI64::new(1),
            ..Default::default()
        });
        let (service, _log) = TxnService::open(
            dir.path(),
            config(),
            Arc::new(Ids(AtomicI64::new(1))),
            writer.clone(),
            0,
        )
        .unwrap();
        let end = begin_and_commit(&service).await;
        assert!(reaches(&service, "tx", TxnState::CompleteCommit).await);
        let seen = writer.seen.lock().unwrap().clone();
        // Failed once, retried with the same work.
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], seen[1]);
        assert_eq!(seen[0].result, TxnResult::Commit);
        assert_eq!(seen[0].producer_epoch, end.producer_epoch);
        assert!(dir.path().join(DIR_NAME).is_dir());
    }

    #[tokio::test]
    async fn a_prepared_transaction_gets_its_markers_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let stalled = Arc::new(Recorder {
            stall: true,
            ..Default::default()
        });
        let ids = Arc::new(Ids(AtomicI64::new(1)));
        let (service, log) =
            TxnService::open(dir.path(), config(), ids.clone(), stalled.clone(), 0).unwrap();
        begin_and_commit(&service).await;
        assert_eq!(
            state_of(&service, "tx").await,
            Some(TxnState::PrepareCommit)
        );
        drop(service);
        for _ in 0..10_000 {
            if Arc::strong_count(&log) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(Arc::strong_count(&log), 1, "the old loop let go of the log");
        drop(log);

        let writer = Arc::new(Recorder::default());
        let (service, _log) =
            TxnService::open(dir.path(), config(), ids, writer.clone(), 0).unwrap();
        assert!(reaches(&service, "tx", TxnState::CompleteCommit).await);
        let seen = writer.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0], stalled.seen.lock().unwrap()[0]);
    }
}
