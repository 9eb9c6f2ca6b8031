//! The group coordinator's APIs. Each handler turns the wire request (any version) into the
//! coordinator's plain request, sends it to the coordinator loop, and turns the answer back into
//! the wire response of the request's version. Group semantics live in `crate::group`; what is
//! here is version handling and the checks Kafka makes before the coordinator is asked (topics
//! that do not exist, for example).

pub mod admin;
pub mod consumer;
pub mod find_coordinator;
pub mod membership;
pub mod offsets;

use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};
use crate::group::{ErrorCode, GroupRequest, GroupResponse};

/// A request handed to the coordinator, whose answer is still to come.
type Pending = Option<tokio::sync::oneshot::Receiver<GroupResponse>>;

/// Hands the request to the coordinator. Handlers call this in their in-order part, before
/// they return: requests from one connection then reach the coordinator in the order they were
/// sent (two async commits must not land in the opposite order), as Kafka guarantees.
async fn submit(ctx: &RequestContext, req: GroupRequest) -> Pending {
    ctx.broker.groups().submit(req).await.ok()
}

/// The coordinator's answer; None when it could not answer (stopped, or its turn was dropped):
/// the caller then answers COORDINATOR_NOT_AVAILABLE, which every client retries.
async fn answer(pending: Pending) -> Option<GroupResponse> {
    pending?.await.ok()
}

/// Runs `f` after the handler returns, so a request that waits (a JoinGroup parked for a whole
/// rebalance) does not hold the connection's reader.
fn later<F>(f: F) -> Reply
where
    F: std::future::Future<Output = Option<bytes::Bytes>> + Send + 'static,
{
    Reply::Later(Box::pin(async move { f.await.map(Into::into) }))
}

fn code(e: ErrorCode) -> i16 {
    e.code()
}

const UNAVAILABLE: ErrorCode = ErrorCode::CoordinatorNotAvailable;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn opt(v: &Option<String>) -> Option<StrBytes> {
    v.as_deref().map(s)
}
