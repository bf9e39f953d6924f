package dev.ferrio

import kotlinx.serialization.json.JsonObject
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.ferrio.ffi.BufferPolicy as FfiBufferPolicy
import dev.ferrio.ffi.ClientOptions as FfiClientOptions
import dev.ferrio.ffi.ServerVersion as FfiServerVersion
import dev.ferrio.ffi.Transport as FfiTransport
import dev.ferrio.ffi.defaultClientOptions

/**
 * Options of a connection, with the JavaScript client's names and defaults. The defaults are
 * the Rust core's, read through the native library: the same in every language.
 *
 * ```
 * ClientOptions(transports = listOf(Transport.WEBSOCKET), reconnectionDelay = 500.milliseconds)
 * ```
 *
 * The size limits (`max…`, `…Capacity`) are checked by the core when a [Manager] is made: `0`
 * where it would refuse everything throws [ConnectException] ("invalid option: …" naming it);
 * a negative one throws [IllegalArgumentException].
 */
public data class ClientOptions(
    /** The Engine.IO path on the server (JS `path`). */
    val path: String = CoreDefaults.options.path,
    /** Query parameters added to every request (JS `query`). */
    val query: Map<String, String> = emptyMap(),
    /** Headers added to every request and to the WebSocket handshake (JS `extraHeaders`). */
    val extraHeaders: Map<String, String> = emptyMap(),
    /** Transports to try, in order (JS `transports`); empty for the default ones. */
    val transports: List<Transport> = CoreDefaults.options.transports.map { it.toTransport() },
    /** Upgrade from polling to WebSocket when offered (JS `upgrade`). */
    val upgrade: Boolean = CoreDefaults.options.upgrade,
    /**
     * The Socket.IO version of the server: [ServerVersion.DETECT] (the default) finds it out on
     * the first connection, so a Socket.IO 2.x server needs no setting.
     */
    val serverVersion: ServerVersion = CoreDefaults.options.serverVersion.toServerVersion(),
    /** Handshake and namespace connect timeout (JS `timeout`). */
    val timeout: Duration = CoreDefaults.options.timeoutMs.asMillis(),
    /** Default timeout of [Socket.emitWithAck] (JS `ackTimeout`). */
    val ackTimeout: Duration = CoreDefaults.options.ackTimeoutMs.asMillis(),
    /** Reconnect automatically (JS `reconnection`). */
    val reconnection: Boolean = CoreDefaults.options.reconnection,
    /** Attempts before giving up, `null` for unlimited (JS `reconnectionAttempts`). */
    val reconnectionAttempts: Int? = CoreDefaults.options.reconnectionAttempts?.toInt(),
    /** First reconnection delay (JS `reconnectionDelay`). */
    val reconnectionDelay: Duration = CoreDefaults.options.reconnectionDelayMs.asMillis(),
    /** Longest reconnection delay (JS `reconnectionDelayMax`). */
    val reconnectionDelayMax: Duration = CoreDefaults.options.reconnectionDelayMaxMs.asMillis(),
    /** Jitter of the reconnection delay, 0 to 1 (JS `randomizationFactor`). */
    val randomizationFactor: Double = CoreDefaults.options.randomizationFactor,
    /** An extra CA certificate (PEM) trusted beside the system roots. */
    val caCertPem: String? = null,
    /**
     * Certificate pinning, as OkHttp's `CertificatePinner`: public-key pins `sha256/<base64>`
     * (the SHA-256 of a certificate's SubjectPublicKeyInfo, the form OkHttp prints). Normal
     * verification must pass and one certificate of the verified chain (the server's, an
     * intermediate, or the trusted root) must hold one of these keys, else connecting throws
     * [CertificatePinException]. Pin a backup key too, so a certificate can be renewed.
     */
    val certificatePins: List<String> = emptyList(),
    /** A client certificate chain (PEM) for servers that require mutual TLS; with [clientKeyPem]. */
    val clientCertPem: String? = null,
    /** The private key (PEM: PKCS#8, RSA or EC) of [clientCertPem]. */
    val clientKeyPem: String? = null,
    /**
     * Development only: accept any server certificate (self-signed, expired, another host's).
     * The connection is then encrypted but not authenticated; the native library logs a
     * warning on every connection. Prefer [caCertPem] with a development CA.
     */
    val insecureTrustAllCertificates: Boolean = false,
    /** The auth payload sent when connecting a namespace (JS `auth`). */
    val auth: JsonObject? = null,
    /**
     * Ask the server to compress polling responses (gzip, deflate) and WebSocket messages
     * (permessage-deflate, when the server accepts it); the size limit counts the inflated
     * bytes.
     */
    val compression: Boolean = CoreDefaults.options.compression,
    /**
     * Servers tried, in order, when the URL cannot be reached: on the first connection and on
     * every reconnection attempt, each with [timeout].
     */
    val fallbackUrls: List<String> = emptyList(),
    /**
     * The proxy of both transports (polling and WebSocket, the upgrade included), as a URL:
     * `http://user:pass@proxy.corp:3128` (CONNECT, or plain proxying of polling to `http://`
     * servers), `socks5h://host:1080` (SOCKS5, the proxy resolves the server's name) or
     * `socks5://host:1080`. `null`: see [proxyFromEnvironment]. A proxy that cannot be used
     * makes connecting throw [ConnectException] naming it.
     */
    val proxy: String? = null,
    /**
     * Without [proxy]: read the environment variables `HTTPS_PROXY`, `HTTP_PROXY`,
     * `ALL_PROXY` and `NO_PROXY` (lower case first) as curl does, or connect directly
     * (`false`). The JVM's `http.proxyHost` properties and Android's system proxy are not
     * read: pass them as [proxy].
     */
    val proxyFromEnvironment: Boolean = CoreDefaults.options.proxyFromEnvironment,
    /**
     * Called before every reconnection attempt with its number (from 1); returns fresh
     * settings, such as a refreshed token in [ReconnectUpdate.auth]. It runs on a thread of the
     * native library's own, which it may block; an exception is logged and the attempt goes on
     * with the current settings. It has [reconnectHookTimeout] to answer.
     */
    val beforeReconnect: (suspend (attempt: Int) -> ReconnectUpdate)? = null,
    /** Emits the offline buffer holds at most while a namespace is not connected. */
    val maxBufferedEmits: Long = CoreDefaults.options.maxBufferedEmits.toLong(),
    /** Bytes (on the wire) the offline buffer holds at most. */
    val maxBufferedBytes: Long = CoreDefaults.options.maxBufferedBytes.toLong(),
    /** What a full offline buffer does with a new emit. */
    val bufferPolicy: BufferPolicy = CoreDefaults.options.bufferPolicy.toBufferPolicy(),
    /**
     * Tries per emit beyond the first, for at-least-once delivery (JS `retries`), in every
     * socket of the manager. With retries, a socket's emits go one at a time through an ordered
     * queue, each waiting for the server's acknowledgement ([ackTimeout] per try) and sent again
     * when none comes (after a reconnection too): the server must acknowledge every event, and
     * may see one twice. `0` (the default): at most once.
     */
    val retries: Int = CoreDefaults.options.retries.toInt(),
    /** The event [Socket.joinRoom] emits with the room's name (the server's handler joins it). */
    val roomJoinEvent: String = CoreDefaults.options.roomJoinEvent,
    /** The event [Socket.leaveRoom] emits with the room's name. */
    val roomLeaveEvent: String = CoreDefaults.options.roomLeaveEvent,
    /**
     * When the first transport cannot be opened, try the next one (JS `tryAllTransports`): a
     * blocked WebSocket falls back to polling.
     */
    val tryAllTransports: Boolean = CoreDefaults.options.tryAllTransports,
    /** Reconnect a namespace after the server disconnected it (`io server disconnect`). */
    val reconnectOnServerDisconnect: Boolean = CoreDefaults.options.reconnectOnServerDisconnect,
    /** Time [beforeReconnect] has to answer before each reconnection attempt. */
    val reconnectHookTimeout: Duration = CoreDefaults.options.reconnectHookTimeoutMs.asMillis(),
    /**
     * Largest HTTP body or WebSocket message accepted from the server, counted decompressed: a
     * larger one ends the connection (`message too large`), then reconnection follows.
     */
    val maxIncomingBytes: Long = CoreDefaults.options.maxIncomingBytes.toLong(),
    /**
     * Most packets in one polling response: a response over it is refused whole and ends the
     * connection (`message too large`).
     */
    val maxPayloadPackets: Long = CoreDefaults.options.maxPayloadPackets.toLong(),
    /**
     * Most bytes the WebSocket holds for a server that does not read them: past it the connection
     * ends (`write stalled`).
     */
    val maxWriteBufferBytes: Long = CoreDefaults.options.maxWriteBufferBytes.toLong(),
    /** Most cookies kept from one host (the cookie jar of sticky sessions). */
    val maxCookiesPerHost: Long = CoreDefaults.options.maxCookiesPerHost.toLong(),
    /** Most bytes of the cookies kept from one host. */
    val maxCookieBytesPerHost: Long = CoreDefaults.options.maxCookieBytesPerHost.toLong(),
    /** Most attachments one incoming binary packet may announce. */
    val maxIncomingAttachments: Long = CoreDefaults.options.maxIncomingAttachments.toLong(),
    /** Largest single incoming attachment, in bytes. */
    val maxIncomingAttachmentBytes: Long = CoreDefaults.options.maxIncomingAttachmentBytes.toLong(),
    /** Longest incoming packet text, in bytes. */
    val maxIncomingPacketBytes: Long = CoreDefaults.options.maxIncomingPacketBytes.toLong(),
    /** Most bytes of all the attachments of one incoming packet together. */
    val maxIncomingBinaryBytes: Long = CoreDefaults.options.maxIncomingBinaryBytes.toLong(),
    /** Most JSON values (each number, string, array, object...) in one incoming packet. */
    val maxIncomingJsonValues: Long = CoreDefaults.options.maxIncomingJsonValues.toLong(),
    /** Most binary attachments in one outgoing packet (the server's `maxAttachments`). */
    val maxOutgoingAttachments: Long = CoreDefaults.options.maxOutgoingAttachments.toLong(),
    /** Capacity of the native queue of emits to the connection. */
    val commandCapacity: Long = CoreDefaults.options.commandCapacity.toLong(),
    /** Capacity of each namespace's native queue of incoming events. */
    val incomingCapacity: Long = CoreDefaults.options.incomingCapacity.toLong(),
    /** Most bytes of events waiting in each namespace's incoming queue. */
    val maxIncomingQueueBytes: Long = CoreDefaults.options.maxIncomingQueueBytes.toLong(),
    /**
     * Most events a namespace keeps when the server sends them before its CONNECT reply; the rest
     * are dropped and reported as [SocketEvent.Lagged] before the connect.
     */
    val maxPreconnectEvents: Long = CoreDefaults.options.maxPreconnectEvents.toLong(),
    /** Most bytes of the events kept before the CONNECT reply (see [maxPreconnectEvents]). */
    val maxPreconnectBytes: Long = CoreDefaults.options.maxPreconnectBytes.toLong(),
) {
    public companion object {
        /** A builder of options for Java, with `java.time.Duration`s and a `Map` auth. */
        @JvmStatic
        public fun builder(): ClientOptionsBuilder = ClientOptionsBuilder()
    }

    internal fun toFfi(url: String): FfiClientOptions = FfiClientOptions(
        url = url,
        path = path,
        query = query,
        extraHeaders = extraHeaders,
        transports = transports.map { it.toFfi() },
        upgrade = upgrade,
        serverVersion = serverVersion.toFfi(),
        timeoutMs = timeout.millis(),
        ackTimeoutMs = ackTimeout.millis(),
        reconnection = reconnection,
        reconnectionAttempts = reconnectionAttempts?.also { require(it >= 0) }?.toUInt(),
        reconnectionDelayMs = reconnectionDelay.millis(),
        reconnectionDelayMaxMs = reconnectionDelayMax.millis(),
        randomizationFactor = randomizationFactor,
        caCertPem = caCertPem,
        certificatePins = certificatePins,
        clientCertPem = clientCertPem,
        clientKeyPem = clientKeyPem,
        dangerAcceptInvalidCerts = insecureTrustAllCertificates,
        authJson = auth?.toString(),
        compression = compression,
        fallbackUrls = fallbackUrls,
        proxy = proxy,
        proxyFromEnvironment = proxyFromEnvironment,
        maxBufferedEmits = maxBufferedEmits.also { require(it >= 0) }.toULong(),
        maxBufferedBytes = maxBufferedBytes.also { require(it >= 0) }.toULong(),
        bufferPolicy = bufferPolicy.toFfi(),
        retries = retries.also { require(it >= 0) }.toUInt(),
        roomJoinEvent = roomJoinEvent,
        roomLeaveEvent = roomLeaveEvent,
        tryAllTransports = tryAllTransports,
        reconnectOnServerDisconnect = reconnectOnServerDisconnect,
        reconnectHookTimeoutMs = reconnectHookTimeout.millis(),
        maxIncomingBytes = maxIncomingBytes.limit("maxIncomingBytes"),
        maxPayloadPackets = maxPayloadPackets.limit("maxPayloadPackets"),
        maxWriteBufferBytes = maxWriteBufferBytes.limit("maxWriteBufferBytes"),
        maxCookiesPerHost = maxCookiesPerHost.limit("maxCookiesPerHost"),
        maxCookieBytesPerHost = maxCookieBytesPerHost.limit("maxCookieBytesPerHost"),
        maxIncomingAttachments = maxIncomingAttachments.limit("maxIncomingAttachments"),
        maxIncomingAttachmentBytes = maxIncomingAttachmentBytes.limit("maxIncomingAttachmentBytes"),
        maxIncomingPacketBytes = maxIncomingPacketBytes.limit("maxIncomingPacketBytes"),
        maxIncomingBinaryBytes = maxIncomingBinaryBytes.limit("maxIncomingBinaryBytes"),
        maxIncomingJsonValues = maxIncomingJsonValues.limit("maxIncomingJsonValues"),
        maxOutgoingAttachments = maxOutgoingAttachments.limit("maxOutgoingAttachments"),
        commandCapacity = commandCapacity.limit("commandCapacity"),
        incomingCapacity = incomingCapacity.limit("incomingCapacity"),
        maxIncomingQueueBytes = maxIncomingQueueBytes.limit("maxIncomingQueueBytes"),
        maxPreconnectEvents = maxPreconnectEvents.limit("maxPreconnectEvents"),
        maxPreconnectBytes = maxPreconnectBytes.limit("maxPreconnectBytes"),
    )
}

/** The Socket.IO version a server speaks ([ClientOptions.serverVersion]). */
public enum class ServerVersion {
    /**
     * Find out on the first connection: Engine.IO v4 first, then Socket.IO 2.x when the server
     * answers as one (one extra handshake against a 2.x server, nothing otherwise).
     */
    DETECT,

    /** Socket.IO 2.x servers (Engine.IO v3, Socket.IO protocol 4). */
    V2,

    /**
     * Socket.IO 3.x and 4.x servers only: a 2.x server is refused, connecting throws a
     * [ConnectException] with [ConnectException.refused] ("the server speaks an older
     * Socket.IO protocol").
     */
    V4,
    ;

    internal fun toFfi(): FfiServerVersion = when (this) {
        DETECT -> FfiServerVersion.DETECT
        V2 -> FfiServerVersion.V2
        V4 -> FfiServerVersion.V4
    }
}

private fun FfiServerVersion.toServerVersion(): ServerVersion = when (this) {
    FfiServerVersion.DETECT -> ServerVersion.DETECT
    FfiServerVersion.V2 -> ServerVersion.V2
    FfiServerVersion.V4 -> ServerVersion.V4
}

/** What a full offline buffer does with a new emit ([ClientOptions.bufferPolicy]). */
public enum class BufferPolicy {
    /** Refuse the new emit: [Socket.emitWithAck] throws [BufferFullException]. */
    REJECT,

    /** Drop the oldest buffered emit (its acknowledgement fails) to make room. */
    DROP_OLDEST,
    ;

    internal fun toFfi(): FfiBufferPolicy = when (this) {
        REJECT -> FfiBufferPolicy.REJECT
        DROP_OLDEST -> FfiBufferPolicy.DROP_OLDEST
    }
}

private fun FfiBufferPolicy.toBufferPolicy(): BufferPolicy = when (this) {
    FfiBufferPolicy.REJECT -> BufferPolicy.REJECT
    FfiBufferPolicy.DROP_OLDEST -> BufferPolicy.DROP_OLDEST
}

/** The core's defaults, read once through the native library: none is written in Kotlin. */
internal object CoreDefaults {
    val options: FfiClientOptions by lazy {
        NativeThreads.init()
        defaultClientOptions("")
    }
}

private fun ULong.asMillis(): Duration =
    if (this > Long.MAX_VALUE.toULong()) Duration.INFINITE else toLong().milliseconds

/** A size limit as the native record takes it; [name] names it when negative. */
private fun Long.limit(name: String): ULong {
    require(this >= 0) { "$name must not be negative: $this" }
    return toULong()
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
