package dev.ferrio

import kotlinx.serialization.json.Json
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.ferrio.ffi.AckException as FfiAckException
import dev.ferrio.ffi.AckReplyException as FfiAckReplyException
import dev.ferrio.ffi.CallException as FfiCallException
import dev.ferrio.ffi.ConnectException as FfiConnectException
import dev.ferrio.ffi.EmitException as FfiEmitException
import dev.ferrio.ffi.InternalException as FfiInternalException
import dev.ferrio.ffi.ProxyErrorKind as FfiProxyErrorKind

/** Every error ferrio reports. */
public sealed class FerrioException(message: String) : Exception(message)

/**
 * The connection or a namespace could not be established. When the server refused the
 * namespace ([refused]), [message] and [data] are those of its middleware's error
 * (`next(err)` with `err.data`).
 */
public open class ConnectException(
    message: String,
    /** The server's data with a refusal, as received values (see [Values]); else `null`. */
    public val data: Any? = null,
    /** Whether the server refused the namespace (as opposed to a network failure or timeout). */
    public val refused: Boolean = false,
) : FerrioException(message)

/**
 * A proxy ([ClientOptions.proxy], or the environment's) could not carry the connection:
 * [kind] says why, [proxy] names it without its credentials.
 */
public class ProxyException(
    /** Why the proxy failed. */
    public val kind: Kind,
    /** The proxy, without its credentials (`http://proxy.example:3128`). */
    public val proxy: String,
    message: String,
) : ConnectException(message) {
    /** Why a proxy could not carry the connection. */
    public enum class Kind {
        /** The proxy could not be reached (refused, DNS, timeout): check its address. */
        UNREACHABLE,

        /** The proxy wants credentials, or refused the ones given (HTTP 407, SOCKS5). */
        AUTHENTICATION_FAILED,

        /** The proxy refused to open a connection to the server. */
        REFUSED,

        /** The proxy's answer is not HTTP CONNECT or SOCKS5 as expected. */
        PROTOCOL,
    }
}

/**
 * The server's certificate chain holds none of the pinned keys ([ClientOptions.certificatePins]):
 * [seen] lists the chain's keys (`sha256/<base64>`, the server's first). With reconnection on,
 * each attempt fails the same way until the attempts run out.
 */
public class CertificatePinException(
    /** The public keys of the server's verified chain. */
    public val seen: List<String>,
) : ConnectException("no pinned key in the server's certificate chain (its keys: ${seen.joinToString(", ")})")

/** No acknowledgement within [timeout]; the server may still have handled the event. */
public class TimeoutException(public val timeout: Duration) :
    FerrioException("no acknowledgement within $timeout")

/** The connection was lost before the acknowledgement arrived, or the packet was discarded. */
public class DisconnectedException(message: String) : FerrioException(message)

/** The client is closed; make a new one. */
public class ClosedException : FerrioException("the client is closed")

/**
 * An emit or an acknowledgement was refused: a reserved event name, arguments too large or
 * with too many attachments, a full offline buffer, an acknowledgement already sent.
 */
public open class EmitException(message: String) : FerrioException(message)

/**
 * The offline buffer is full ([ClientOptions.maxBufferedEmits], [ClientOptions.maxBufferedBytes])
 * and its [ClientOptions.bufferPolicy] is [BufferPolicy.REJECT]: the emit was not buffered.
 */
public class BufferFullException : EmitException("the offline buffer is full")

/** A bug in ferrio, caught at the native boundary. */
public class InternalException(message: String) : FerrioException(message)

/** Runs an FFI call, turning its errors into [FerrioException]s. */
internal inline fun <T> native(call: () -> T): T =
    try {
        call()
    } catch (error: Exception) {
        throw ferrioError(error)
    }

/** The ferrio exception for a native error; other exceptions unchanged. */
internal fun ferrioError(error: Exception): Exception = when (error) {
    is FerrioException -> error
    is FfiConnectException -> when (error) {
        is FfiConnectException.Rejected ->
            ConnectException(error.serverMessage, error.dataJson?.let(::parseData), refused = true)
        is FfiConnectException.InvalidUrl -> ConnectException("invalid URL: ${error.detail}")
        is FfiConnectException.InvalidOption -> ConnectException("invalid option: ${error.detail}")
        is FfiConnectException.Transport -> ConnectException(error.detail)
        is FfiConnectException.Proxy -> ProxyException(error.kind.toKind(), error.proxy, error.detail)
        is FfiConnectException.PinMismatch -> CertificatePinException(error.seen)
        is FfiConnectException.Timeout -> ConnectException("connection timed out after ${error.timeoutMs} ms")
        is FfiConnectException.Disconnected ->
            ConnectException("disconnected while connecting: ${error.reason.toReason().description}")
        is FfiConnectException.ReconnectFailed ->
            ConnectException("gave up after ${error.attempts} reconnection attempts")
        is FfiConnectException.Closed -> ClosedException()
        is FfiConnectException.Panic -> InternalException(error.detail)
    }
    is FfiAckException -> when (error) {
        is FfiAckException.Timeout -> TimeoutException(error.timeoutMs.toLong().milliseconds)
        is FfiAckException.Disconnected -> DisconnectedException("disconnected before the acknowledgement arrived")
        is FfiAckException.Discarded -> DisconnectedException("the buffered packet was discarded")
        is FfiAckException.Closed -> ClosedException()
        is FfiAckException.ReservedEvent -> EmitException("`${error.event}` is a reserved event name")
        is FfiAckException.PayloadTooLarge -> EmitException(tooLarge(error.size, error.max))
        is FfiAckException.TooManyAttachments -> EmitException(tooMany(error.count, error.max))
        is FfiAckException.InvalidArgs -> EmitException("invalid arguments: ${error.detail}")
        is FfiAckException.BufferFull -> BufferFullException()
        is FfiAckException.Panic -> InternalException(error.detail)
    }
    is FfiEmitException -> when (error) {
        is FfiEmitException.Closed -> ClosedException()
        is FfiEmitException.ReservedEvent -> EmitException("`${error.event}` is a reserved event name")
        is FfiEmitException.PayloadTooLarge -> EmitException(tooLarge(error.size, error.max))
        is FfiEmitException.TooManyAttachments -> EmitException(tooMany(error.count, error.max))
        is FfiEmitException.InvalidArgs -> EmitException("invalid arguments: ${error.detail}")
        is FfiEmitException.BufferFull -> BufferFullException()
        is FfiEmitException.QueueFull -> EmitException("the outgoing queue is full")
        is FfiEmitException.Panic -> InternalException(error.detail)
    }
    is FfiAckReplyException -> when (error) {
        is FfiAckReplyException.AlreadySent -> EmitException("this acknowledgement was already sent")
        is FfiAckReplyException.InvalidArgs -> EmitException("invalid arguments: ${error.detail}")
        is FfiAckReplyException.Panic -> InternalException(error.detail)
    }
    is FfiCallException -> when (error) {
        is FfiCallException.Resource -> ConnectException(error.detail)
        is FfiCallException.Panic -> InternalException(error.detail)
    }
    is FfiInternalException -> InternalException(error.message ?: "internal error")
    else -> error
}

private fun FfiProxyErrorKind.toKind(): ProxyException.Kind = when (this) {
    FfiProxyErrorKind.UNREACHABLE -> ProxyException.Kind.UNREACHABLE
    FfiProxyErrorKind.AUTHENTICATION_FAILED -> ProxyException.Kind.AUTHENTICATION_FAILED
    FfiProxyErrorKind.REFUSED -> ProxyException.Kind.REFUSED
    FfiProxyErrorKind.PROTOCOL_VIOLATION -> ProxyException.Kind.PROTOCOL
}

private fun parseData(text: String): Any? =
    try {
        Values.fromJson(Json.parseToJsonElement(text))
    } catch (_: IllegalArgumentException) {
        text
    }

private fun tooLarge(size: ULong, max: ULong) =
    "packet of $size bytes exceeds the server's maxPayload of $max bytes"

private fun tooMany(count: ULong, max: ULong) = "$count binary attachments exceed the limit of $max"
