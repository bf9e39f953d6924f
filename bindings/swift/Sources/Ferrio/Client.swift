import Foundation

/// The common case in one object: a ``Manager`` for a URL and the ``Socket`` of the URL's
/// namespace (its path; `/` when none).
///
/// ```swift
/// let client = try Client(url: "http://localhost:3000/chat")
/// client.socket.on("message") { event in print(event.arguments) }
/// try await client.connect()
/// let reply = try await client.socket.emitWithAck("join", "lobby", timeout: .seconds(5))
/// await client.disconnect()                      // connect() may be called again
/// await client.close()                           // releases everything, for good
/// ```
public final class Client: Sendable {
    /// The connection; more namespaces with ``Manager/socket(forNamespace:auth:)``.
    public let manager: Manager
    /// The socket of the URL's namespace.
    public let socket: Socket

    /// A client for `url`, not connected yet.
    ///
    /// - Throws: ``FerrioError/invalidURL(_:)``, ``FerrioError/invalidOption(_:)``.
    public init(url: String, options: ClientOptions = ClientOptions()) throws {
        guard var components = URLComponents(string: url), components.host != nil else {
            throw FerrioError.invalidURL(url)
        }
        let namespace = components.path.isEmpty ? "/" : components.path
        components.path = ""
        guard let base = components.string else { throw FerrioError.invalidURL(url) }
        manager = try Manager(url: base, options: options)
        socket = try manager.socket(forNamespace: namespace)
    }

    /// Connects (see ``Socket/connect()``).
    public func connect() async throws {
        try await socket.connect()
    }

    /// Disconnects the socket (see ``Socket/disconnect()``); the connection closes when no
    /// other namespace of the manager uses it. The client stays usable: ``connect()`` connects
    /// again, with the same handlers and event streams. ``close()`` releases it for good.
    public func disconnect() async {
        await socket.disconnect()
    }

    /// Disconnects the socket, then closes the manager (see ``Manager/close()``): the event
    /// streams end, and the client cannot connect again (it throws ``FerrioError/closed``).
    public func close() async {
        await socket.disconnect()
        await manager.close()
    }

    /// Whether the socket is connected.
    public var isConnected: Bool { socket.isConnected }

    /// Whether the socket's last connect recovered its session (see ``Socket/recovered``).
    public var recovered: Bool { socket.recovered }

    /// Skips the remaining reconnection delay (see ``Manager/reconnectNow()``).
    public func reconnectNow() async { await manager.reconnectNow() }

    /// The socket's offline buffer (see ``Socket/buffered``).
    public var buffered: BufferedEmits { socket.buffered }

    /// Discards the socket's offline buffer (see ``Socket/clearBuffer()``).
    public func clearBuffer() async { await socket.clearBuffer() }

    /// The socket's session id, while connected.
    public var id: String? { socket.id }

    /// The connection statistics (see ``Manager/stats()``).
    public func stats() -> ConnectionStats { manager.stats() }
}
