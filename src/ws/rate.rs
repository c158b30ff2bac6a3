//! The per-connection budget of incoming frames.

use std::time::Instant;

/// A simple token bucket for incoming frames.
pub struct Bucket {
    pub tokens: f64,
    pub rate: f64,
    pub burst: f64,
    pub at: Instant,
}

impl Bucket {
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
