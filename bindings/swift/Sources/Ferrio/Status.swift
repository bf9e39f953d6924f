import Foundation

/// A change of a socket's status, as ``Socket/statusChanges`` and ``Client/statusChanges``
/// report it.
public enum ConnectionStatus: Sendable, Hashable {
    /// ``Socket/connect()`` was called: the namespace is connecting.
    case connecting
    /// The namespace is connected with the session id `id`; `recovered` when the server's
    /// connection state recovery restored the previous session.
    case connected(id: String, recovered: Bool)
    /// Connecting the namespace failed: the server refused it or could not be reached
    /// (`message` says which; ``Socket/onConnectError(perform:)`` has the server's data).
    case connectFailed(message: String)
    /// The namespace was disconnected for `reason`; it reconnects by itself unless the
    /// reason is ``DisconnectReason/serverDisconnect`` or ``DisconnectReason/clientDisconnect``
    /// (or reconnection is off).
    case disconnected(DisconnectReason)
    /// The connection is lost and reconnection attempt `attempt` (from 1) is starting.
    case reconnecting(attempt: Int)
    /// Reconnection gave up after `reconnectionAttempts` failed attempts.
    case reconnectFailed
}

extension Socket {
    /// How many status changes a ``statusChanges`` stream keeps for a reader that is behind.
    public static let statusChangesMaxQueued = 64

    /// The socket's status changes from now on, until its manager closes.
    ///
    /// At most ``statusChangesMaxQueued`` (64) changes wait to be taken; when more come, the
    /// oldest waiting ones are dropped, so a reader that fell behind still ends on the latest
    /// status and the stream never grows without bound. The socket's own changes
    /// (``ConnectionStatus/connecting``, ``ConnectionStatus/connected(id:recovered:)``,
    /// ``ConnectionStatus/connectFailed(message:)``, ``ConnectionStatus/disconnected(_:)``)
    /// arrive in order, and so do those of the shared connection
    /// (``ConnectionStatus/reconnecting(attempt:)``, ``ConnectionStatus/reconnectFailed``).
    /// A connection change comes after every socket change that happened before it: once
    /// reconnection gives up, ``ConnectionStatus/reconnectFailed`` follows the last attempt's
    /// ``ConnectionStatus/connectFailed(message:)`` and stays the latest status until the next
    /// ``Socket/connect()``. (A socket change that happened just after a connection change may
    /// still come before it: an attempt's `connectFailed` before its `reconnecting`.) Both are
    /// published as the socket's dispatcher reaches them, so a slow handler delays them too.
    /// Ending the iteration (`break`, a cancelled task) unregisters the stream.
    ///
    /// ```swift
    /// for await status in client.statusChanges {
    ///     if case .reconnecting(let attempt) = status { print("reconnecting, attempt", attempt) }
    /// }
    /// ```
    public var statusChanges: AsyncStream<ConnectionStatus> {
        hub.statusStream(maxQueued: Socket.statusChangesMaxQueued)
    }
}

extension Client {
    /// The status changes of the client's socket (see ``Socket/statusChanges``).
    public var statusChanges: AsyncStream<ConnectionStatus> { socket.statusChanges }
}
