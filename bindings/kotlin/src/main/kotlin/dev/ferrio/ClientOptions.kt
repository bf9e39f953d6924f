package dev.ferrio

import kotlinx.serialization.json.JsonObject
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import dev.ferrio.ffi.ClientOptions as FfiClientOptions
import dev.ferrio.ffi.Transport as FfiTransport

/**
 * Options of a connection, with the JavaScript client's names and defaults.
 *
 * ```
 * ClientOptions(transports = listOf(Transport.WEBSOCKET), reconnectionDelay = 500.milliseconds)
 * ```
 */
public data class ClientOptions(
    /** The Engine.IO path on the server (JS `path`). */
    val path: String = "/socket.io/",
    /** Query parameters added to every request (JS `query`). */
    val query: Map<String, String> = emptyMap(),
    /** Headers added to every request and to the WebSocket handshake (JS `extraHeaders`). */
    val extraHeaders: Map<String, String> = emptyMap(),
    /** Transports to try, in order (JS `transports`); empty for polling then WebSocket. */
    val transports: List<Transport> = emptyList(),
    /** Upgrade from polling to WebSocket when offered (JS `upgrade`). */
    val upgrade: Boolean = true,
    /** Handshake and namespace connect timeout (JS `timeout`). */
    val timeout: Duration = 20.seconds,
    /** Default timeout of [Socket.emitWithAck] (JS `ackTimeout`). */
    val ackTimeout: Duration = 30.seconds,
    /** Reconnect automatically (JS `reconnection`). */
    val reconnection: Boolean = true,
    /** Attempts before giving up, `null` for unlimited (JS `reconnectionAttempts`). */
    val reconnectionAttempts: Int? = null,
    /** First reconnection delay (JS `reconnectionDelay`). */
    val reconnectionDelay: Duration = 1.seconds,
    /** Longest reconnection delay (JS `reconnectionDelayMax`). */
    val reconnectionDelayMax: Duration = 5.seconds,
    /** Jitter of the reconnection delay, 0 to 1 (JS `randomizationFactor`). */
    val randomizationFactor: Double = 0.5,
    /** An extra CA certificate (PEM) trusted beside the system roots. */
    val caCertPem: String? = null,
    /** The auth payload sent when connecting a namespace (JS `auth`). */
    val auth: JsonObject? = null,
) {
    internal fun toFfi(url: String): FfiClientOptions = FfiClientOptions(
        url = url,
        path = path,
        query = query,
        extraHeaders = extraHeaders,
        transports = transports.map { it.toFfi() },
        upgrade = upgrade,
        timeoutMs = timeout.millis(),
        ackTimeoutMs = ackTimeout.millis(),
        reconnection = reconnection,
        reconnectionAttempts = reconnectionAttempts?.also { require(it >= 0) }?.toUInt(),
        reconnectionDelayMs = reconnectionDelay.millis(),
        reconnectionDelayMaxMs = reconnectionDelayMax.millis(),
        randomizationFactor = randomizationFactor,
        caCertPem = caCertPem,
        authJson = auth?.toString(),
    )
}

internal fun Duration.millis(): ULong = inWholeMilliseconds.coerceAtLeast(0).toULong()

internal fun Transport.toFfi(): FfiTransport = when (this) {
    Transport.POLLING -> FfiTransport.POLLING
    Transport.WEBSOCKET -> FfiTransport.WEBSOCKET
}

internal fun FfiTransport.toTransport(): Transport = when (this) {
    FfiTransport.POLLING -> Transport.POLLING
    FfiTransport.WEBSOCKET -> Transport.WEBSOCKET
}
