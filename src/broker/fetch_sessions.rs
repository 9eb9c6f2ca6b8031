//! Incremental fetch sessions (KIP-227).
//!
//! A session remembers, per partition, what the client asked for and what it was last told, so an
//! incremental fetch can name only the partitions that changed and the response can leave out
//! the partitions with nothing new.
//!
//! Its partitions are kept in order and read in that order, the first ones getting the first
//! share of the response's byte budget. As in Kafka, an incremental fetch moves every partition
//! that returned records to the end, so the budget rotates and a partition that always has data
//! cannot starve the others.

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
    /// The session's order: keys only grow, so the first entry is the next to be served.
    partitions: BTreeMap<u64, (TopicPartition, SessionPartition)>,
    /// Each partition's key in `partitions`.
    positions: HashMap<TopicPartition, u64>,
    order_seq: u64,
    pub last_used_ms: i64,
}

impl Session {
    /// Adds a partition at the end of the order, or updates what the client asks of one already
    /// in the session without moving it.
    pub fn upsert(&mut self, tp: TopicPartition, p: SessionPartition) {
        if let Some(existing) = self.get_mut(&tp) {
            existing.fetch_offset = p.fetch_offset;
            existing.max_bytes = p.max_bytes;
            existing.current_leader_epoch = p.current_leader_epoch;
            return;
        }
        self.order_seq += 1;
        self.positions.insert(tp.clone(), self.order_seq);
        self.partitions.insert(self.order_seq, (tp, p));
    }

    pub fn remove(&mut self, tp: &TopicPartition) {
        if let Some(at) = self.positions.remove(tp) {
            self.partitions.remove(&at);
        }
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut SessionPartition> {
        let at = self.positions.get(tp)?;
        self.partitions.get_mut(at).map(|(_, p)| p)
    }

    /// Puts a partition last in the order (it returned records and has had its share).
    pub fn move_to_end(&mut self, tp: &TopicPartition) {
        let Some(at) = self.positions.get_mut(tp) else {
            return;
        };
        let Some(entry) = self.partitions.remove(at) else {
            return;
        };
        self.order_seq += 1;
        *at = self.order_seq;
        self.partitions.insert(self.order_seq, entry);
    }

    /// The partitions in the order they are served.
    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &SessionPartition)> {
        self.partitions.values().map(|(t, p)| (t, p))
    }

    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
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
            positions: HashMap::new(),
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

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn part(offset: i64) -> SessionPartition {
        SessionPartition {
            fetch_offset: offset,
            max_bytes: 100,
            current_leader_epoch: -1,
            last_high_watermark: -2,
            last_log_start_offset: -2,
        }
    }

    fn order(s: &Session) -> Vec<i32> {
        s.iter().map(|(t, _)| t.partition.0).collect()
    }

    #[test]
    fn served_partitions_rotate_to_the_end_and_updates_stay_in_place() {
        let cache = FetchSessionCache::default();
        let mut s = cache.create(0);
        for p in 0..3 {
            s.upsert(tp(p), part(0));
        }
        s.move_to_end(&tp(0));
        assert_eq!(order(&s), vec![1, 2, 0]);
        s.upsert(tp(1), part(7));
        assert_eq!(order(&s), vec![1, 2, 0]);
        assert_eq!(s.get_mut(&tp(1)).map(|p| p.fetch_offset), Some(7));
        s.move_to_end(&tp(1));
        s.move_to_end(&tp(9));
        assert_eq!(order(&s), vec![2, 0, 1]);
        s.remove(&tp(0));
        s.upsert(tp(0), part(0));
        assert_eq!(order(&s), vec![2, 1, 0]);
        assert_eq!(s.len(), 3);
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
