//! The application's clock: the system clock by default, moved forward in tests so rules
//! that depend on elapsed time (the clinical record's auto-lock, break-the-glass expiry)
//! are tested without waiting or depending on the hour.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// Now, as the use cases see it: the system time plus an offset that only tests change.
#[derive(Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system time.
    offset_micros: AtomicI64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The current time, truncated to microseconds (it round-trips through both backends).
    pub fn now(&self) -> DateTime<Utc> {
        crate::store::now() + Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Move this clock forward (or back) by `by`, for tests.
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}
