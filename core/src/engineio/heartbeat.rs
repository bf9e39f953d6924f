//! The heartbeat, in its two rules. Engine.IO v4 ([`Heartbeat`]): the server pings, and
//! the deadline is `pingInterval + pingTimeout` after the last ping. Engine.IO v3
//! ([`ClientPings`]): the client pings every `pingInterval` and the server's pong is due
//! within `pingTimeout`. Both keep their deadline on two clocks.
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

/// Engine.IO v3's heartbeat: the client sends a ping `pingInterval` after the session
/// opened and after each pong; the pong is due within `pingTimeout` of the ping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientPings {
    interval: Duration,
    timeout: Duration,
    /// When to send the next ping; `None` while a ping waits for its pong.
    next_ping: Option<Instant>,
    /// When the connection counts as dead without a pong.
    deadline: Instant,
    wall_deadline: SystemTime,
    /// A reading of both clocks, to place a deadline set from the monotonic clock alone
    /// on the wall clock.
    anchor: (Instant, SystemTime),
}

impl ClientPings {
    /// The first ping due `interval` after `now`; a pong due `timeout` after each ping.
    pub(crate) fn new(
        interval: Duration,
        timeout: Duration,
        now: Instant,
        wall_now: SystemTime,
    ) -> Self {
        let window = interval + timeout;
        Self {
            interval,
            timeout,
            next_ping: Some(now + interval),
            deadline: now + window,
            wall_deadline: wall_now + window,
            anchor: (now, wall_now),
        }
    }

    /// Whether a ping is to be sent at `now`.
    pub(crate) fn ping_due(&self, now: Instant) -> bool {
        self.next_ping.is_some_and(|at| now >= at)
    }

    /// A ping was sent at `now`: its pong is due `timeout` later.
    pub(crate) fn ping_sent(&mut self, now: Instant) {
        self.next_ping = None;
        self.deadline = now + self.timeout;
        let (instant, wall) = self.anchor;
        self.wall_deadline = wall + now.saturating_duration_since(instant) + self.timeout;
    }

    /// The pong arrived at `now`: the next ping goes `interval` later.
    pub(crate) fn on_pong(&mut self, now: Instant, wall_now: SystemTime) {
        *self = Self::new(self.interval, self.timeout, now, wall_now);
    }

    /// When the connection counts as dead without a pong.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next time something is due: the next ping, or the deadline.
    pub(crate) fn next_deadline(&self) -> Instant {
        self.next_ping
            .map_or(self.deadline, |at| at.min(self.deadline))
    }

    /// Whether the deadline passed on the wall clock (after a suspension).
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

    const INTERVAL: Duration = Duration::from_millis(300);
    const TIMEOUT: Duration = Duration::from_millis(200);

    #[test]
    fn the_client_pings_every_interval_and_waits_timeout_for_the_pong() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut pings = ClientPings::new(INTERVAL, TIMEOUT, now, wall);
        assert!(!pings.ping_due(now + INTERVAL - Duration::from_millis(1)));
        assert_eq!(pings.next_deadline(), now + INTERVAL, "the first ping");
        assert!(pings.ping_due(now + INTERVAL));
        pings.ping_sent(now + INTERVAL);
        assert!(!pings.ping_due(now + INTERVAL * 5), "one ping at a time");
        assert_eq!(pings.deadline(), now + INTERVAL + TIMEOUT, "the pong's");
        assert_eq!(pings.next_deadline(), pings.deadline());
        assert!(!pings.is_expired(wall + INTERVAL + TIMEOUT));
        assert!(pings.is_expired(wall + INTERVAL + TIMEOUT + Duration::from_millis(1)));
        let pong = now + INTERVAL + Duration::from_millis(50);
        pings.on_pong(pong, wall + INTERVAL + Duration::from_millis(50));
        assert_eq!(pings.next_deadline(), pong + INTERVAL, "the next ping");
        assert_eq!(pings.deadline(), pong + INTERVAL + TIMEOUT);
        assert!(pings.ping_due(pong + INTERVAL));
    }

    #[test]
    fn a_ping_sent_late_gets_its_whole_timeout() {
        let now = Instant::now();
        let mut pings = ClientPings::new(INTERVAL, TIMEOUT, now, SystemTime::now());
        // The timer fired late (a busy machine): the pong still gets `timeout` from the ping.
        let late = now + INTERVAL + TIMEOUT;
        pings.ping_sent(late);
        assert_eq!(pings.deadline(), late + TIMEOUT);
    }
}
