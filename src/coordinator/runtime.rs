//! The async loop around a coordinator shard: the only place its state meets time, the network
//! and the disk.
//!
//! One task owns the shard. Callers send it requests over a channel and await the answer. Each
//! turn the loop takes every request already queued, feeds them in with one `now`, appends the
//! records they produced to the shard's log in one write, waits for that write to be durable
//! (one fsync for the whole turn), and only then releases the responses and starts the side
//! tasks: a client never hears of a state the broker could forget, and no side effect (a
//! transaction marker) leaves before the decision it carries out is on disk. A task's result
//! is queued back as a request like any other. Timers are served by sleeping until
//! `next_deadline()`.
//!
//! If a write fails, every answer of that turn becomes the shard's "unavailable" answer
//! (clients look the coordinator up again and retry), its tasks are dropped, and the shard is
//! rebuilt from the log, so memory never holds what the disk does not; `resume` then reissues
//! whatever the durable state still owes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::log::CoordinatorLog;
use super::{CoordinatorShard, Effects, RequestId, TaskRunner};
use crate::broker::now_ms;

/// Requests a turn takes at most before writing; bounds the latency one turn adds.
const MAX_REQUESTS_PER_TURN: usize = 1024;
/// Requests waiting for the loop; senders wait beyond this (backpressure).
const QUEUE_DEPTH: usize = 4096;

enum Command<S: CoordinatorShard> {
    Call {
        /// Boxed: requests vary much in size, and the channel holds thousands.
        request: Box<S::Request>,
        reply: Option<oneshot::Sender<S::Response>>,
    },
}

/// Cloneable handle callers submit requests through.
pub struct CoordinatorHandle<S: CoordinatorShard> {
    tx: mpsc::Sender<Command<S>>,
}

impl<S: CoordinatorShard> Clone for CoordinatorHandle<S> {
    fn clone(&self) -> Self {
        CoordinatorHandle {
            tx: self.tx.clone(),
        }
    }
}

/// Why a call got no answer from the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

impl<S: CoordinatorShard> CoordinatorHandle<S> {
    /// Starts the loop on the current tokio runtime. `shard` already holds the replayed state of
    /// `log`; its `resume` work is started first.
    pub fn start(
        shard: S,
        log: Arc<CoordinatorLog<S::Record>>,
        runner: Arc<dyn TaskRunner<S>>,
    ) -> CoordinatorHandle<S> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let runtime = Runtime {
            shard,
            log,
            runner,
            rx,
            tx: tx.downgrade(),
            pending: HashMap::new(),
            next_id: 0,
        };
        tokio::spawn(runtime.run());
        CoordinatorHandle { tx }
    }

    /// Queues one request; the receiver gets its answer (which may take a whole rebalance).
    /// Requests are taken in the order they were queued.
    pub async fn submit(
        &self,
        request: S::Request,
    ) -> Result<oneshot::Receiver<S::Response>, Unavailable> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Call {
                request: Box::new(request),
                reply: Some(reply),
            })
            .await
            .map_err(|_| Unavailable)?;
        Ok(rx)
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, request: S::Request) -> Result<S::Response, Unavailable> {
        self.submit(request).await?.await.map_err(|_| Unavailable)
    }

    /// Queues a request whose answer nobody waits for.
    pub async fn cast(&self, request: S::Request) -> Result<(), Unavailable> {
        self.tx
            .send(Command::Call {
                request: Box::new(request),
                reply: None,
            })
            .await
            .map_err(|_| Unavailable)
    }
}

struct Runtime<S: CoordinatorShard> {
    shard: S,
    log: Arc<CoordinatorLog<S::Record>>,
    runner: Arc<dyn TaskRunner<S>>,
    rx: mpsc::Receiver<Command<S>>,
    /// For tasks to queue their results; weak so that the loop ends when every handle is gone.
    tx: mpsc::WeakSender<Command<S>>,
    pending: HashMap<RequestId, oneshot::Sender<S::Response>>,
    next_id: RequestId,
}

impl<S: CoordinatorShard> Runtime<S> {
    async fn run(mut self) {
        let owed = self.shard.resume();
        self.start_tasks(owed);
        loop {
            let deadline = self.shard.next_deadline();
            let first = match deadline {
                Some(d) => {
                    let wait = Duration::from_millis(d.saturating_sub(now_ms()).max(0) as u64);
                    tokio::select! {
                        call = self.rx.recv() => match call {
                            Some(c) => Some(c),
                            None => break,
                        },
                        _ = tokio::time::sleep(wait) => None,
                    }
                }
                None => match self.rx.recv().await {
                    Some(c) => Some(c),
                    None => break,
                },
            };
            let now = now_ms();
            let mut fx = Effects::default();
            if let Some(call) = first {
                self.feed(now, call, &mut fx);
                for _ in 1..MAX_REQUESTS_PER_TURN {
                    match self.rx.try_recv() {
                        Ok(call) => self.feed(now, call, &mut fx),
                        Err(_) => break,
                    }
                }
            }
            if self.shard.next_deadline().is_some_and(|d| d <= now) {
                fx.merge(self.shard.tick(now));
            }
            self.complete(now, fx).await;
            if self.log.needs_rewrite() {
                if let Err(e) = self.log.rewrite(now_ms()).await {
                    tracing::error!(error = %e, "coordinator log rewrite failed");
                }
            }
        }
        tracing::debug!("coordinator stopped");
    }

    fn feed(&mut self, now: i64, command: Command<S>, fx: &mut Effects<S>) {
        match command {
            Command::Call { request, reply } => {
                self.next_id = self.next_id.wrapping_add(1);
                let id = self.next_id;
                if let Some(reply) = reply {
                    self.pending.insert(id, reply);
                }
                fx.merge(self.shard.handle(now, id, *request));
            }
        }
    }

    /// Makes the turn's records durable, then answers and starts the tasks.
    async fn complete(&mut self, now: i64, fx: Effects<S>) {
        let Effects {
            persist,
            responses,
            tasks,
        } = fx;
        let mut failed = false;
        if !persist.is_empty() {
            let written = match self.log.append(&persist, now) {
                Ok(end) => self.log.wait_durable(end).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::error!(error = %e, records = persist.len(), "coordinator log write failed");
                failed = true;
            }
        }
        for (id, response) in responses {
            let response = if failed {
                S::unavailable(response)
            } else {
                response
            };
            if let Some(reply) = self.pending.remove(&id) {
                // The client may have gone; its answer has nowhere to go.
                let _ = reply.send(response);
            }
        }
        if failed {
            self.reload();
            let owed = self.shard.resume();
            self.start_tasks(owed);
        } else {
            self.start_tasks(tasks);
        }
    }

    fn start_tasks(&self, tasks: Vec<S::Task>) {
        for task in tasks {
            let work = self.runner.run(task);
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let request = work.await;
                if let Some(tx) = tx.upgrade() {
                    let _ = tx
                        .send(Command::Call {
                            request: Box::new(request),
                            reply: None,
                        })
                        .await;
                }
            });
        }
    }

    /// Rebuilds the shard from what the log holds. Requests still parked in the old one (joins,
    /// syncs) are dropped: their callers answer COORDINATOR_NOT_AVAILABLE.
    fn reload(&mut self) {
        self.pending.clear();
        let mut fresh = self.shard.empty_like();
        match self.log.read_all() {
            Ok((records, _)) => {
                for r in &records {
                    fresh.replay(r);
                }
                tracing::warn!(records = records.len(), "coordinator rebuilt from its log");
            }
            Err(e) => {
                tracing::error!(error = %e, "coordinator log unreadable; state restarts empty until the broker restarts");
            }
        }
        self.shard = fresh;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bytes::Bytes;

    use super::*;
    use crate::coordinator::{CoordinatorLogConfig, LogRecord, TaskFuture};

    /// A counter per key; `Bump` persists the new value, and with `echo` asks for a side task
    /// whose result (`Echoed`) is recorded too.
    #[derive(Default)]
    struct Counters {
        values: HashMap<String, u64>,
        echoed: Vec<String>,
        deadline: Option<i64>,
        ticks: u32,
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Set(String, u64);

    impl LogRecord for Set {
        type Error = String;
        const LOG_NAME: &'static str = "test log";
        fn encode(&self) -> (Bytes, Option<Bytes>) {
            (
                Bytes::from(self.0.clone()),
                Some(Bytes::copy_from_slice(&self.1.to_be_bytes())),
            )
        }
        fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, String> {
            let key = String::from_utf8(key.to_vec()).map_err(|e| e.to_string())?;
            let v: [u8; 8] = value
                .ok_or("tombstone")?
                .try_into()
                .map_err(|_| "length".to_string())?;
            Ok(Set(key, u64::from_be_bytes(v)))
        }
    }

    enum Req {
        Bump { key: String, echo: bool },
        Echoed(String),
        Read(String),
        Arm(i64),
        Echoes,
        Ticks,
    }

    impl CoordinatorShard for Counters {
        type Request = Req;
        type Response = u64;
        type Record = Set;
        type Task = String;

        fn handle(&mut self, _now: i64, id: RequestId, req: Req) -> Effects<Self> {
            let mut fx = Effects::default();
            match req {
                Req::Bump { key, echo } => {
                    let v = self.values.entry(key.clone()).or_default();
                    *v += 1;
                    fx.persist.push(Set(key.clone(), *v));
                    fx.responses.push((id, *v));
                    if echo {
                        fx.tasks.push(key);
                    }
                }
                Req::Echoed(key) => {
                    self.echoed.push(key.clone());
                    fx.responses.push((id, 0));
                }
                Req::Read(key) => {
                    let v = self.values.get(&key).copied().unwrap_or(0);
                    fx.responses.push((id, v));
                }
                Req::Echoes => fx.responses.push((id, self.echoed.len() as u64)),
                Req::Ticks => fx.responses.push((id, u64::from(self.ticks))),
                Req::Arm(at) => {
                    self.deadline = Some(at);
                    fx.responses.push((id, 0));
                }
            }
            fx
        }

        fn tick(&mut self, _now: i64) -> Effects<Self> {
            self.deadline = None;
            self.ticks += 1;
            Effects::default()
        }

        fn next_deadline(&self) -> Option<i64> {
            self.deadline
        }

        fn replay(&mut self, r: &Set) {
            self.values.insert(r.0.clone(), r.1);
        }

        fn empty_like(&self) -> Self {
            Counters::default()
        }

        fn unavailable(_: u64) -> u64 {
            u64::MAX
        }
    }

    struct Echo(AtomicUsize);

    impl TaskRunner<Counters> for Echo {
        fn run(&self, key: String) -> TaskFuture<Req> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Req::Echoed(key) })
        }
    }

    fn config() -> CoordinatorLogConfig {
        CoordinatorLogConfig {
            segment_bytes: 16 << 10,
            compact_floor_bytes: 32 << 10,
        }
    }

    #[tokio::test]
    async fn answers_come_after_the_records_are_durable_and_replay_rebuilds_them() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = CoordinatorLog::<Set>::open(dir.path().join("c"), config(), 0).unwrap();
        let log = Arc::new(log);
        let handle = CoordinatorHandle::start(
            Counters::default(),
            log.clone(),
            Arc::new(Echo(AtomicUsize::new(0))),
        );
        for _ in 0..3 {
            handle
                .call(Req::Bump {
                    key: "a".into(),
                    echo: false,
                })
                .await
                .unwrap();
        }
        assert_eq!(handle.call(Req::Read("a".into())).await.unwrap(), 3);
        // Every answered bump is in the log already.
        let (records, _) = log.read_all().unwrap();
        assert_eq!(records.last(), Some(&Set("a".into(), 3)));
        let mut rebuilt = Counters::default();
        for r in &records {
            rebuilt.replay(r);
        }
        assert_eq!(rebuilt.values.get("a"), Some(&3));
    }

    #[tokio::test]
    async fn a_task_runs_after_its_turn_and_its_result_comes_back_as_a_request() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = CoordinatorLog::<Set>::open(dir.path().join("c"), config(), 0).unwrap();
        let runner = Arc::new(Echo(AtomicUsize::new(0)));
        let handle = CoordinatorHandle::start(Counters::default(), Arc::new(log), runner.clone());
        handle
            .call(Req::Bump {
                key: "k".into(),
                echo: true,
            })
            .await
            .unwrap();
        assert_eq!(runner.0.load(Ordering::SeqCst), 1);
        let mut echoes = 0;
        for _ in 0..10_000 {
            echoes = handle.call(Req::Echoes).await.unwrap();
            if echoes > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(echoes, 1);
    }

    #[tokio::test]
    async fn a_passed_deadline_ticks_the_shard() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = CoordinatorLog::<Set>::open(dir.path().join("c"), config(), 0).unwrap();
        let handle = CoordinatorHandle::start(
            Counters::default(),
            Arc::new(log),
            Arc::new(Echo(AtomicUsize::new(0))),
        );
        assert_eq!(handle.call(Req::Ticks).await.unwrap(), 0);
        handle.call(Req::Arm(0)).await.unwrap();
        // Deadline 0 has passed: the loop ticks without waiting for a request.
        let mut ticks = 0;
        for _ in 0..10_000 {
            ticks = handle.call(Req::Ticks).await.unwrap();
            if ticks > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(ticks, 1);
    }
}
