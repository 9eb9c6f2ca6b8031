//! Identifier and offset newtypes shared by every module.
//!
//! Offsets of different meaning (log start, high watermark, log end) are all `Offset`; the
//! functions that return them say which one they mean. Ids get their own types so a producer id is
//! never passed where a node id is expected.

use std::fmt;

/// A position in a partition's log. Valid offsets are >= 0; Kafka uses -1 for "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub i64);

impl Offset {
    pub const UNKNOWN: Offset = Offset(-1);

    pub fn value(self) -> i64 {
        self.0
    }

    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A broker's node id (`node.id` / `broker.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NodeId(pub i32);

/// A partition leader epoch (KIP-101/KIP-320). Never decreases for a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeaderEpoch(pub i32);

/// A producer id assigned by InitProducerId; -1 means "no producer".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerId(pub i64);

impl ProducerId {
    pub const NONE: ProducerId = ProducerId(-1);
}

/// A producer epoch; -1 means "no epoch".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerEpoch(pub i16);

/// A partition index within a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub i32);

/// A topic and one of its partitions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: PartitionId,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition: PartitionId(partition),
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition.0)
    }
}

/// A byte range of an open log file, sent to a socket without passing through user space
/// (`sendfile`). The file stays readable while the range is in flight even if retention deletes
/// its segment meanwhile: the open handle keeps the data.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: std::sync::Arc<std::fs::File>,
    pub position: u64,
    pub len: usize,
}

impl FileSlice {
    /// The bytes, read into memory: for the rare paths that need them as a buffer.
    pub fn read(&self) -> std::io::Result<bytes::Bytes> {
        use std::os::unix::fs::FileExt;
        let mut out = vec![0u8; self.len];
        self.file.read_exact_at(&mut out, self.position)?;
        Ok(bytes::Bytes::from(out))
    }
}
