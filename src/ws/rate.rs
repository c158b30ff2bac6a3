//! A connection's budget of incoming frames: frames per second and bytes per second, each
//! a token bucket with a burst, and the user's budget across their connections. Frames
//! over budget are refused (`rate_limited`); a client that stays over budget — at whatever
//! rate — for `realtime.flood_close_secs`, or that has more than five bursts' worth of
//! frames refused in one stretch, is closed with 1008.

use std::time::{Duration, Instant};

use crate::config::RealtimeSettings;
use crate::security::throttle::TokenBucket;

/// What to do with an incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop it; `tell` when the client should get a `rate_limited` reply (the first refusal
    /// of a stretch, then every 20th, so a flood does not fill the outbound queue).
    Refuse {
        tell: bool,
    },
    /// Over budget for too long: close the connection.
    Close,
}

/// A stretch of refusals: it ends once the client has been quiet long enough for its
/// bucket to refill.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    since: Instant,
    last: Instant,
    refused: u32,
}

pub struct FrameBudget {
    frames: TokenBucket,
    bytes: TokenBucket,
    stretch: Option<Stretch>,
    /// No refusal for this long ends a stretch (the frame bucket's refill time).
    quiet: Duration,
    /// A stretch this long closes the connection.
    sustain: Duration,
    /// More refusals than this in one stretch close the connection (an instant flood).
    max_refused: u32,
}

impl FrameBudget {
    pub fn new(rt: &RealtimeSettings) -> Self {
        let refill = f64::from(rt.rate_burst) / f64::from(rt.rate_per_sec.max(1));
        Self {
            frames: TokenBucket::new(f64::from(rt.rate_per_sec), f64::from(rt.rate_burst)),
            bytes: TokenBucket::new(rt.rate_bytes_per_sec as f64, rt.rate_bytes_burst as f64),
            stretch: None,
            quiet: Duration::from_secs_f64(refill.max(1.0)),
            sustain: Duration::from_secs(rt.flood_close_secs),
            max_refused: rt.rate_burst.saturating_mul(5),
        }
    }

    /// About when the frame bucket has a token again, for a refusal's retry hint.
    pub fn retry_after_ms(&self) -> u64 {
        self.frames.wait_ms(1.0).max(1)
    }

    /// Judge a frame of `len` bytes; `user_allows` spends the user's budget (asked only
    /// when the connection's own budget allows the frame).
    pub fn check(&mut self, len: usize, user_allows: impl FnOnce() -> bool) -> Verdict {
        self.check_at(Instant::now(), len, user_allows)
    }

    fn check_at(
        &mut self,
        now: Instant,
        len: usize,
        user_allows: impl FnOnce() -> bool,
    ) -> Verdict {
        if self.frames.take(1.0, now) && self.bytes.take(len as f64, now) && user_allows() {
            return Verdict::Allow;
        }
        let quiet = self.quiet;
        let s = match &mut self.stretch {
            Some(s) if now.saturating_duration_since(s.last) <= quiet => s,
            slot => slot.insert(Stretch {
                since: now,
                last: now,
                refused: 0,
            }),
        };
        s.refused += 1;
        s.last = now;
        if now.saturating_duration_since(s.since) >= self.sustain || s.refused > self.max_refused {
            Verdict::Close
        } else {
            Verdict::Refuse {
                tell: s.refused == 1 || s.refused.is_multiple_of(20),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(rate: u32, burst: u32, sustain_secs: u64) -> FrameBudget {
        let mut rt: RealtimeSettings = crate::config::Settings::load_from(None, &[])
            .expect("defaults")
            .realtime;
        rt.rate_per_sec = rate;
        rt.rate_burst = burst;
        rt.flood_close_secs = sustain_secs;
        FrameBudget::new(&rt)
    }

    /// Send frames every `every` for `total`; the time of the first close, if any.
    fn run(b: &mut FrameBudget, every: Duration, total: Duration) -> (u32, Option<Duration>) {
        let start = Instant::now();
        let mut refused = 0;
        let mut t = Duration::ZERO;
        while t < total {
            match b.check_at(start + t, 10, || true) {
                Verdict::Allow => {}
                Verdict::Refuse { .. } => refused += 1,
                Verdict::Close => return (refused, Some(t)),
            }
            t += every;
        }
        (refused, None)
    }

    #[test]
    fn a_client_within_its_rate_is_never_refused() {
        let mut b = budget(10, 10, 5);
        // 8 frames a second for a minute.
        assert_eq!(
            run(&mut b, Duration::from_millis(125), Duration::from_secs(60)),
            (0, None)
        );
    }

    #[test]
    fn a_client_slightly_over_its_rate_is_closed_once_over_budget_for_the_sustain_period() {
        let mut b = budget(10, 10, 5);
        // 12 a second: the burst lasts ~5 s, then refusals every ~0.5 s, never a quiet
        // second: closed 5 s after the first refusal.
        let (refused, closed) = run(&mut b, Duration::from_millis(83), Duration::from_secs(60));
        let closed = closed.expect("closed");
        assert!(refused > 5, "{refused}");
        assert!(
            (Duration::from_secs(9)..Duration::from_secs(12)).contains(&closed),
            "{closed:?}"
        );
    }

    #[test]
    fn an_instant_flood_is_closed_after_five_bursts_of_refusals() {
        let mut b = budget(10, 10, 60);
        let (refused, closed) = run(&mut b, Duration::from_micros(10), Duration::from_secs(1));
        assert_eq!(refused, 50);
        assert!(closed.is_some());
    }

    #[test]
    fn a_pause_long_enough_to_refill_ends_the_stretch() {
        let mut b = budget(10, 10, 3);
        let start = Instant::now();
        // Bursts of 15 frames every 2 s: 5 refused each time, but the bucket refills in
        // between, so the stretch restarts and the client is never closed.
        for burst in 0..10u32 {
            let at = start + Duration::from_secs(2 * u64::from(burst));
            for _ in 0..15 {
                assert_ne!(b.check_at(at, 10, || true), Verdict::Close, "burst {burst}");
            }
        }
    }

    #[test]
    fn bytes_and_the_users_budget_count_too() {
        let mut rt: RealtimeSettings = crate::config::Settings::load_from(None, &[])
            .expect("defaults")
            .realtime;
        rt.rate_bytes_per_sec = 1000;
        rt.rate_bytes_burst = 2000;
        let mut b = FrameBudget::new(&rt);
        let now = Instant::now();
        assert_eq!(b.check_at(now, 1500, || true), Verdict::Allow);
        assert_eq!(
            b.check_at(now, 1500, || true),
            Verdict::Refuse { tell: true }
        );
        let mut b = FrameBudget::new(&rt);
        assert_eq!(
            b.check_at(now, 10, || false),
            Verdict::Refuse { tell: true }
        );
    }
}
