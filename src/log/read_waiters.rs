//! Fetches waiting for a log to grow.
//!
//! Each waiting fetch registers one `Notify` with every partition it reads; an append (or an
//! fsync that moves the high watermark) wakes only the fetches registered with that partition.
//! A broker-wide wake-up would make every append re-run every waiting fetch in the broker.

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

#[derive(Default)]
pub struct ReadWaiters {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Weak, so a fetch that ends (answered, timed out, connection gone) needs no unregistering:
    /// its entries are dropped at the next wake-up or pruning.
    waiters: Vec<Weak<Notify>>,
    /// Length at which dead entries are next pruned, so registering stays O(1) amortised on a
    /// partition that never grows.
    prune_at: usize,
}

const MIN_PRUNE_AT: usize = 16;

impl ReadWaiters {
    /// Registers `waiter` to be woken by the next growth of the log. A wake-up between this call
    /// and the wait is not lost: `notify_one` leaves a permit.
    pub fn register(&self, waiter: &Arc<Notify>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.waiters.len() >= inner.prune_at {
            inner.waiters.retain(|w| w.strong_count() > 0);
            inner.prune_at = (inner.waiters.len() * 2).max(MIN_PRUNE_AT);
        }
        inner.waiters.push(Arc::downgrade(waiter));
    }

    /// Wakes every live registered waiter; they stay registered until their fetch ends.
    pub fn wake(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.waiters.retain(|w| match w.upgrade() {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        });
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiters
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_wait_is_kept_and_ended_waiters_are_dropped() {
        let w = ReadWaiters::default();
        let fetch = Arc::new(Notify::new());
        w.register(&fetch);
        w.wake();
        // The permit left by the wake-up ends this wait at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), fetch.notified())
            .await
            .expect("woken");
        drop(fetch);
        w.wake();
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn registrations_on_a_log_that_never_grows_stay_bounded() {
        let w = ReadWaiters::default();
        let live = Arc::new(Notify::new());
        w.register(&live);
        for _ in 0..10_000 {
            let ended = Arc::new(Notify::new());
            w.register(&ended);
        }
        assert!(w.len() <= 2 * MIN_PRUNE_AT, "{}", w.len());
    }
}
