//! Indexes of sealed segments, loaded from their `.index` / `.timeindex` files when a read
//! needs them and kept in one bounded cache for the whole process.
//!
//! Keeping every segment's index in memory cost about 20 bytes per 4 KiB of stored data (0.5%):
//! a broker holding a few terabytes would have held gigabytes of indexes, and read all of them
//! at start-up. Only the active segment of each partition keeps its index in memory; the rest
//! cost memory only while they are being read, and never more than `CAPACITY_BYTES` together.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use moka::sync::Cache;

use super::index::SegmentIndex;

/// Room for the indexes of a dozen full 1 GiB segments at the default index interval.
const CAPACITY_BYTES: u64 = 64 << 20;
/// Bookkeeping per entry beyond its index bytes.
const ENTRY_OVERHEAD: usize = 128;

static CACHE: LazyLock<Cache<SegmentId, Arc<SegmentIndex>>> = LazyLock::new(|| {
    Cache::builder()
        .max_capacity(CAPACITY_BYTES)
        .weigher(|_, index: &Arc<SegmentIndex>| {
            u32::try_from(index.bytes() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
        })
        .build()
});

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Names one segment for the life of the process (base offsets repeat across partitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentId(u64);

impl SegmentId {
    pub fn next() -> SegmentId {
        SegmentId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// The cached index of `id`, loaded with `load` on a miss. Concurrent misses for the same
/// segment load it once.
pub fn get_or_load(
    id: SegmentId,
    load: impl FnOnce() -> io::Result<SegmentIndex>,
) -> io::Result<Arc<SegmentIndex>> {
    CACHE
        .try_get_with(id, || load().map(Arc::new))
        .map_err(|e: Arc<io::Error>| io::Error::new(e.kind(), e.to_string()))
}

/// Drops the entry of a segment that is gone or no longer sealed.
pub fn forget(id: SegmentId) {
    CACHE.invalidate(&id);
}

#[cfg(test)]
pub fn is_cached(id: SegmentId) -> bool {
    CACHE.contains_key(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_loads_once_and_a_hit_does_not_load() {
        let id = SegmentId::next();
        let mut index = SegmentIndex::default();
        index.offsets.push((0, 0));
        let got = get_or_load(id, || Ok(index.clone())).expect("load");
        assert_eq!(*got, index);
        let again = get_or_load(id, || panic!("a hit must not load")).expect("hit");
        assert_eq!(*again, index);
        forget(id);
        assert!(!is_cached(id));
    }

    #[test]
    fn a_failed_load_is_an_error_and_is_not_cached() {
        let id = SegmentId::next();
        let err = get_or_load(id, || Err(io::ErrorKind::NotFound.into())).expect_err("fails");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!is_cached(id));
    }
}
