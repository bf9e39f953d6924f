package dev.ferrio

import dev.ferrio.ffi.DisconnectReason as FfiDisconnectReason
import dev.ferrio.ffi.ManagerEvent as FfiManagerEvent
import dev.ferrio.ffi.disconnectReasonText

/**
 * Why a socket was disconnected: the JavaScript client's reasons, then the causes that client
 * folds into them ([MessageTooLarge], [ProtocolViolation], [InvalidUtf8], [WriteStalled]).
 */
public sealed class DisconnectReason {
    /** The JavaScript client's string, e.g. `"io server disconnect"`: the core's text. */
    public val description: String by lazy {
        disconnectReasonText(FfiDisconnectReason.entries.first { it.toReason() == this })
    }

    /** Whether the client reconnects by itself after this (JS `socket.active`). */
    public val reconnects: Boolean
        get() = this !is IoServerDisconnect && this !is IoClientDisconnect

    /** The server disconnected the socket; no automatic reconnection. */
    public data object IoServerDisconnect : DisconnectReason()

    /** The client disconnected ([Socket.disconnect]); no automatic reconnection. */
    public data object IoClientDisconnect : DisconnectReason()

    /** No ping from the server in time. */
    public data object PingTimeout : DisconnectReason()

    /** The connection was closed (server, proxy or network). */
    public data object TransportClose : DisconnectReason()

    /** The transport failed. */
    public data object TransportError : DisconnectReason()

    /** The server sent data that could not be decoded. */
    public data object ParseError : DisconnectReason()

    /** The server sent a message larger than the client accepts (16 MiB by default). */
    public data object MessageTooLarge : DisconnectReason()

    /** The server broke the WebSocket protocol (a bad frame). */
    public data object ProtocolViolation : DisconnectReason()

    /** The server sent text that is not UTF-8. */
    public data object InvalidUtf8 : DisconnectReason()

    /** The server stopped taking what the client writes (no progress within its ping timeout). */
    public data object WriteStalled : DisconnectReason()
}

internal fun FfiDisconnectReason.toReason(): DisconnectReason = when (this) {
    FfiDisconnectReason.IO_SERVER_DISCONNECT -> DisconnectReason.IoServerDisconnect
    FfiDisconnectReason.IO_CLIENT_DISCONNECT -> DisconnectReason.IoClientDisconnect
    FfiDisconnectReason.PING_TIMEOUT -> DisconnectReason.PingTimeout
    FfiDisconnectReason.TRANSPORT_CLOSE -> DisconnectReason.TransportClose
    FfiDisconnectReason.TRANSPORT_ERROR -> DisconnectReason.TransportError
    FfiDisconnectReason.PARSE_ERROR -> DisconnectReason.ParseError
    FfiDisconnectReason.MESSAGE_TOO_LARGE -> DisconnectReason.MessageTooLarge
    FfiDisconnectReason.PROTOCOL_VIOLATION -> DisconnectReason.ProtocolViolation
    FfiDisconnectReason.INVALID_UTF8 -> DisconnectReason.InvalidUtf8
    FfiDisconnectReason.WRITE_STALLED -> DisconnectReason.WriteStalled
}

/** What a socket observes: [Socket.events] yields these, in order. */
public sealed class SocketEvent {
    /** The namespace, e.g. `/`. */
    public abstract val namespace: String

    /**
     * An event from the server: its [name], its [args] (see [Values] for their types) and,
     * when the server asked for an acknowledgement, [ack] to answer it once.
     */
    public data class Message(
        override val namespace: String,
        val name: String,
        val args: List<Any?>,
        val ack: Ack?,
    ) : SocketEvent()

    /** The namespace is connected as [sid]; [recovered] when the server restored the session. */
    public data class Connected(
        override val namespace: String,
        val sid: String,
        val recovered: Boolean,
    ) : SocketEvent()

    /** The namespace was disconnected; it reconnects by itself when [DisconnectReason.reconnects]. */
    public data class Disconnected(
        override val namespace: String,
        val reason: DisconnectReason,
    ) : SocketEvent()

    /** The namespace could not be connected (refused by the server, or unreachable). */
    public data class ConnectFailed(
        override val namespace: String,
        val error: ConnectException,
    ) : SocketEvent()

    /** The consumer was too slow: [dropped] events were lost. */
    public data class Lagged(
        override val namespace: String,
        val dropped: Long,
    ) : SocketEvent()
}

/** The state of a socket's namespace, as [Socket.state] reports it. */
public sealed class ConnectionState {
    /** Not connected yet, or disconnected by the client. */
    public data object Idle : ConnectionState()

    /** [Socket.connect] is waiting for the server. */
    public data object Connecting : ConnectionState()

    /** Connected as [sid]. */
    public data class Connected(val sid: String, val recovered: Boolean) : ConnectionState()

    /**
     * Disconnected for [reason]; [reconnecting] while the client reconnects by itself: when
     * reconnection is enabled and the [reason] [reconnects][DisconnectReason.reconnects],
     * until reconnection gives up ([ManagerEvent.ReconnectFailed] sets it to `false`).
     */
    public data class Disconnected @JvmOverloads constructor(
        val reason: DisconnectReason,
        val reconnecting: Boolean = reason.reconnects,
    ) : ConnectionState()

    /**
     * The last connection attempt failed with [error]; [reconnecting] while the client tries
     * again by itself (reconnection enabled, the namespace not refused by the server, and
     * reconnection not given up: [ManagerEvent.ReconnectFailed] sets it to `false`).
     */
    public data class Failed @JvmOverloads constructor(
        val error: ConnectException,
        val reconnecting: Boolean = false,
    ) : ConnectionState()

    /** The manager is closed. */
    public data object Closed : ConnectionState()
}

/** A transport of the Engine.IO connection. */
public enum class Transport {
    /** HTTP long-polling. */
    POLLING,

    /** WebSocket. */
    WEBSOCKET,
}

/**
 * A change of a [Manager]'s connection, as [Manager.events] reports it: the JavaScript
 * client's manager events (`open`, `close`, `reconnect_attempt`, `reconnect_error`,
 * `reconnect`, `reconnect_failed`).
 */
public sealed class ManagerEvent {
    /** The connection is open. */
    public data object Open : ManagerEvent()

    /** The connection closed for [reason]. */
    public data class Close(val reason: DisconnectReason) : ManagerEvent()

    /** Reconnection attempt [attempt] (from 1) is starting. */
    public data class ReconnectAttempt(val attempt: Int) : ManagerEvent()

    /** A reconnection attempt failed, for the reason [detail] describes. */
    public data class ReconnectError(val detail: String) : ManagerEvent()

    /** Reconnected after [attempts] attempts. */
    public data class Reconnect(val attempts: Int) : ManagerEvent()

    /**
     * Reconnection gave up (after [ClientOptions.reconnectionAttempts]); the sockets stay
     * disconnected until [Socket.connect].
     */
    public data object ReconnectFailed : ManagerEvent()

    /** The collector was too slow: [dropped] events were lost. */
    public data class Lagged(val dropped: Long) : ManagerEvent()
}

internal fun FfiManagerEvent.toEvent(): ManagerEvent = when (this) {
    is FfiManagerEvent.Open -> ManagerEvent.Open
    is FfiManagerEvent.Close -> ManagerEvent.Close(reason.toReason())
    is FfiManagerEvent.ReconnectAttempt -> ManagerEvent.ReconnectAttempt(attempt.toInt())
    is FfiManagerEvent.ReconnectError -> ManagerEvent.ReconnectError(detail)
    is FfiManagerEvent.Reconnect -> ManagerEvent.Reconnect(attempts.toInt())
    is FfiManagerEvent.ReconnectFailed -> ManagerEvent.ReconnectFailed
    is FfiManagerEvent.Lagged -> ManagerEvent.Lagged(dropped.toLong())
}
