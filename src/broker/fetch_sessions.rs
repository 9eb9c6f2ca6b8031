//! Incremental fetch sessions (KIP-227).
//!
//! A session remembers, per partition, what the client asked for and what it was last told, so an
//! incremental fetch can name only the partitions that changed and the response can leave out
//! the partitions with nothing new.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::types::TopicPartition;

/// Kafka's max.incremental.fetch.session.cache.slots default.
pub const MAX_SESSIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPartition {
    pub fetch_offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: i32,
    /// What the last response told the client; -2 until something was sent.
    pub last_high_watermark: i64,
    pub last_log_start_offset: i64,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i32,
    /// The epoch the next request must carry.
    pub next_epoch: i32,
    /// Insertion-ordered so responses list partitions in a stable order.
    pub partitions: BTreeMap<u64, (TopicPartition, SessionPartition)>,
    pub order_seq: u64,
    pub last_used_ms: i64,
}

impl Session {
    pub fn upsert(&mut self, tp: TopicPartition, p: SessionPartition) {
        if let Some((_, existing)) = self.partitions.values_mut().find(|(t, _)| *t == tp) {
            existing.fetch_offset = p.fetch_offset;
            existing.max_bytes = p.max_bytes;
            existing.current_leader_epoch = p.current_leader_epoch;
            return;
        }
        self.order_seq += 1;
        self.partitions.insert(self.order_seq, (tp, p));
    }

    pub fn remove(&mut self, tp: &TopicPartition) {
        self.partitions.retain(|_, (t, _)| t != tp);
    }
}

#[derive(Debug)]
pub enum SessionError {
    NotFound,
    InvalidEpoch,
}

#[derive(Default)]
pub struct FetchSessionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<i32, Session>,
    next_id: i32,
}

impl FetchSessionCache {
    /// Starts a new session (a full fetch with epoch 0), evicting the least recently used one
    /// when the cache is full.
    pub fn create(&self, now_ms: i64) -> Session {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = g
                .sessions
                .values()
                .min_by_key(|s| s.last_used_ms)
                .map(|s| s.id)
            {
                g.sessions.remove(&oldest);
            }
        }
        g.next_id = g.next_id.wrapping_add(1).max(1);
        while g.sessions.contains_key(&g.next_id) {
            g.next_id = g.next_id.wrapping_add(1).max(1);
        }
        Session {
            id: g.next_id,
            // `store` advances it: the first incremental fetch carries epoch 1.
            next_epoch: 0,
            partitions: BTreeMap::new(),
            order_seq: 0,
            last_used_ms: now_ms,
        }
    }

    /// Takes a session out for an incremental fetch with `epoch`; it must be put back with
    /// [`FetchSessionCache::store`].
    pub fn take(&self, id: i32, epoch: i32) -> Result<Session, SessionError> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let s = g.sessions.get(&id).ok_or(SessionError::NotFound)?;
        if s.next_epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        g.sessions.remove(&id).ok_or(SessionError::NotFound)
    }

    pub fn store(&self, mut session: Session, now_ms: i64) {
        session.last_used_ms = now_ms;
        session.next_epoch = if session.next_epoch == i32::MAX {
            1
        } else {
            session.next_epoch + 1
        };
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.sessions.insert(session.id, session);
    }

    pub fn remove(&self, id: i32) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.sessions.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_must_follow_in_order() {
        let cache = FetchSessionCache::default();
        let s = cache.create(0);
        let id = s.id;
        cache.store(s, 0);
        assert!(matches!(cache.take(id, 2), Err(SessionError::InvalidEpoch)));
        let s = cache.take(id, 1).unwrap();
        cache.store(s, 1);
        assert!(cache.take(id, 2).is_ok());
        assert!(matches!(cache.take(id + 1, 1), Err(SessionError::NotFound)));
    }

    #[test]
    fn cache_is_bounded() {
        let cache = FetchSessionCache::default();
        for i in 0..(MAX_SESSIONS + 5) {
            let s = cache.create(i as i64);
            cache.store(s, i as i64);
        }
        assert_eq!(cache.inner.lock().unwrap().sessions.len(), MAX_SESSIONS);
    }
}
