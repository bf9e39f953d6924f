package dev.ferrio

import kotlin.time.Duration
import kotlin.time.Duration.Companion.microseconds
import dev.ferrio.ffi.ConnectionStats as FfiConnectionStats

/** What waits in a [Socket]'s offline buffer ([Socket.buffered]). */
public data class BufferedEmits(
    /** Emits made while the namespace was not connected, to be sent once it is. */
    val emits: Long,
    /** Their size on the wire, in bytes. */
    val bytes: Long,
)

/**
 * A snapshot of a [Manager]'s connection statistics ([Manager.stats]), counted since the
 * manager was made, over every reconnection. Always counted, cheap to read.
 *
 * Bytes are Engine.IO payload bytes: WebSocket frame payloads and HTTP long-polling bodies
 * (responses after decompression); headers, framing and TLS are not counted.
 */
public data class ConnectionStats(
    /** Engine.IO payload bytes received. */
    val bytesIn: Long,
    /** Engine.IO payload bytes sent. */
    val bytesOut: Long,
    /** Engine.IO packets received (messages, binary attachments, pings, handshakes). */
    val packetsIn: Long,
    /** Engine.IO packets sent (messages, binary attachments, pongs, upgrade, close). */
    val packetsOut: Long,
    /** Reconnections that opened a connection again. */
    val reconnects: Long,
    /** Reconnection attempts started. */
    val reconnectAttempts: Long,
    /** The transport in use; `null` while no connection is open. */
    val transport: Transport?,
    /** Time since the server's last ping; `null` before the first. */
    val sinceLastPing: Duration?,
    /** The round trips of this program's emits with ack. */
    val ackRoundTrips: AckRoundTrips,
)

/**
 * The distribution of ack round trips ([Socket.emitWithAck]: emit written → reply received).
 * Percentiles are the tops of power-of-two buckets of microseconds (at most twice the true
 * value, never above [max]); every duration is zero while [count] is 0.
 */
public data class AckRoundTrips(
    /** Acks received. */
    val count: Long,
    /** The median. */
    val p50: Duration,
    /** The 90th percentile. */
    val p90: Duration,
    /** The 99th percentile. */
    val p99: Duration,
    /** The longest. */
    val max: Duration,
    /** The mean. */
    val mean: Duration,
)

internal fun FfiConnectionStats.toStats(): ConnectionStats = ConnectionStats(
    bytesIn = bytesIn.toLong(),
    bytesOut = bytesOut.toLong(),
    packetsIn = packetsIn.toLong(),
    packetsOut = packetsOut.toLong(),
    reconnects = reconnects.toLong(),
    reconnectAttempts = reconnectAttempts.toLong(),
    transport = transport?.toTransport(),
    sinceLastPing = sinceLastPingUs?.toLong()?.microseconds,
    ackRoundTrips = AckRoundTrips(
        count = ackRoundTrips.count.toLong(),
        p50 = ackRoundTrips.p50Us.toLong().microseconds,
        p90 = ackRoundTrips.p90Us.toLong().microseconds,
        p99 = ackRoundTrips.p99Us.toLong().microseconds,
        max = ackRoundTrips.maxUs.toLong().microseconds,
        mean = ackRoundTrips.meanUs.toLong().microseconds,
    ),
)
