//! One runtime for the broker's coordinators (groups, transactions), after Kafka's
//! `coordinator-common`.
//!
//! A coordinator is a *shard*: a state machine without I/O that takes requests and a clock
//! reading and returns `Effects` (records to make durable, responses to release once they are,
//! and side tasks to start once they are). The runtime (`runtime`) is the one task that owns a
//! shard, batches the requests of a turn into one append to the shard's durable keyed log
//! (`log`), waits for one fsync, then answers and starts the side tasks; a side task's result
//! comes back to the shard as a new request. Timers are served through `next_deadline`.
//!
//! Files: `runtime` (the loop and the handle callers submit through), `log` (the durable
//! key/value log with replay and compaction by rewrite).

pub mod log;
pub mod runtime;

use std::future::Future;
use std::pin::Pin;

pub use log::{CoordinatorLog, CoordinatorLogConfig, LogRecord, ReplayReport};
pub use runtime::{CoordinatorHandle, Unavailable};

/// Identifies one request within a runtime, so a response can be released to its caller.
pub type RequestId = u64;

/// What a shard asks of the runtime after a call.
///
/// The runtime appends `persist` and waits until it is durable; only then does it release
/// `responses` and start `tasks`. A failed write turns the responses into the shard's
/// "unavailable" answers, drops the tasks and rebuilds the shard from its log.
pub struct Effects<S: CoordinatorShard> {
    pub persist: Vec<S::Record>,
    pub responses: Vec<(RequestId, S::Response)>,
    pub tasks: Vec<S::Task>,
}

impl<S: CoordinatorShard> std::fmt::Debug for Effects<S>
where
    S::Record: std::fmt::Debug,
    S::Response: std::fmt::Debug,
    S::Task: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("persist", &self.persist)
            .field("responses", &self.responses)
            .field("tasks", &self.tasks)
            .finish()
    }
}

impl<S: CoordinatorShard> Default for Effects<S> {
    fn default() -> Self {
        Effects {
            persist: Vec::new(),
            responses: Vec::new(),
            tasks: Vec::new(),
        }
    }
}

impl<S: CoordinatorShard> Effects<S> {
    pub fn merge(&mut self, other: Effects<S>) {
        self.persist.extend(other.persist);
        self.responses.extend(other.responses);
        self.tasks.extend(other.tasks);
    }

    pub fn is_empty(&self) -> bool {
        self.persist.is_empty() && self.responses.is_empty() && self.tasks.is_empty()
    }
}

/// A coordinator state machine the runtime can drive. Implementations do no I/O and read no
/// clock: everything arrives as arguments.
pub trait CoordinatorShard: Send + Sized + 'static {
    type Request: Send + 'static;
    type Response: Send + 'static;
    type Record: LogRecord + Send + Sync + 'static;
    /// Deferred work started once a turn is durable (the transaction coordinator's marker
    /// writes). A shard without any uses `std::convert::Infallible`.
    type Task: Send + 'static;

    /// Feeds one request. Its response may come in these effects or in a later call's.
    fn handle(&mut self, now_ms: i64, id: RequestId, request: Self::Request) -> Effects<Self>;

    /// Advances time to `now_ms`; called when `next_deadline` has passed.
    fn tick(&mut self, now_ms: i64) -> Effects<Self>;

    /// Earliest time `tick` has work to do.
    fn next_deadline(&self) -> Option<i64>;

    /// Applies one persisted record during a rebuild (records come in log order).
    fn replay(&mut self, record: &Self::Record);

    /// A shard with this one's configuration and no state, to replay the log into.
    fn empty_like(&self) -> Self;

    /// Work the replayed state still owes: called once when the runtime starts and after every
    /// rebuild (a transaction decided before a crash must still get its markers). Tasks only:
    /// what is owed is already durable.
    fn resume(&mut self) -> Vec<Self::Task> {
        Vec::new()
    }

    /// The answer a response becomes when its turn could not be made durable (normally
    /// COORDINATOR_NOT_AVAILABLE; reads of durable state may pass unchanged).
    fn unavailable(response: Self::Response) -> Self::Response;
}

/// A boxed future a task runner returns.
pub type TaskFuture<R> = Pin<Box<dyn Future<Output = R> + Send + 'static>>;

/// Runs a shard's side tasks. Each task ends with a request fed back to the shard (with no
/// caller waiting on its answer). The runner decides how failures are retried; a task that
/// never completes simply never reports.
pub trait TaskRunner<S: CoordinatorShard>: Send + Sync + 'static {
    fn run(&self, task: S::Task) -> TaskFuture<S::Request>;
}

/// The runner of shards that have no side tasks.
pub struct NoTasks;

impl<S: CoordinatorShard<Task = std::convert::Infallible>> TaskRunner<S> for NoTasks {
    fn run(&self, task: std::convert::Infallible) -> TaskFuture<S::Request> {
        match task {}
    }
}
