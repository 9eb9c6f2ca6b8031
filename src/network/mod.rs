//! The network layer: framing, per-connection request pipelining and the accept loop.
//!
//! A connection reads size-prefixed frames, decodes each request header, hands the request to
//! `handlers::dispatch`, and writes the responses back strictly in request order while later
//! requests are already being handled.

pub mod codec;
pub mod connection;
pub mod frame;
pub mod limits;
pub mod server;

pub use limits::NetworkLimits;
pub use server::Server;
