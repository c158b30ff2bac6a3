//! Sliding-window limits for login attempts, per account and per client address, and token
//! buckets for WebSocket frames (per connection, and per user across their connections).
//!
//! Kept in memory on each node: with several nodes behind a balancer an attacker gets at
//! most `nodes ×` the configured budget. (Moving the counters to Redis is a small change
//! behind this same type.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ThrottleSettings;
use crate::domain::UserId;

/// Sliding windows of recent events per key.
#[derive(Debug)]
struct Windows {
    max: u32,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Windows {
    fn new(max: u32, window: Duration) -> Self {
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
    fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
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

    fn record(&self, key: &str, now: Instant) {
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

    fn clear(&self, key: &str) {
        let mut map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// Login throttle: all attempts per address; failures per account and address, with a
/// wait that doubles with each further failure; failures per account from any address,
/// which a login from one of the account's known devices is exempt from (a stranger can
/// slow an account down for everyone else, never lock its owner out of their usual device).
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Windows,
    addresses: Windows,
    pairs: Backoff,
}

impl LoginThrottle {
    pub fn new(s: &ThrottleSettings) -> Self {
        Self {
            accounts: Windows::new(
                s.max_failures_per_account,
                Duration::from_secs(s.account_window_secs),
            ),
            addresses: Windows::new(s.max_attempts_per_ip, Duration::from_secs(s.ip_window_secs)),
            pairs: Backoff::new(
                s.max_failures_per_account,
                Duration::from_secs(s.account_window_secs),
            ),
        }
    }

    /// Called before checking a password. `Err(seconds)` means refuse with 429.
    /// `known_device`: the request carries this account's signed known-device cookie.
    pub fn check(&self, account: &str, address: &str, known_device: bool) -> Result<(), u64> {
        let now = Instant::now();
        if let Some(wait) = self.addresses.blocked_for(address, now) {
            return Err(wait);
        }
        self.addresses.record(address, now);
        if let Some(wait) = self.pairs.blocked_for(&pair_key(account, address), now) {
            return Err(wait);
        }
        if !known_device && let Some(wait) = self.accounts.blocked_for(account, now) {
            return Err(wait);
        }
        Ok(())
    }

    /// Count an attempt from `address` that has no account to lock (sign-up).
    pub fn check_address(&self, address: &str) -> Result<(), u64> {
        let now = Instant::now();
        if let Some(wait) = self.addresses.blocked_for(address, now) {
            return Err(wait);
        }
        self.addresses.record(address, now);
        Ok(())
    }

    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        self.accounts.record(account, now);
        self.pairs.failed(&pair_key(account, address), now);
    }

    /// A successful login. From a known device it clears only that address's backoff: the
    /// owner logging in must not lift a lockout a stranger ran into elsewhere.
    pub fn succeeded(&self, account: &str, address: &str, known_device: bool) {
        if !known_device {
            self.accounts.clear(account);
        }
        self.pairs.clear(&pair_key(account, address));
    }
}

fn pair_key(account: &str, address: &str) -> String {
    format!("{account}\u{0}{address}")
}

/// Consecutive failures per key: past `free` of them, each failure blocks the key for
/// twice as long as the one before (1 s, 2 s, 4 s, … at most `cap`); a key quiet for `cap`
/// starts over.
#[derive(Debug)]
struct Backoff {
    free: u32,
    cap: Duration,
    state: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Backoff {
    fn new(free: u32, cap: Duration) -> Self {
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

    fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
        let map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (failures, last) = map.get(key)?;
        let since = now.saturating_duration_since(*last);
        let wait = self.wait_after(*failures);
        (since < wait).then(|| (wait - since).as_secs().max(1))
    }

    fn failed(&self, key: &str, now: Instant) {
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

    fn clear(&self, key: &str) {
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// Per-address budget for guesses at something secret that is looked up publicly (the
/// verification code printed on a document): only misses count, so a pharmacy checking
/// real documents all day is never refused.
#[derive(Debug)]
pub struct MissThrottle {
    misses: Windows,
}

impl MissThrottle {
    pub fn new(max_misses: u32, window: Duration) -> Self {
        Self {
            misses: Windows::new(max_misses, window),
        }
    }

    /// Before a lookup: `Err(seconds)` when this address used up its misses.
    pub fn check(&self, address: &str) -> Result<(), u64> {
        match self.misses.blocked_for(address, Instant::now()) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// The lookup found nothing (or the code was wrong).
    pub fn missed(&self, address: &str) {
        self.misses.record(address, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ThrottleSettings {
        ThrottleSettings {
            max_failures_per_account: 3,
            account_window_secs: 60,
            max_attempts_per_ip: 5,
            ip_window_secs: 60,
            known_device_days: 30,
        }
    }

    #[test]
    fn an_account_is_blocked_after_repeated_failures_and_freed_by_success() {
        let t = LoginThrottle::new(&settings());
        for i in 0..3 {
            let from = format!("a{i}");
            assert!(t.check("ana@x.com", &from, false).is_ok());
            t.failed("ana@x.com", &from);
        }
        let wait = t.check("ana@x.com", "b", false).expect_err("blocked");
        assert!((1..=60).contains(&wait));
        assert!(t.check("bia@x.com", "c", false).is_ok());
        // The owner's known device is not locked out by failures from elsewhere.
        assert!(t.check("ana@x.com", "home", true).is_ok());
        t.succeeded("ana@x.com", "home", true);
        assert!(
            t.check("ana@x.com", "d", false).is_err(),
            "still locked for others"
        );
        t.succeeded("ana@x.com", "home", false);
        assert!(t.check("ana@x.com", "d", false).is_ok());
    }

    #[test]
    fn an_address_is_blocked_after_too_many_attempts() {
        let t = LoginThrottle::new(&settings());
        for i in 0..5 {
            assert!(t.check(&format!("u{i}@x.com"), "1.2.3.4", false).is_ok());
        }
        assert!(t.check("other@x.com", "1.2.3.4", false).is_err());
        assert!(t.check("other@x.com", "5.6.7.8", false).is_ok());
    }

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

    #[test]
    fn only_misses_use_up_the_lookup_budget() {
        let t = MissThrottle::new(2, Duration::from_secs(60));
        assert!(t.check("1.1.1.1").is_ok());
        t.missed("1.1.1.1");
        t.missed("1.1.1.1");
        assert!(t.check("1.1.1.1").is_err());
        assert!(t.check("2.2.2.2").is_ok());
    }
}

/// A token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            tokens: burst,
            rate,
            burst,
            at: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.at = now;
    }

    /// Spend `n` tokens if there are that many.
    pub fn take(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Milliseconds until `n` tokens are there (0 when they already are).
    pub fn wait_ms(&self, n: f64) -> u64 {
        let now = self.tokens
            + Instant::now()
                .saturating_duration_since(self.at)
                .as_secs_f64()
                * self.rate;
        if now >= n || self.rate <= 0.0 {
            return 0;
        }
        (((n - now) / self.rate) * 1000.0).ceil() as u64
    }

    /// Whether the bucket has refilled completely by `now` (its owner is idle).
    fn is_full(&self, now: Instant) -> bool {
        self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * self.rate >= self.burst
    }
}

/// Frames per user on this node, across all their connections: opening more sockets does
/// not buy more budget. (Per node, like the login limits.)
#[derive(Debug)]
pub struct UserFrameBudgets {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<UserId, TokenBucket>>,
}

impl UserFrameBudgets {
    pub fn new(rate_per_sec: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate_per_sec),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Spend one frame of `user`'s budget, if there is one left.
    pub fn take(&self, user: UserId) -> bool {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            // Bound memory: a user whose bucket refilled has nothing worth remembering.
            map.retain(|_, b| !b.is_full(now));
        }
        map.entry(user)
            .or_insert_with(|| TokenBucket::new(self.rate, self.burst))
            .take(1.0, now)
    }
}
