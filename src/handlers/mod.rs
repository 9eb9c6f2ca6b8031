//! Request dispatch: one module per API family, and the route table that is the single source of
//! what ApiVersions advertises.
//!
//! A handler takes the broker and a decoded request and returns a response; it never sees the
//! socket. Requests whose waiting part should not hold up the connection (a produce's fsync, a
//! fetch's long poll) return [`Reply::Later`] after doing their in-order part.

mod acls;
mod api_versions;
mod client_quotas;
mod cluster;
mod configs;
mod delegation_tokens;
mod delete_records;
mod fetch;
mod fetch_encode;
mod groups;
mod list_offsets;
pub(crate) mod metadata;
mod offset_for_leader_epoch;
mod partition_admin;
mod produce;
mod producer_id;
mod producers;
mod routes;
mod sasl;
mod scram;
mod topics;
mod transactions;
mod txn_markers;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tracing::{debug, warn};

use crate::broker::Broker;
use crate::network::codec::{self, RequestPrefix, ResponseFrame};
pub use routes::{Route, ROUTES};

pub type ResponseFuture = Pin<Box<dyn Future<Output = Option<ResponseFrame>> + Send + 'static>>;

pub enum Reply {
    /// The encoded response frame.
    Now(Bytes),
    /// The response is built by this future; the connection awaits it in request order.
    Later(ResponseFuture),
    /// acks=0 produce: Kafka sends nothing back.
    NoResponse,
    /// The request cannot be answered (unknown key, unsupported version, undecodable): Kafka
    /// closes the connection in these cases.
    Close,
}

/// Decodes one request frame and runs its handler.
pub async fn dispatch(broker: &Arc<Broker>, peer: std::net::SocketAddr, mut frame: Bytes) -> Reply {
    let prefix = match codec::read_prefix(&frame) {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "closing connection");
            return Reply::Close;
        }
    };
    let span = tracing::Span::current();
    span.record("api", prefix.api_key);
    span.record("v", prefix.api_version);
    span.record("corr", prefix.correlation_id);

    let Some(route) = routes::find(prefix.api_key) else {
        warn!(
            api_key = prefix.api_key,
            "unsupported api key; closing connection"
        );
        return Reply::Close;
    };
    if !route.supports(prefix.api_version) {
        if route.key == ApiKey::ApiVersions {
            return api_versions::unsupported_version(prefix.correlation_id);
        }
        warn!(
            api_key = prefix.api_key,
            version = prefix.api_version,
            "unsupported version; closing connection"
        );
        return Reply::Close;
    }
    if route.key == ApiKey::Produce && prefix.api_version < produce::MIN_DECODABLE_VERSION {
        return produce::legacy::reject(&prefix, &frame);
    }
    let header = match codec::decode_header(route.key, prefix.api_version, &mut frame) {
        Ok(h) => h,
        Err(e) => {
            warn!(error = %e, "closing connection");
            return Reply::Close;
        }
    };
    let ctx = RequestContext {
        broker: broker.clone(),
        key: route.key,
        prefix,
        client_id: header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        // As Kafka prints an InetAddress: "/127.0.0.1".
        client_host: format!("/{}", peer.ip()),
    };
    routes::run(ctx, header, frame).await
}

/// What a handler knows about the request besides its body.
#[derive(Clone)]
pub struct RequestContext {
    pub broker: Arc<Broker>,
    pub key: ApiKey,
    pub prefix: RequestPrefix,
    pub client_id: String,
    pub client_host: String,
}

impl RequestContext {
    pub fn version(&self) -> i16 {
        self.prefix.api_version
    }

    /// Encodes a response in this request's version with the right header version.
    pub fn respond<M: Encodable>(&self, body: &M) -> Option<Bytes> {
        let v = self.prefix.api_version;
        let header_version = self.key.response_header_version(v);
        match codec::encode_response(self.prefix.correlation_id, header_version, body, v) {
            Ok(b) => Some(b),
            Err(e) => {
                // A response we cannot encode means a field not representable in this version;
                // the client gets a closed connection rather than garbage.
                tracing::error!(error = %e, api = ?self.key, version = v, "response encoding failed");
                None
            }
        }
    }

    pub fn reply<M: Encodable>(&self, body: &M) -> Reply {
        match self.respond(body) {
            Some(b) => Reply::Now(b),
            None => Reply::Close,
        }
    }
}

pub(crate) fn decode<R: Decodable>(body: &mut Bytes, version: i16) -> Option<R> {
    match R::decode(body, version) {
        Ok(r) => Some(r),
        Err(e) => {
            debug!(error = %e, "undecodable request body");
            None
        }
    }
}

pub(crate) fn header_unused(_h: &RequestHeader) {}
