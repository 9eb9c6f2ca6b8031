//! Strata: a Kafka-compatible broker.
//!
//! Data flows one way: `network` (frames, connections) decodes a request and hands it to
//! `handlers` (one module per API family), which act through `broker` on the partition `log`,
//! `metadata` and `producer` state, and return a response that the connection writes back in
//! request order. `config` turns Kafka's property names into typed settings; `record` knows the
//! v2 batch format; `group` is the consumer-group coordinator, a state machine without I/O that
//! the `coordinator` runtime feeds requests and time; `error` is the one mapping from internal errors to Kafka
//! error codes.
//! See `docs/architecture.md`.

pub mod broker;
pub mod config;
pub mod coordinator;
pub mod crash_points;
pub mod error;
pub mod group;
pub mod handlers;
pub mod log;
pub mod metadata;
pub mod network;
pub mod producer;
pub mod record;
pub mod txn;
pub mod types;
