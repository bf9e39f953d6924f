package dev.ferrio

import kotlinx.serialization.json.JsonObject
import java.util.function.IntFunction
import kotlin.time.toKotlinDuration
import java.time.Duration as JavaDuration

/**
 * Builds [ClientOptions] from Java (whose constructor takes Kotlin `Duration`s, which Java
 * cannot pass): [ClientOptions.builder], a setter per option, then [build]. Durations are
 * `java.time.Duration`s and the auth payload a plain `Map`; an option left unset keeps its
 * default (the Rust core's, as in Kotlin).
 *
 * ```java
 * ClientOptions options = ClientOptions.builder()
 *     .transports(Transport.WEBSOCKET)
 *     .reconnectionDelay(Duration.ofMillis(500))
 *     .auth(Map.of("token", "secret"))
 *     .build();
 * ```
 */
public class ClientOptionsBuilder internal constructor() {
    private var options = ClientOptions()

    /** See [ClientOptions.path]. */
    public fun path(path: String): ClientOptionsBuilder = apply { options = options.copy(path = path) }

    /** See [ClientOptions.query]. */
    public fun query(query: Map<String, String>): ClientOptionsBuilder = apply { options = options.copy(query = query) }

    /** See [ClientOptions.extraHeaders]. */
    public fun extraHeaders(headers: Map<String, String>): ClientOptionsBuilder =
        apply { options = options.copy(extraHeaders = headers) }

    /** See [ClientOptions.transports]. */
    public fun transports(vararg transports: Transport): ClientOptionsBuilder =
        apply { options = options.copy(transports = transports.toList()) }

    /** See [ClientOptions.upgrade]. */
    public fun upgrade(upgrade: Boolean): ClientOptionsBuilder = apply { options = options.copy(upgrade = upgrade) }

    /** See [ClientOptions.serverVersion]. */
    public fun serverVersion(version: ServerVersion): ClientOptionsBuilder =
        apply { options = options.copy(serverVersion = version) }

    /** See [ClientOptions.timeout]. */
    public fun timeout(timeout: JavaDuration): ClientOptionsBuilder =
        apply { options = options.copy(timeout = timeout.toKotlinDuration()) }

    /** See [ClientOptions.ackTimeout]. */
    public fun ackTimeout(timeout: JavaDuration): ClientOptionsBuilder =
        apply { options = options.copy(ackTimeout = timeout.toKotlinDuration()) }

    /** See [ClientOptions.reconnection]. */
    public fun reconnection(reconnection: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(reconnection = reconnection) }

    /** See [ClientOptions.reconnectionAttempts]; `null` for unlimited. */
    public fun reconnectionAttempts(attempts: Int?): ClientOptionsBuilder =
        apply { options = options.copy(reconnectionAttempts = attempts) }

    /** See [ClientOptions.reconnectionDelay]. */
    public fun reconnectionDelay(delay: JavaDuration): ClientOptionsBuilder =
        apply { options = options.copy(reconnectionDelay = delay.toKotlinDuration()) }

    /** See [ClientOptions.reconnectionDelayMax]. */
    public fun reconnectionDelayMax(delay: JavaDuration): ClientOptionsBuilder =
        apply { options = options.copy(reconnectionDelayMax = delay.toKotlinDuration()) }

    /** See [ClientOptions.randomizationFactor]. */
    public fun randomizationFactor(factor: Double): ClientOptionsBuilder =
        apply { options = options.copy(randomizationFactor = factor) }

    /** See [ClientOptions.caCertPem]. */
    public fun caCertPem(pem: String?): ClientOptionsBuilder = apply { options = options.copy(caCertPem = pem) }

    /** See [ClientOptions.certificatePins]: `sha256/<base64>` public-key pins. */
    public fun certificatePins(vararg pins: String): ClientOptionsBuilder =
        apply { options = options.copy(certificatePins = pins.toList()) }

    /** See [ClientOptions.clientCertPem] and [ClientOptions.clientKeyPem] (mutual TLS). */
    public fun clientCertificate(certPem: String?, keyPem: String?): ClientOptionsBuilder =
        apply { options = options.copy(clientCertPem = certPem, clientKeyPem = keyPem) }

    /** See [ClientOptions.insecureTrustAllCertificates] (development only). */
    public fun insecureTrustAllCertificates(trustAll: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(insecureTrustAllCertificates = trustAll) }

    /**
     * The auth payload sent when connecting a namespace ([ClientOptions.auth]), as plain values
     * (see [Values]: maps with string keys, lists, strings, numbers, booleans, `null`).
     *
     * @throws IllegalArgumentException for a value that has no JSON form (binary included).
     */
    public fun auth(auth: Map<String, Any?>?): ClientOptionsBuilder =
        apply { options = options.copy(auth = auth?.let { Values.toJson(it) as JsonObject }) }

    /** See [ClientOptions.compression]. */
    public fun compression(compression: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(compression = compression) }

    /** See [ClientOptions.fallbackUrls]. */
    public fun fallbackUrls(vararg urls: String): ClientOptionsBuilder =
        apply { options = options.copy(fallbackUrls = urls.toList()) }

    /** See [ClientOptions.proxy]. */
    public fun proxy(url: String?): ClientOptionsBuilder =
        apply { options = options.copy(proxy = url) }

    /** See [ClientOptions.proxyFromEnvironment]. */
    public fun proxyFromEnvironment(enabled: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(proxyFromEnvironment = enabled) }

    /**
     * See [ClientOptions.beforeReconnect]: [hook] gets the attempt's number (from 1) and
     * returns the fresh settings; it runs on a thread of the native library's own and may
     * block. `null` removes it.
     */
    public fun beforeReconnect(hook: IntFunction<ReconnectUpdate>?): ClientOptionsBuilder =
        apply { options = options.copy(beforeReconnect = hook?.let { { attempt: Int -> it.apply(attempt) } }) }

    /** See [ClientOptions.maxBufferedEmits]. */
    public fun maxBufferedEmits(emits: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxBufferedEmits = emits) }

    /** See [ClientOptions.maxBufferedBytes]. */
    public fun maxBufferedBytes(bytes: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxBufferedBytes = bytes) }

    /** See [ClientOptions.bufferPolicy]. */
    public fun bufferPolicy(policy: BufferPolicy): ClientOptionsBuilder =
        apply { options = options.copy(bufferPolicy = policy) }

    /** See [ClientOptions.retries]. */
    public fun retries(retries: Int): ClientOptionsBuilder = apply { options = options.copy(retries = retries) }

    /** See [ClientOptions.roomJoinEvent] and [ClientOptions.roomLeaveEvent]. */
    public fun roomEvents(join: String, leave: String): ClientOptionsBuilder =
        apply { options = options.copy(roomJoinEvent = join, roomLeaveEvent = leave) }

    /** See [ClientOptions.tryAllTransports]. */
    public fun tryAllTransports(enabled: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(tryAllTransports = enabled) }

    /** See [ClientOptions.reconnectOnServerDisconnect]. */
    public fun reconnectOnServerDisconnect(enabled: Boolean): ClientOptionsBuilder =
        apply { options = options.copy(reconnectOnServerDisconnect = enabled) }

    /** See [ClientOptions.reconnectHookTimeout]. */
    public fun reconnectHookTimeout(timeout: JavaDuration): ClientOptionsBuilder =
        apply { options = options.copy(reconnectHookTimeout = timeout.toKotlinDuration()) }

    /** See [ClientOptions.maxIncomingBytes]. */
    public fun maxIncomingBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingBytes = value) }

    /** See [ClientOptions.maxPayloadPackets]. */
    public fun maxPayloadPackets(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxPayloadPackets = value) }

    /** See [ClientOptions.maxWriteBufferBytes]. */
    public fun maxWriteBufferBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxWriteBufferBytes = value) }

    /** See [ClientOptions.maxCookiesPerHost]. */
    public fun maxCookiesPerHost(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxCookiesPerHost = value) }

    /** See [ClientOptions.maxCookieBytesPerHost]. */
    public fun maxCookieBytesPerHost(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxCookieBytesPerHost = value) }

    /** See [ClientOptions.maxIncomingAttachments]. */
    public fun maxIncomingAttachments(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingAttachments = value) }

    /** See [ClientOptions.maxIncomingAttachmentBytes]. */
    public fun maxIncomingAttachmentBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingAttachmentBytes = value) }

    /** See [ClientOptions.maxIncomingPacketBytes]. */
    public fun maxIncomingPacketBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingPacketBytes = value) }

    /** See [ClientOptions.maxIncomingBinaryBytes]. */
    public fun maxIncomingBinaryBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingBinaryBytes = value) }

    /** See [ClientOptions.maxIncomingJsonValues]. */
    public fun maxIncomingJsonValues(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingJsonValues = value) }

    /** See [ClientOptions.maxOutgoingAttachments]. */
    public fun maxOutgoingAttachments(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxOutgoingAttachments = value) }

    /** See [ClientOptions.commandCapacity]. */
    public fun commandCapacity(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(commandCapacity = value) }

    /** See [ClientOptions.incomingCapacity]. */
    public fun incomingCapacity(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(incomingCapacity = value) }

    /** See [ClientOptions.maxIncomingQueueBytes]. */
    public fun maxIncomingQueueBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxIncomingQueueBytes = value) }

    /** See [ClientOptions.maxPreconnectEvents]. */
    public fun maxPreconnectEvents(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxPreconnectEvents = value) }

    /** See [ClientOptions.maxPreconnectBytes]. */
    public fun maxPreconnectBytes(value: Long): ClientOptionsBuilder =
        apply { options = options.copy(maxPreconnectBytes = value) }

    /** The options set so far; the builder can go on being used. */
    public fun build(): ClientOptions = options
}
