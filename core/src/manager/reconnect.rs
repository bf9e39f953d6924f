//! The reconnection policy: exponential backoff (`backon`) with the JS client's jitter and
//! attempt limit. Plain data, no I/O.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::options::ManagerOptions;

/// Delays between reconnection attempts.
#[derive(Debug)]
pub(crate) struct ReconnectPolicy {
    enabled: bool,
    max_attempts: Option<u32>,
    min: Duration,
    max: Duration,
    randomization_factor: f64,
    delays: ExponentialBackoff,
    /// Attempts made since the last successful connection.
    pub(crate) attempts: u32,
}

impl ReconnectPolicy {
    /// The policy of `options`.
    pub(crate) fn new(options: &ManagerOptions) -> Self {
        let min = options.reconnection_delay;
        let max = options.reconnection_delay_max.max(min);
        Self {
            enabled: options.reconnection,
            max_attempts: options.reconnection_attempts,
            min,
            max,
            randomization_factor: options.randomization_factor.clamp(0.0, 1.0),
            delays: builder(min, max).build(),
            attempts: 0,
        }
    }

    /// Whether reconnection is on.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The delay before the next attempt and its number (from 1), or `None` when the
    /// attempts are used up.
    pub(crate) fn next_attempt(&mut self) -> Option<(u32, Duration)> {
        if self.is_exhausted() {
            return None;
        }
        self.attempts += 1;
        let base = self.delays.next().unwrap_or(self.max);
        Some((self.attempts, self.jitter(base)))
    }

    /// Whether every allowed attempt was made: the next failure gives up.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.max_attempts.is_some_and(|max| self.attempts >= max)
    }

    /// Starts over after a successful connection.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
        self.delays = builder(self.min, self.max).build();
    }

    /// `base ± randomization_factor × base`, at most the maximum delay (JS `backo2`).
    fn jitter(&self, base: Duration) -> Duration {
        let deviation = base.mul_f64(self.randomization_factor * fastrand::f64());
        let delay = if fastrand::bool() {
            base.saturating_sub(deviation)
        } else {
            base + deviation
        };
        delay.min(self.max)
    }
}

fn builder(min: Duration, max: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_factor(2.0)
        .without_max_times()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(attempts: Option<u32>, factor: f64) -> ManagerOptions {
        ManagerOptions {
            reconnection_attempts: attempts,
            randomization_factor: factor,
            ..ManagerOptions::default()
        }
    }

    #[test]
    fn delays_double_from_the_minimum_up_to_the_maximum_without_jitter() {
        let mut policy = ReconnectPolicy::new(&options(None, 0.0));
        let delays: Vec<u64> = (0..5)
            .map(|_| policy.next_attempt().unwrap().1.as_millis() as u64)
            .collect();
        assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn jitter_stays_within_the_randomization_factor() {
        let mut policy = ReconnectPolicy::new(&options(None, 0.5));
        for _ in 0..100 {
            policy.reset();
            let (_, delay) = policy.next_attempt().unwrap();
            assert!((500..=1500).contains(&delay.as_millis()), "{delay:?}");
        }
    }

    #[test]
    fn attempts_stop_at_the_configured_limit() {
        let mut policy = ReconnectPolicy::new(&options(Some(2), 0.5));
        assert_eq!(policy.next_attempt().map(|a| a.0), Some(1));
        assert!(!policy.is_exhausted());
        assert_eq!(policy.next_attempt().map(|a| a.0), Some(2));
        assert!(policy.is_exhausted());
        assert!(policy.next_attempt().is_none());
        policy.reset();
        assert_eq!(policy.next_attempt().map(|a| a.0), Some(1));
    }
}
