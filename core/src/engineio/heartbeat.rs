//! The heartbeat deadline: `pingInterval + pingTimeout` after the last ping, on two clocks.
//!
//! The monotonic clock drives the timer; the wall clock catches a process that was
//! suspended (the monotonic clock stops during suspend on Linux and Android, so a timer
//! alone would trust a connection that died while the device slept). Pure: the caller
//! passes the time.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// When the next ping from the server is due at the latest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heartbeat {
    window: Duration,
    deadline: Instant,
    wall_deadline: SystemTime,
}

impl Heartbeat {
    /// A deadline `window` after `now`.
    pub(crate) fn new(window: Duration, now: Instant, wall_now: SystemTime) -> Self {
        Self {
            window,
            deadline: now + window,
            wall_deadline: wall_now + window,
        }
    }

    /// A ping arrived: the next one is due `window` from now.
    pub(crate) fn on_ping(&mut self, now: Instant, wall_now: SystemTime) {
        *self = Self::new(self.window, now, wall_now);
    }

    /// The monotonic deadline, for the timer.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline passed on the wall clock (true after a long suspension, even
    /// when the monotonic timer has not fired).
    pub(crate) fn is_expired(&self, wall_now: SystemTime) -> bool {
        wall_now > self.wall_deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(500);

    #[test]
    fn a_fresh_deadline_is_not_expired() {
        let wall = SystemTime::now();
        let heartbeat = Heartbeat::new(WINDOW, Instant::now(), wall);
        assert!(!heartbeat.is_expired(wall + Duration::from_millis(499)));
    }

    #[test]
    fn a_suspension_longer_than_the_window_expires_the_connection() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let heartbeat = Heartbeat::new(WINDOW, now, wall);
        // Suspended for an hour: the monotonic deadline has not passed, the wall one has.
        assert!(heartbeat.deadline() > now);
        assert!(heartbeat.is_expired(wall + Duration::from_secs(3600)));
    }

    #[test]
    fn a_ping_moves_both_deadlines() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut heartbeat = Heartbeat::new(WINDOW, now, wall);
        heartbeat.on_ping(
            now + Duration::from_millis(400),
            wall + Duration::from_millis(400),
        );
        assert_eq!(heartbeat.deadline(), now + Duration::from_millis(900));
        assert!(!heartbeat.is_expired(wall + Duration::from_millis(800)));
        assert!(heartbeat.is_expired(wall + Duration::from_millis(901)));
    }
}
