//! Stall detection for one session: no proxy traffic and no CPU time for a while. A
//! Desktop window that never came up, or a Codex hung on a dead socket, looks like this; an
//! idle user at the prompt can too, which is why a stall is only reported, never acted on.

use std::time::{Duration, Instant};

/// Default stall time.
pub const DEFAULT_STALL: Duration = Duration::from_secs(600);

/// What an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Idle for this long: now stalled.
    Stalled(Duration),
    /// Active again after a stall.
    Active,
}

/// The watch over one session.
#[derive(Debug, Clone)]
pub struct StallWatch {
    after: Duration,
    last_cpu: Option<u64>,
    last_request: Option<Instant>,
    last_active: Instant,
    stalled: bool,
}

impl StallWatch {
    /// A watch that reports after `after` of inactivity, counted from `now`.
    pub fn new(after: Duration, now: Instant) -> StallWatch {
        StallWatch {
            after,
            last_cpu: None,
            last_request: None,
            last_active: now,
            stalled: false,
        }
    }

    /// The stall time.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// Feed the session's CPU ticks and last proxy request as seen at `now`.
    pub fn observe(
        &mut self,
        now: Instant,
        cpu_ticks: u64,
        last_request: Option<Instant>,
    ) -> Option<Change> {
        let cpu_moved = self.last_cpu.is_some_and(|c| c != cpu_ticks);
        let requested = last_request.is_some() && last_request != self.last_request;
        self.last_cpu = Some(cpu_ticks);
        self.last_request = last_request;
        if cpu_moved || requested {
            self.last_active = now;
            if self.stalled {
                self.stalled = false;
                return Some(Change::Active);
            }
            return None;
        }
        let idle = now.saturating_duration_since(self.last_active);
        if !self.stalled && idle >= self.after {
            self.stalled = true;
            return Some(Change::Stalled(idle));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_sessions_stall_and_wake_up() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = StallWatch::new(s(10), t0);
        assert_eq!(w.observe(t0 + s(1), 5, None), None);
        assert_eq!(w.observe(t0 + s(5), 6, None), None, "cpu moved at 5 s");
        assert_eq!(w.observe(t0 + s(14), 6, None), None, "idle 9 s");
        assert_eq!(w.observe(t0 + s(15), 6, None), Some(Change::Stalled(s(10))));
        assert_eq!(w.observe(t0 + s(20), 6, None), None, "reported once");
        assert_eq!(
            w.observe(t0 + s(21), 6, Some(t0 + s(21))),
            Some(Change::Active)
        );
        assert_eq!(
            w.observe(t0 + s(30), 6, Some(t0 + s(21))),
            None,
            "same request"
        );
        assert_eq!(
            w.observe(t0 + s(31), 6, Some(t0 + s(21))),
            Some(Change::Stalled(s(10)))
        );
    }
}
