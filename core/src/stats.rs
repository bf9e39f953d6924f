//! Connection statistics of a manager: always-on counters the connection task and its
//! Engine.IO session bump with relaxed atomic additions, read as a [`ConnectionStats`]
//! snapshot by [`Manager::stats`](crate::Manager::stats).
//!
//! Nothing on the path of a packet takes a lock or allocates: a packet or frame costs one
//! `fetch_add` per counter it touches, an acknowledged emit two clock reads and three
//! additions into a fixed-size histogram (made by the first ack: a manager whose emits
//! never ask for one does not hold its 400 bytes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::options::TransportKind;

/// Buckets of the ack round-trip histogram: bucket 0 holds round trips under 1 µs,
/// bucket `i` those from `2^(i-1)` to `2^i - 1` µs; the last one also holds anything
/// longer (`2^46` µs is over two years).
const BUCKETS: usize = 48;

/// A snapshot of a manager's connection statistics, counted since the manager was made
/// (over every connection and reconnection).
///
/// Bytes are the Engine.IO payload bytes each transport carries: over WebSocket the
/// payloads of the frames sent and received; over HTTP long-polling the bodies of the
/// GET responses (as read, after any decompression) and of the POST requests (counted as
/// each packet's text form plus one separator byte). HTTP and WebSocket headers, framing and TLS are
/// not counted.
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ferrio::Client::connect("http://localhost:3000").await?;
/// client.emit_with_ack("echo", &1).await?;
/// let stats = client.manager().stats();
/// println!("{} bytes in, ack p99 {:?}", stats.bytes_in, stats.ack_round_trips.p99);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Engine.IO payload bytes received (see above for what counts).
    pub bytes_in: u64,
    /// Engine.IO payload bytes sent.
    pub bytes_out: u64,
    /// Engine.IO packets received: messages, binary attachments, pings, the handshake.
    pub packets_in: u64,
    /// Engine.IO packets sent: messages, binary attachments, pongs, upgrade, close.
    pub packets_out: u64,
    /// Reconnections that opened a connection again.
    pub reconnects: u64,
    /// Reconnection attempts started (successful or not).
    pub reconnect_attempts: u64,
    /// The transport in use; `None` while no connection is open.
    pub transport: Option<TransportKind>,
    /// Time since the server's last ping, the heartbeat (with a Socket.IO 2.x server,
    /// where the client pings, its last pong); `None` before the first.
    pub since_last_ping: Option<Duration>,
    /// The round trips of this program's emits with acknowledgement.
    pub ack_round_trips: AckRoundTrips,
}

/// The distribution of ack round trips: from writing an emit that asks for an ack to
/// receiving the server's reply (an ack that times out or is lost is not counted).
///
/// Round trips are kept in power-of-two buckets of microseconds: a percentile is the top
/// of its bucket, so it is at most twice the true value (and never above `max`). With
/// `count == 0` every duration is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AckRoundTrips {
    /// Acks received.
    pub count: u64,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The longest, exact to the microsecond.
    pub max: Duration,
    /// The mean, exact to the microsecond.
    pub mean: Duration,
}

/// The live counters behind [`ConnectionStats`], shared by the manager's handle, its
/// connection task and the sessions the task opens.
#[derive(Debug)]
pub(crate) struct Stats {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    packets_in: AtomicU64,
    packets_out: AtomicU64,
    reconnects: AtomicU64,
    reconnect_attempts: AtomicU64,
    /// Nanoseconds from `epoch` to the last ping, plus one; 0 before the first ping.
    last_ping: AtomicU64,
    epoch: Instant,
    /// The ack round trips, from the first.
    acks: OnceLock<Box<Histogram>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            packets_in: AtomicU64::new(0),
            packets_out: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            reconnect_attempts: AtomicU64::new(0),
            last_ping: AtomicU64::new(0),
            epoch: Instant::now(),
            acks: OnceLock::new(),
        }
    }
}

impl Stats {
    /// Fresh counters, shared.
    pub(crate) fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// One packet of `bytes` payload bytes received (0 when its bytes are counted with
    /// its polling body, see [`Stats::received_bytes`]).
    pub(crate) fn received(&self, bytes: usize) {
        self.packets_in.fetch_add(1, Ordering::Relaxed);
        if bytes > 0 {
            self.received_bytes(bytes);
        }
    }

    /// `bytes` received in one polling body.
    pub(crate) fn received_bytes(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// One packet of `bytes` payload bytes sent.
    pub(crate) fn sent(&self, bytes: usize) {
        self.packets_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The server pinged now (in Engine.IO v3: answered the client's ping).
    pub(crate) fn pinged(&self) {
        let since = self.epoch.elapsed().as_nanos();
        let stored = u64::try_from(since).unwrap_or(u64::MAX - 1) + 1;
        self.last_ping.store(stored, Ordering::Relaxed);
    }

    /// A reconnection attempt starts.
    pub(crate) fn reconnect_attempt(&self) {
        self.reconnect_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// A reconnection attempt opened a connection.
    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// An ack came back `round_trip` after its emit was written.
    pub(crate) fn ack_round_trip(&self, round_trip: Duration) {
        self.acks.get_or_init(Box::default).record(round_trip);
    }

    /// The counters now, with `transport` the one in use.
    pub(crate) fn snapshot(&self, transport: Option<TransportKind>) -> ConnectionStats {
        let since_last_ping = match self.last_ping.load(Ordering::Relaxed) {
            0 => None,
            stored => {
                let at = self.epoch + Duration::from_nanos(stored - 1);
                Some(Instant::now().saturating_duration_since(at))
            }
        };
        ConnectionStats {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            packets_in: self.packets_in.load(Ordering::Relaxed),
            packets_out: self.packets_out.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            reconnect_attempts: self.reconnect_attempts.load(Ordering::Relaxed),
            transport,
            since_last_ping,
            ack_round_trips: self
                .acks
                .get()
                .map_or_else(AckRoundTrips::default, |acks| acks.snapshot()),
        }
    }
}

/// A fixed-size histogram of durations in power-of-two buckets of microseconds.
#[derive(Debug)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    /// Sum of the recorded microseconds, for the mean.
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    fn record(&self, value: Duration) {
        let us = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    fn snapshot(&self) -> AckRoundTrips {
        let counts: [u64; BUCKETS] =
            std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return AckRoundTrips::default();
        }
        let max = self.max_us.load(Ordering::Relaxed);
        let at = |per_mille| Duration::from_micros(percentile(&counts, count, per_mille).min(max));
        AckRoundTrips {
            count,
            p50: at(500),
            p90: at(900),
            p99: at(990),
            max: Duration::from_micros(max),
            mean: Duration::from_micros(self.sum_us.load(Ordering::Relaxed) / count),
        }
    }
}

/// The bucket of `us` microseconds.
fn bucket_of(us: u64) -> usize {
    let bits = (u64::BITS - us.leading_zeros()) as usize;
    bits.min(BUCKETS - 1)
}

/// The largest value bucket `index` holds (the last one's is unbounded).
fn bucket_top(index: usize) -> u64 {
    if index + 1 >= BUCKETS {
        u64::MAX
    } else {
        (1u64 << index) - 1
    }
}

/// The top of the bucket holding the value of rank `ceil(count * per_mille / 1000)`
/// (at least 1) among `count` values counted in `counts`.
fn percentile(counts: &[u64; BUCKETS], count: u64, per_mille: u64) -> u64 {
    let rank = (u128::from(count) * u128::from(per_mille))
        .div_ceil(1000)
        .max(1);
    let mut seen = 0u128;
    for (index, &n) in counts.iter().enumerate() {
        seen += u128::from(n);
        if seen >= rank {
            return bucket_top(index);
        }
    }
    bucket_top(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn buckets_are_powers_of_two_of_microseconds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(2), 2);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(4), 3);
        assert_eq!(bucket_of(1023), 10);
        assert_eq!(bucket_of(1024), 11);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for index in 1..BUCKETS - 1 {
            assert_eq!(bucket_of(bucket_top(index)), index);
            assert_eq!(bucket_of(bucket_top(index) + 1), index + 1);
        }
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        let histogram = Histogram::default();
        assert_eq!(histogram.snapshot(), AckRoundTrips::default());
    }

    #[test]
    fn one_value_is_every_percentile_and_the_max() {
        let histogram = Histogram::default();
        histogram.record(us(700));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 1);
        // 700 is in the bucket 512..=1023, capped by the exact max.
        assert_eq!(snapshot.p50, us(700));
        assert_eq!(snapshot.p99, us(700));
        assert_eq!(snapshot.max, us(700));
        assert_eq!(snapshot.mean, us(700));
    }

    #[test]
    fn percentiles_are_bucket_tops_within_a_factor_of_two() {
        let histogram = Histogram::default();
        // 90 round trips of 100 µs, 9 of 10 ms, 1 of 1 s.
        for _ in 0..90 {
            histogram.record(us(100));
        }
        for _ in 0..9 {
            histogram.record(us(10_000));
        }
        histogram.record(us(1_000_000));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 100);
        assert_eq!(snapshot.p50, us(127), "top of 64..=127");
        assert_eq!(snapshot.p90, us(127), "rank 90 is still a 100 µs one");
        assert_eq!(snapshot.p99, us(16_383), "top of 8192..=16383");
        assert_eq!(snapshot.max, us(1_000_000));
        assert_eq!(snapshot.mean, us((90 * 100 + 9 * 10_000 + 1_000_000) / 100));
        for (value, reported) in [(100, snapshot.p50), (10_000, snapshot.p99)] {
            assert!(reported >= us(value) && reported < us(2 * value));
        }
    }

    #[test]
    fn percentiles_are_ordered_whatever_the_values() {
        let histogram = Histogram::default();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..10_000 {
            // xorshift: a spread of values over many buckets.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            histogram.record(us(state % 5_000_000));
        }
        let s = histogram.snapshot();
        assert_eq!(s.count, 10_000);
        assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max, "{s:?}");
        assert!(s.mean <= s.max);
    }

    #[test]
    fn huge_durations_land_in_the_last_bucket() {
        let histogram = Histogram::default();
        histogram.record(Duration::MAX);
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 1);
        assert_eq!(snapshot.p99, Duration::from_micros(u64::MAX));
        assert_eq!(snapshot.max, Duration::from_micros(u64::MAX));
    }

    #[test]
    fn counters_add_up_and_the_ping_age_is_reported() {
        let stats = Stats::default();
        assert_eq!(stats.snapshot(None), ConnectionStats::default());
        stats.received(5);
        stats.received(0);
        stats.received_bytes(10);
        stats.sent(3);
        stats.reconnect_attempt();
        stats.reconnect_attempt();
        stats.reconnected();
        stats.pinged();
        stats.ack_round_trip(us(42));
        let snapshot = stats.snapshot(Some(TransportKind::WebSocket));
        assert_eq!(snapshot.packets_in, 2);
        assert_eq!(snapshot.bytes_in, 15);
        assert_eq!(snapshot.packets_out, 1);
        assert_eq!(snapshot.bytes_out, 3);
        assert_eq!(snapshot.reconnect_attempts, 2);
        assert_eq!(snapshot.reconnects, 1);
        assert_eq!(snapshot.transport, Some(TransportKind::WebSocket));
        assert!(snapshot.since_last_ping.is_some());
        assert_eq!(snapshot.ack_round_trips.count, 1);
        assert_eq!(snapshot.ack_round_trips.max, us(42));
    }
}
