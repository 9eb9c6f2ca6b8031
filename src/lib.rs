//! Strata: a Kafka-compatible broker.
//!
//! See `docs/architecture.md` for the module map and the request flow.

pub mod config;
pub mod record;
pub mod types;
