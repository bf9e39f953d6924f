//! Connection statistics as flat records, durations in microseconds.

use std::time::Duration;

use crate::options::Transport;

/// A snapshot of a manager's connection statistics (see the core's `ConnectionStats`),
/// counted since the manager was made, over every reconnection.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConnectionStats {
    /// Engine.IO payload bytes received: WebSocket frame payloads, polling response
    /// bodies (after decompression).
    pub bytes_in: u64,
    /// Engine.IO payload bytes sent: WebSocket frame payloads, polling request bodies.
    pub bytes_out: u64,
    /// Engine.IO packets received (messages, binary attachments, pings, handshakes).
    pub packets_in: u64,
    /// Engine.IO packets sent (messages, binary attachments, pongs, upgrade, close).
    pub packets_out: u64,
    /// Reconnections that opened a connection again.
    pub reconnects: u64,
    /// Reconnection attempts started.
    pub reconnect_attempts: u64,
    /// The transport in use; `None` while no connection is open.
    pub transport: Option<Transport>,
    /// Microseconds since the server's last ping; `None` before the first.
    pub since_last_ping_us: Option<u64>,
    /// The round trips of this program's emits with ack.
    pub ack_round_trips: AckRoundTrips,
}

/// The distribution of ack round trips (emit written → reply received), in microseconds.
/// Percentiles are the tops of power-of-two buckets (at most twice the true value, never
/// above `max_us`); every value is 0 while `count` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct AckRoundTrips {
    /// Acks received.
    pub count: u64,
    /// The median.
    pub p50_us: u64,
    /// The 90th percentile.
    pub p90_us: u64,
    /// The 99th percentile.
    pub p99_us: u64,
    /// The longest.
    pub max_us: u64,
    /// The mean.
    pub mean_us: u64,
}

/// Whole microseconds, saturated.
fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl From<ferrio::ConnectionStats> for ConnectionStats {
    fn from(stats: ferrio::ConnectionStats) -> Self {
        let acks = stats.ack_round_trips;
        ConnectionStats {
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            packets_in: stats.packets_in,
            packets_out: stats.packets_out,
            reconnects: stats.reconnects,
            reconnect_attempts: stats.reconnect_attempts,
            transport: stats.transport.map(Transport::from),
            since_last_ping_us: stats.since_last_ping.map(micros),
            ack_round_trips: AckRoundTrips {
                count: acks.count,
                p50_us: micros(acks.p50),
                p90_us: micros(acks.p90),
                p99_us: micros(acks.p99),
                max_us: micros(acks.max),
                mean_us: micros(acks.mean),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_stats_are_zero_with_no_transport_and_no_ping() {
        let stats = ConnectionStats::from(ferrio::ConnectionStats::default());
        assert_eq!(stats.packets_in, 0);
        assert_eq!(stats.transport, None);
        assert_eq!(stats.since_last_ping_us, None);
        assert_eq!(stats.ack_round_trips.count, 0);
        assert_eq!(stats.ack_round_trips.max_us, 0);
    }
}
