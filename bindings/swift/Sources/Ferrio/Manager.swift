import Foundation
internal import FerrioUniFFI

/// A change of a manager's connection.
public enum ConnectionEvent: Sendable, Hashable {
    /// The connection is open.
    case open
    /// The connection closed.
    case close(DisconnectReason)
    /// Reconnection attempt `attempt` (from 1) is starting.
    case reconnectAttempt(Int)
    /// A reconnection attempt failed.
    case reconnectError(String)
    /// Reconnected after `attempts` attempts.
    case reconnect(attempts: Int)
    /// Reconnection gave up.
    case reconnectFailed
    /// This stream fell behind and missed `dropped` events.
    case lagged(dropped: UInt64)

    init(_ native: ManagerEvent) {
        switch native {
        case .open: self = .open
        case .close(let reason): self = .close(DisconnectReason(reason))
        case .reconnectAttempt(let attempt): self = .reconnectAttempt(Int(attempt))
        case .reconnectError(let detail): self = .reconnectError(detail)
        case .reconnect(let attempts): self = .reconnect(attempts: Int(attempts))
        case .reconnectFailed: self = .reconnectFailed
        case .lagged(let dropped): self = .lagged(dropped: dropped)
        }
    }
}

/// One Engine.IO connection to a server, shared by the sockets of its namespaces. It opens
/// when a socket connects and reconnects by itself; ``close()`` releases everything.
public final class Manager: Sendable {
    /// The server's URL.
    public let url: String
    let native: FerrioUniFFI.Manager
    private let sockets = Locked<[String: WeakSocket]>([:])
    private let dispatchers = Locked<[(hub: EventHub, task: Task<Void, Never>)]>([])

    private struct WeakSocket {
        weak var socket: Socket?
    }

    /// A manager for `url` (`http(s)://` or `ws(s)://`); nothing connects until a socket
    /// does.
    ///
    /// - Throws: ``FerrioError/invalidURL(_:)``, ``FerrioError/invalidOption(_:)``.
    public init(url: String, options: ClientOptions = ClientOptions()) throws {
        self.url = url
        let nativeOptions = try options.native(url: url)
        if let hook = options.beforeReconnect {
            native = try FerrioError.native {
                try FerrioUniFFI.Manager.withReconnectHook(options: nativeOptions, hook: ReconnectHookBridge(hook))
            }
        } else {
            native = try FerrioError.native { try FerrioUniFFI.Manager(options: nativeOptions) }
        }
    }

    /// The socket of `namespace` (one per namespace: a second call returns the same one,
    /// with its first auth). Call ``Socket/connect()`` on it.
    ///
    /// - Parameter auth: the auth payload of this namespace; the options' when `nil`.
    public func socket(forNamespace namespace: String = "/", auth: [String: JSONValue]? = nil) throws -> Socket {
        let name = namespace.hasPrefix("/") ? namespace : "/" + namespace
        if let socket = sockets.withLock({ $0[name]?.socket }) {
            return socket
        }
        let authText = try auth.map(authJSON)
        let socket = try Socket(
            manager: self,
            native: try FerrioError.native { try native.socket(namespace: name, authJson: authText) })
        return sockets.withLock { sockets in
            if let existing = sockets[name]?.socket { return existing }
            sockets[name] = WeakSocket(socket: socket)
            return socket
        }
    }

    /// The transport in use, while connected.
    public var transport: Transport? {
        ((try? native.transport()) ?? nil).map(Transport.init)
    }

    /// The connection statistics now: bytes and packets in and out, reconnections, the
    /// transport, the age of the last ping and the acknowledgement round trips. After
    /// ``close()``, those counted until then.
    public func stats() -> ConnectionStats {
        guard let native = try? native.stats() else {
            return ConnectionStats(FerrioUniFFI.ConnectionStats.empty)
        }
        return ConnectionStats(native)
    }

    /// Skips the remaining reconnection delay and tries at once, e.g. when
    /// `NWPathMonitor` reports that the network is back. Does nothing when no reconnection
    /// is pending, or once closed.
    public func reconnectNow() async {
        try? await native.reconnectNow()
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool {
        (try? native.isClosed()) ?? true
    }

    /// Disconnects every namespace, closes the connection, and returns once every socket's
    /// dispatcher has finished (their ``EventStream``s end; called from a handler, all but
    /// its own). Pending acknowledgements fail with ``FerrioError/closed``.
    public func close() async {
        try? await native.close()
        for (hub, task) in dispatchers.withLock({ $0 }) where !hub.isDispatchingHere {
            await task.value
        }
        for socket in sockets.withLock({ $0.values.compactMap(\.socket) }) {
            await socket.outgoing.end()
        }
    }

    /// Connection changes from now on, until the manager closes.
    ///
    /// Each event is taken from the core when the iteration asks for it, so no queue grows
    /// here: the core keeps a bounded backlog per stream, and a stream that fell behind it
    /// gets ``ConnectionEvent/lagged(dropped:)`` with the number of events it missed.
    ///
    /// Each event comes once the sockets' dispatchers handed on the socket events that
    /// happened before it (``ConnectionEvent/reconnectFailed`` after the last attempt's
    /// failure reached the handlers), so busy handlers delay it: do not wait for this
    /// stream inside a handler.
    public var connectionEvents: AsyncStream<ConnectionEvent> {
        guard let stream = try? native.events() else {
            return AsyncStream { $0.finish() }
        }
        return AsyncStream(
            unfolding: { (try? await stream.next())?.map(ConnectionEvent.init) },
            onCancel: { try? stream.close() })
    }

    /// Keeps a socket's dispatcher task, for `close` to wait for.
    func track(_ hub: EventHub, _ task: Task<Void, Never>) {
        dispatchers.withLock { $0.append((hub, task)) }
    }
}
