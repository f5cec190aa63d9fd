//! Time, injected: the owner reads both clocks through [`Clock`], so stall rules and file
//! names are tested with a fake one.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of time.
pub trait Clock: Send + Sync {
    /// Monotonic time (stall watches).
    fn now(&self) -> Instant;
    /// Wall time (session start, file names).
    fn wall(&self) -> SystemTime;

    /// Milliseconds since the epoch (log and backup names).
    fn wall_ms(&self) -> u128 {
        self.wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    }
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}
