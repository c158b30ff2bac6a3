//! Sliding-window limits for login attempts, per account and per client address, and for
//! misses of secrets looked up publicly; token buckets for WebSocket frames (per connection,
//! and per user across their connections).
//!
//! The login and miss counters live in Redis when the installation has one (`shared`), so
//! every node counts against the same budget; a node without Redis, or whose Redis does not
//! answer, counts in its own memory (`local`; counter `atende_throttle_fallbacks_total`).
//! The frame budgets are per node: frames are spent on the node holding the socket.

mod local;
pub mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::local::{Backoff, Windows};
use self::shared::{ADDRESSES, SharedCounters, WindowOp, pair_key};
use crate::config::ThrottleSettings;
use crate::domain::UserId;

/// Redis did not answer: count on this node for this attempt.
fn fell_back(e: &redis::RedisError) {
    metrics::counter!("atende_throttle_fallbacks_total").increment(1);
    tracing::warn!(error = %e, "shared throttle counters unreachable; counting on this node");
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
    shared: Option<Arc<SharedCounters>>,
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
            shared: None,
        }
    }

    /// Count in Redis, shared with every node (`None`: in this node's memory).
    pub fn shared(mut self, counters: Option<Arc<SharedCounters>>) -> Self {
        self.shared = counters;
        self
    }

    /// Called before checking a password. `Err(seconds)` means refuse with 429.
    /// `known_device`: the request carries this account's signed known-device cookie.
    pub async fn check(&self, account: &str, address: &str, known_device: bool) -> Result<(), u64> {
        if let Some(s) = &self.shared {
            match s
                .login_check(&self.budget(), account, address, !known_device)
                .await
            {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(wait),
                Err(e) => fell_back(&e),
            }
        }
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
    pub async fn check_address(&self, address: &str) -> Result<(), u64> {
        let a = &self.addresses;
        if let Some(s) = &self.shared {
            match s
                .window(ADDRESSES, address, a.max, a.window, WindowOp::Take)
                .await
            {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(wait),
                Err(e) => fell_back(&e),
            }
        }
        let now = Instant::now();
        if let Some(wait) = a.blocked_for(address, now) {
            return Err(wait);
        }
        a.record(address, now);
        Ok(())
    }

    pub async fn failed(&self, account: &str, address: &str) {
        if let Some(s) = &self.shared {
            match s.login_failed(&self.budget(), account, address).await {
                Ok(()) => return,
                Err(e) => fell_back(&e),
            }
        }
        let now = Instant::now();
        self.accounts.record(account, now);
        self.pairs.failed(&pair_key(account, address), now);
    }

    /// A successful login. From a known device it clears only that address's backoff: the
    /// owner logging in must not lift a lockout a stranger ran into elsewhere.
    pub async fn succeeded(&self, account: &str, address: &str, known_device: bool) {
        if let Some(s) = &self.shared {
            match s.login_succeeded(account, address, !known_device).await {
                Ok(()) => return,
                Err(e) => fell_back(&e),
            }
        }
        if !known_device {
            self.accounts.clear(account);
        }
        self.pairs.clear(&pair_key(account, address));
    }
}

impl LoginThrottle {
    /// The budgets, as the shared counters take them.
    fn budget(&self) -> shared::LoginBudget {
        shared::LoginBudget {
            addresses: (self.addresses.max, self.addresses.window),
            pair: (self.pairs.free, self.pairs.cap),
            accounts: (self.accounts.max, self.accounts.window),
        }
    }
}

/// Per-address budget for guesses at something secret that is looked up publicly (the
/// verification code printed on a document): only misses count, so a pharmacy checking
/// real documents all day is never refused.
#[derive(Debug)]
pub struct MissThrottle {
    /// Names the counters in Redis (`lookups`, `reset_requests`, …).
    kind: &'static str,
    misses: Windows,
    shared: Option<Arc<SharedCounters>>,
}

impl MissThrottle {
    pub fn new(kind: &'static str, max_misses: u32, window: Duration) -> Self {
        Self {
            kind,
            misses: Windows::new(max_misses, window),
            shared: None,
        }
    }

    /// Count in Redis, shared with every node (`None`: in this node's memory).
    pub fn shared(mut self, counters: Option<Arc<SharedCounters>>) -> Self {
        self.shared = counters;
        self
    }

    async fn on_shared(&self, address: &str, op: WindowOp) -> Option<Option<u64>> {
        let s = self.shared.as_ref()?;
        let m = &self.misses;
        match s.window(self.kind, address, m.max, m.window, op).await {
            Ok(answer) => Some(answer),
            Err(e) => {
                fell_back(&e);
                None
            }
        }
    }

    /// Before a lookup: `Err(seconds)` when this address used up its misses.
    pub async fn check(&self, address: &str) -> Result<(), u64> {
        let blocked = match self.on_shared(address, WindowOp::Check).await {
            Some(answer) => answer,
            None => self.misses.blocked_for(address, Instant::now()),
        };
        blocked.map_or(Ok(()), Err)
    }

    /// The lookup found nothing (or the code was wrong).
    pub async fn missed(&self, address: &str) {
        if self.on_shared(address, WindowOp::Add).await.is_none() {
            self.misses.record(address, Instant::now());
        }
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

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn an_account_is_blocked_after_repeated_failures_and_freed_by_success() {
        let t = LoginThrottle::new(&settings());
        for i in 0..3 {
            let from = format!("a{i}");
            assert!(t.check("ana@x.com", &from, false).await.is_ok());
            t.failed("ana@x.com", &from).await;
        }
        let wait = t.check("ana@x.com", "b", false).await.expect_err("blocked");
        assert!((1..=60).contains(&wait));
        assert!(t.check("bia@x.com", "c", false).await.is_ok());
        // The owner's known device is not locked out by failures from elsewhere.
        assert!(t.check("ana@x.com", "home", true).await.is_ok());
        t.succeeded("ana@x.com", "home", true).await;
        assert!(
            t.check("ana@x.com", "d", false).await.is_err(),
            "still locked for others"
        );
        t.succeeded("ana@x.com", "home", false).await;
        assert!(t.check("ana@x.com", "d", false).await.is_ok());
    }

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn an_address_is_blocked_after_too_many_attempts() {
        let t = LoginThrottle::new(&settings());
        for i in 0..5 {
            assert!(
                t.check(&format!("u{i}@x.com"), "1.2.3.4", false)
                    .await
                    .is_ok()
            );
        }
        assert!(t.check("other@x.com", "1.2.3.4", false).await.is_err());
        assert!(t.check("other@x.com", "5.6.7.8", false).await.is_ok());
    }

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn only_misses_use_up_the_lookup_budget() {
        let t = MissThrottle::new("test", 2, Duration::from_secs(60));
        assert!(t.check("1.1.1.1").await.is_ok());
        t.missed("1.1.1.1").await;
        t.missed("1.1.1.1").await;
        assert!(t.check("1.1.1.1").await.is_err());
        assert!(t.check("2.2.2.2").await.is_ok());
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
