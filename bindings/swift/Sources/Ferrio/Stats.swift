import Foundation
internal import FerrioUniFFI

/// What waits in a socket's offline buffer (``Socket/buffered``).
public struct BufferedEmits: Sendable, Hashable {
    /// Emits made while the namespace was not connected, to be sent once it is.
    public var emits: UInt64
    /// Their size on the wire, in bytes.
    public var bytes: UInt64
}

/// A snapshot of a manager's connection statistics (``Manager/stats()``), counted since the
/// manager was made, over every reconnection. Always counted, cheap to read.
///
/// Bytes are Engine.IO payload bytes: WebSocket frame payloads and HTTP long-polling bodies
/// (responses after decompression); headers, framing and TLS are not counted.
public struct ConnectionStats: Sendable, Hashable {
    /// Engine.IO payload bytes received.
    public var bytesIn: UInt64
    /// Engine.IO payload bytes sent.
    public var bytesOut: UInt64
    /// Engine.IO packets received (messages, binary attachments, pings, handshakes).
    public var packetsIn: UInt64
    /// Engine.IO packets sent (messages, binary attachments, pongs, upgrade, close).
    public var packetsOut: UInt64
    /// Reconnections that opened a connection again.
    public var reconnects: UInt64
    /// Reconnection attempts started.
    public var reconnectAttempts: UInt64
    /// The transport in use; `nil` while no connection is open.
    public var transport: Transport?
    /// Time since the server's last ping; `nil` before the first.
    public var sinceLastPing: Duration?
    /// The round trips of this program's emits with acknowledgement.
    public var ackRoundTrips: AckRoundTrips

    init(_ native: FerrioUniFFI.ConnectionStats) {
        bytesIn = native.bytesIn
        bytesOut = native.bytesOut
        packetsIn = native.packetsIn
        packetsOut = native.packetsOut
        reconnects = native.reconnects
        reconnectAttempts = native.reconnectAttempts
        transport = native.transport.map(Transport.init)
        sinceLastPing = native.sinceLastPingUs.map(microseconds)
        ackRoundTrips = AckRoundTrips(native.ackRoundTrips)
    }
}

/// The distribution of acknowledgement round trips (``Socket/emitWithAck(_:_:timeout:)``:
/// emit written → reply received). Percentiles are the tops of power-of-two buckets of
/// microseconds (at most twice the true value, never above ``max``); every duration is
/// zero while ``count`` is 0.
public struct AckRoundTrips: Sendable, Hashable {
    /// Acknowledgements received.
    public var count: UInt64
    /// The median.
    public var p50: Duration
    /// The 90th percentile.
    public var p90: Duration
    /// The 99th percentile.
    public var p99: Duration
    /// The longest.
    public var max: Duration
    /// The mean.
    public var mean: Duration

    init(_ native: FerrioUniFFI.AckRoundTrips) {
        count = native.count
        p50 = microseconds(native.p50Us)
        p90 = microseconds(native.p90Us)
        p99 = microseconds(native.p99Us)
        max = microseconds(native.maxUs)
        mean = microseconds(native.meanUs)
    }
}

/// `micros` microseconds (saturated at `Int64.max`).
private func microseconds(_ micros: UInt64) -> Duration {
    .microseconds(Int64(clamping: micros))
}

extension FerrioUniFFI.ConnectionStats {
    /// Nothing counted, no transport (a manager whose native side cannot answer).
    static let empty = FerrioUniFFI.ConnectionStats(
        bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, reconnects: 0, reconnectAttempts: 0,
        transport: nil, sinceLastPingUs: nil,
        ackRoundTrips: FerrioUniFFI.AckRoundTrips(count: 0, p50Us: 0, p90Us: 0, p99Us: 0, maxUs: 0, meanUs: 0))
}
