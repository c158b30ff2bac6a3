//! This node's own throttle counters: sliding windows of recent events per key, and
//! consecutive failures with a doubling wait. They are all the counters a single node has,
//! and every node's fallback while Redis does not answer (see `shared`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sliding windows of recent events per key.
#[derive(Debug)]
pub(super) struct Windows {
    pub(super) max: u32,
    pub(super) window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Windows {
    pub(super) fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
    }

    /// Seconds until another event is allowed, if the key is over its budget now.
    pub(super) fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
        let mut map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(key)?;
        Self::prune(q, now, self.window);
        if q.len() as u32 >= self.max {
            let oldest = *q.front()?;
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            Some(wait.as_secs().max(1))
        } else {
            None
        }
    }

    pub(super) fn record(&self, key: &str, now: Instant) {
        let mut map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a spray of distinct keys: forget expired windows.
            let window = self.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = map.entry(key.to_string()).or_default();
        Self::prune(q, now, self.window);
        q.push_back(now);
    }

    pub(super) fn clear(&self, key: &str) {
        let mut map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// Consecutive failures per key: past `free` of them, each failure blocks the key for
/// twice as long as the one before (1 s, 2 s, 4 s, … at most `cap`); a key quiet for `cap`
/// starts over.
#[derive(Debug)]
pub(super) struct Backoff {
    pub(super) free: u32,
    pub(super) cap: Duration,
    state: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Backoff {
    pub(super) fn new(free: u32, cap: Duration) -> Self {
        Self {
            free,
            cap,
            state: Mutex::new(HashMap::new()),
        }
    }

    fn wait_after(&self, failures: u32) -> Duration {
        if failures < self.free.max(1) {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free.max(1)).min(20);
        Duration::from_secs(1u64 << doublings).min(self.cap)
    }

    pub(super) fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
        let map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (failures, last) = map.get(key)?;
        let since = now.saturating_duration_since(*last);
        let wait = self.wait_after(*failures);
        (since < wait).then(|| (wait - since).as_secs().max(1))
    }

    pub(super) fn failed(&self, key: &str, now: Instant) {
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let cap = self.cap;
            map.retain(|_, (_, last)| now.saturating_duration_since(*last) < cap);
        }
        let entry = map.entry(key.to_string()).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= self.cap {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = now;
    }

    pub(super) fn clear(&self, key: &str) {
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_from_one_address_back_off_exponentially_even_from_a_known_device() {
        let b = Backoff::new(3, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..3 {
            assert!(b.blocked_for("k", now).is_none());
            b.failed("k", now);
        }
        assert_eq!(b.blocked_for("k", now), Some(1));
        b.failed("k", now);
        assert_eq!(b.blocked_for("k", now), Some(2));
        b.failed("k", now);
        assert_eq!(b.blocked_for("k", now), Some(4));
        assert!(b.blocked_for("k", now + Duration::from_secs(5)).is_none());
        for _ in 0..30 {
            b.failed("k", now);
        }
        assert_eq!(b.blocked_for("k", now), Some(60), "capped");
        b.clear("k");
        assert!(b.blocked_for("k", now).is_none());
    }
}
