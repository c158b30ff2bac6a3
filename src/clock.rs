//! The time as the application sees it: the system clock in production, a settable clock in
//! tests, so a test can move time forward (a reminder falls due, a reset link expires, a
//! retry's backoff runs out) without waiting or depending on the hour it runs at.
//!
//! The use cases read `AppState::clock` and the entity actors (agenda, waiting room, chat,
//! teleconsultation) read the same clock through `EntityDeps::clock`, so the clinic's day,
//! holds, offers and edit windows follow a test's clock. Some older code still calls
//! `store::now()` (the system clock) and moves to the clock as it is touched.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The shared clock handle kept in the application state.
pub type SharedClock = Arc<dyn Clock>;

/// Whole microseconds: what both databases store, so a value read back compares equal.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        micros(Utc::now())
    }
}

/// The system's clock moved by an offset that tests set: time keeps flowing, and
/// [`TestClock::advance`] jumps it forward.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<Duration>,
}

impl TestClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Move the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *o += by;
    }

    /// Make the clock read `at` now (and flow on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *o = at - Utc::now();
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let o = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        micros(Utc::now() + o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_jumps_forward_and_keeps_flowing() {
        let c = TestClock::new();
        let before = c.now();
        c.advance(Duration::hours(3));
        let after = c.now();
        assert!(after - before >= Duration::hours(3));
        assert!(after - before < Duration::hours(3) + Duration::seconds(5));
        let at = Utc::now() + Duration::days(10);
        c.set(at);
        assert!((c.now() - at).num_seconds().abs() < 5);
    }
}
