//! Record batches (magic v2): header access, integrity checks and record-level validation.
//!
//! A batch is kept as the bytes the producer sent. This module reads and rewrites only the fixed
//! header; records are walked (and decompressed, with limits) only to validate them and to find a
//! record by timestamp, and recompressed only for a topic whose `compression.type` names a codec
//! other than the producer's (`recompress`).

pub mod batch;
pub mod builder;
pub mod compression;
pub mod control;
pub mod locate;
pub mod recompress;
pub mod validate;

pub use batch::{BatchError, BatchHeader, Compression, TimestampType};
