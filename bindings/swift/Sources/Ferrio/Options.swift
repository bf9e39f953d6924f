import Foundation
internal import FerrioUniFFI

/// An Engine.IO transport.
public enum Transport: String, Sendable, Hashable, CaseIterable {
    /// HTTP long-polling.
    case polling
    /// WebSocket.
    case websocket

    init(_ native: FerrioUniFFI.Transport) {
        switch native {
        case .polling: self = .polling
        case .websocket: self = .websocket
        }
    }

    var native: FerrioUniFFI.Transport {
        switch self {
        case .polling: return .polling
        case .websocket: return .websocket
        }
    }
}

/// The Socket.IO version a server speaks (``ClientOptions/serverVersion``).
public enum ServerVersion: Sendable, Hashable, CaseIterable {
    /// Find out on the first connection: Engine.IO v4 first, then Socket.IO 2.x when the
    /// server answers as one (one extra handshake against a 2.x server, nothing otherwise).
    case detect
    /// Socket.IO 2.x servers (Engine.IO v3, Socket.IO protocol 4).
    case v2
    /// Socket.IO 3.x and 4.x servers only: a 2.x server is refused with
    /// ``FerrioError/connect(message:data:)`` ("the server speaks an older Socket.IO protocol").
    case v4

    init(_ native: FerrioUniFFI.ServerVersion) {
        switch native {
        case .detect: self = .detect
        case .v2: self = .v2
        case .v4: self = .v4
        }
    }

    var native: FerrioUniFFI.ServerVersion {
        switch self {
        case .detect: return .detect
        case .v2: return .v2
        case .v4: return .v4
        }
    }
}

/// What a full offline buffer does with a new emit (``ClientOptions/bufferPolicy``).
public enum BufferPolicy: Sendable, Hashable, CaseIterable {
    /// Refuse the new emit with ``FerrioError/bufferFull``.
    case reject
    /// Drop the oldest buffered emit (its acknowledgement fails) to make room.
    case dropOldest

    init(_ native: FerrioUniFFI.BufferPolicy) {
        switch native {
        case .reject: self = .reject
        case .dropOldest: self = .dropOldest
        }
    }

    var native: FerrioUniFFI.BufferPolicy {
        switch self {
        case .reject: return .reject
        case .dropOldest: return .dropOldest
        }
    }
}

/// Why a socket was disconnected: the JavaScript client's reasons, then the causes that
/// client folds into them (too large, protocol violation, bad UTF-8, stalled write). Its
/// `rawValue` is the JavaScript client's string, e.g. `"io server disconnect"`.
public enum DisconnectReason: RawRepresentable, CaseIterable, Sendable, Hashable {
    /// The server disconnected the socket; no automatic reconnection.
    case serverDisconnect
    /// The client disconnected; no automatic reconnection.
    case clientDisconnect
    /// No ping from the server in time.
    case pingTimeout
    /// The connection was closed (server, proxy or network).
    case transportClose
    /// The transport failed.
    case transportError
    /// The server sent data that could not be decoded.
    case parseError
    /// The server sent a message larger than the client accepts.
    case messageTooLarge
    /// The server broke the WebSocket protocol (a bad frame).
    case protocolViolation
    /// The server sent text that is not UTF-8.
    case invalidUtf8
    /// The server stopped taking what the client writes (no progress within its ping timeout).
    case writeStalled

    /// The JavaScript client's string, e.g. `"io server disconnect"`: the core's text.
    public var rawValue: String { disconnectReasonText(reason: native) }

    /// The reason whose string is `rawValue`; `nil` for any other string.
    public init?(rawValue: String) {
        guard let reason = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = reason
    }

    init(_ native: FerrioUniFFI.DisconnectReason) {
        switch native {
        case .ioServerDisconnect: self = .serverDisconnect
        case .ioClientDisconnect: self = .clientDisconnect
        case .pingTimeout: self = .pingTimeout
        case .transportClose: self = .transportClose
        case .transportError: self = .transportError
        case .parseError: self = .parseError
        case .messageTooLarge: self = .messageTooLarge
        case .protocolViolation: self = .protocolViolation
        case .invalidUtf8: self = .invalidUtf8
        case .writeStalled: self = .writeStalled
        }
    }

    var native: FerrioUniFFI.DisconnectReason {
        switch self {
        case .serverDisconnect: return .ioServerDisconnect
        case .clientDisconnect: return .ioClientDisconnect
        case .pingTimeout: return .pingTimeout
        case .transportClose: return .transportClose
        case .transportError: return .transportError
        case .parseError: return .parseError
        case .messageTooLarge: return .messageTooLarge
        case .protocolViolation: return .protocolViolation
        case .invalidUtf8: return .invalidUtf8
        case .writeStalled: return .writeStalled
        }
    }

    /// Whether the client reconnects by itself after it.
    public var reconnectsAutomatically: Bool {
        self != .serverDisconnect && self != .clientDisconnect
    }
}

/// Options of a connection, with the JavaScript client's names and defaults. The defaults are
/// the Rust core's, read through the native library: the same in every language.
public struct ClientOptions: Sendable {
    /// The Engine.IO path on the server (JS `path`).
    public var path: String = CoreDefaults.options.path
    /// Query parameters added to every request (JS `query`).
    public var query: [String: String] = [:]
    /// Headers added to every request and to the WebSocket handshake (JS `extraHeaders`).
    public var extraHeaders: [String: String] = [:]
    /// Transports to try, in order (JS `transports`).
    public var transports: [Transport] = CoreDefaults.options.transports.map { Transport($0) }
    /// Upgrade from polling to WebSocket when offered (JS `upgrade`).
    public var upgrade: Bool = CoreDefaults.options.upgrade
    /// The Socket.IO version of the server: ``ServerVersion/detect`` (the default) finds it
    /// out on the first connection, so a Socket.IO 2.x server needs no setting.
    public var serverVersion: ServerVersion = ServerVersion(CoreDefaults.options.serverVersion)
    /// Handshake and namespace connect timeout (JS `timeout`).
    public var timeout: Duration = .milliseconds(CoreDefaults.options.timeoutMs)
    /// Default timeout of ``Socket/emitWithAck(_:_:timeout:)`` (JS `ackTimeout`).
    public var ackTimeout: Duration = .milliseconds(CoreDefaults.options.ackTimeoutMs)
    /// Reconnect automatically (JS `reconnection`).
    public var reconnection: Bool = CoreDefaults.options.reconnection
    /// Attempts before giving up; `nil` for unlimited (JS `reconnectionAttempts`).
    public var reconnectionAttempts: Int? = CoreDefaults.options.reconnectionAttempts.map { Int($0) }
    /// First reconnection delay (JS `reconnectionDelay`).
    public var reconnectionDelay: Duration = .milliseconds(CoreDefaults.options.reconnectionDelayMs)
    /// Longest reconnection delay (JS `reconnectionDelayMax`).
    public var reconnectionDelayMax: Duration = .milliseconds(CoreDefaults.options.reconnectionDelayMaxMs)
    /// Jitter of the reconnection delay, 0 to 1 (JS `randomizationFactor`).
    public var randomizationFactor: Double = CoreDefaults.options.randomizationFactor
    /// An extra CA certificate (PEM) trusted beside the system roots.
    public var caCertificatePEM: String? = nil
    /// Certificate pinning: public-key pins `sha256/<base64>` (the SHA-256 of a certificate's
    /// SubjectPublicKeyInfo, as TrustKit and OkHttp write them). Normal verification must pass
    /// and one certificate of the verified chain (the server's, an intermediate, or the
    /// trusted root) must hold one of these keys, else connecting throws
    /// ``FerrioError/certificatePinMismatch(seen:)``. Pin a backup key too, so a certificate
    /// can be renewed without an app update.
    public var certificatePins: [String] = []
    /// A client certificate chain (PEM) for servers that require mutual TLS; with
    /// ``clientKeyPEM``.
    public var clientCertificatePEM: String? = nil
    /// The private key (PEM: PKCS#8, RSA or EC) of ``clientCertificatePEM``.
    public var clientKeyPEM: String? = nil
    /// Development only: accept any server certificate (self-signed, expired, another
    /// host's). The connection is then encrypted but not authenticated; the native library
    /// logs a warning on every connection. Prefer ``caCertificatePEM`` with a development CA.
    public var insecureTrustAllCertificates: Bool = false
    /// The auth payload of every namespace (JS `auth`): an object.
    public var auth: [String: JSONValue]? = nil
    /// Ask the server to compress polling responses (gzip, deflate) and WebSocket messages
    /// (permessage-deflate, when the server accepts it); the size limit counts the inflated
    /// bytes.
    public var compression: Bool = CoreDefaults.options.compression
    /// Servers tried, in order, when the URL cannot be reached: on the first connection and on
    /// every reconnection attempt, each with ``timeout``.
    public var fallbackURLs: [String] = []
    /// The proxy of both transports (polling and WebSocket, the upgrade included), as a URL:
    /// `http://user:pass@proxy.corp:3128` (CONNECT, or plain proxying of polling to `http://`
    /// servers), `socks5h://host:1080` (SOCKS5, the proxy resolves the server's name) or
    /// `socks5://host:1080`. `nil`: see ``proxyFromEnvironment``. A proxy that cannot be used
    /// makes `connect()` throw ``FerrioError/proxy(kind:proxy:message:)`` naming it.
    public var proxy: String? = nil
    /// Without ``proxy``: read the environment variables `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY` (lower case first) as curl does, or connect directly
    /// (`false`). The system proxy settings of Apple platforms are not read: pass them as
    /// ``proxy``.
    public var proxyFromEnvironment: Bool = CoreDefaults.options.proxyFromEnvironment
    /// Called before every reconnection attempt with its number (from 1); returns fresh
    /// settings, such as a refreshed token in ``ReconnectUpdate/auth``. It runs while a thread
    /// of the native library waits for it; it has ``reconnectHookTimeout``
    /// to answer, after which the attempt fails and the next one is scheduled.
    public var beforeReconnect: (@Sendable (Int) async -> ReconnectUpdate)? = nil
    /// Emits the offline buffer holds at most while a namespace is not connected.
    public var maxBufferedEmits: UInt64 = CoreDefaults.options.maxBufferedEmits
    /// Bytes (on the wire) the offline buffer holds at most.
    public var maxBufferedBytes: UInt64 = CoreDefaults.options.maxBufferedBytes
    /// What a full offline buffer does with a new emit.
    public var bufferPolicy: BufferPolicy = BufferPolicy(CoreDefaults.options.bufferPolicy)
    /// Tries per emit beyond the first, for at-least-once delivery (JS `retries`), in every
    /// socket of the manager. With retries, a socket's emits go one at a time through an
    /// ordered queue, each waiting for the server's acknowledgement (``ackTimeout`` per try)
    /// and sent again when none comes (after a reconnection too): the server must acknowledge
    /// every event, and may see one twice. `0` (the default): at most once.
    public var retries: Int = Int(CoreDefaults.options.retries)
    /// The event ``Socket/joinRoom(_:)`` emits with the room's name (the server's handler
    /// joins it).
    public var roomJoinEvent: String = CoreDefaults.options.roomJoinEvent
    /// The event ``Socket/leaveRoom(_:)`` emits with the room's name.
    public var roomLeaveEvent: String = CoreDefaults.options.roomLeaveEvent
    /// When the first transport cannot be opened, try the next one (JS `tryAllTransports`): a
    /// blocked WebSocket falls back to polling.
    public var tryAllTransports: Bool = CoreDefaults.options.tryAllTransports
    /// Reconnect a namespace after the server disconnected it (`io server disconnect`).
    public var reconnectOnServerDisconnect: Bool = CoreDefaults.options.reconnectOnServerDisconnect
    /// Time ``beforeReconnect`` has to answer before each reconnection attempt.
    public var reconnectHookTimeout: Duration = .milliseconds(CoreDefaults.options.reconnectHookTimeoutMs)
    // Size limits: the core checks them when a `Manager` is made, and throws
    // `FerrioError.invalidOption` naming one that is 0 where zero would refuse everything.
    /// Largest HTTP body or WebSocket message accepted from the server, counted decompressed: a
    /// larger one ends the connection (`message too large`), then reconnection follows.
    public var maxIncomingBytes: UInt64 = CoreDefaults.options.maxIncomingBytes
    /// Most packets in one polling response: a response over it is refused whole and ends the
    /// connection (`message too large`).
    public var maxPayloadPackets: UInt64 = CoreDefaults.options.maxPayloadPackets
    /// Most bytes the WebSocket holds for a server that does not read them: past it the connection
    /// ends (`write stalled`).
    public var maxWriteBufferBytes: UInt64 = CoreDefaults.options.maxWriteBufferBytes
    /// Most cookies kept from one host (the cookie jar of sticky sessions).
    public var maxCookiesPerHost: UInt64 = CoreDefaults.options.maxCookiesPerHost
    /// Most bytes of the cookies kept from one host.
    public var maxCookieBytesPerHost: UInt64 = CoreDefaults.options.maxCookieBytesPerHost
    /// Most attachments one incoming binary packet may announce.
    public var maxIncomingAttachments: UInt64 = CoreDefaults.options.maxIncomingAttachments
    /// Largest single incoming attachment, in bytes.
    public var maxIncomingAttachmentBytes: UInt64 = CoreDefaults.options.maxIncomingAttachmentBytes
    /// Longest incoming packet text, in bytes.
    public var maxIncomingPacketBytes: UInt64 = CoreDefaults.options.maxIncomingPacketBytes
    /// Most bytes of all the attachments of one incoming packet together.
    public var maxIncomingBinaryBytes: UInt64 = CoreDefaults.options.maxIncomingBinaryBytes
    /// Most JSON values (each number, string, array, object...) in one incoming packet.
    public var maxIncomingJsonValues: UInt64 = CoreDefaults.options.maxIncomingJsonValues
    /// Most binary attachments in one outgoing packet (the server's `maxAttachments`).
    public var maxOutgoingAttachments: UInt64 = CoreDefaults.options.maxOutgoingAttachments
    /// Capacity of the native queue of emits to the connection.
    public var commandCapacity: UInt64 = CoreDefaults.options.commandCapacity
    /// Capacity of each namespace's native queue of incoming events.
    public var incomingCapacity: UInt64 = CoreDefaults.options.incomingCapacity
    /// Most bytes of events waiting in each namespace's incoming queue.
    public var maxIncomingQueueBytes: UInt64 = CoreDefaults.options.maxIncomingQueueBytes
    /// Most events a namespace keeps when the server sends them before its CONNECT reply; the rest
    /// are dropped (the native library logs how many).
    public var maxPreconnectEvents: UInt64 = CoreDefaults.options.maxPreconnectEvents
    /// Most bytes of the events kept before the CONNECT reply (see ``maxPreconnectEvents``).
    public var maxPreconnectBytes: UInt64 = CoreDefaults.options.maxPreconnectBytes

    public init() {}

    /// Options changed by `configure`: `ClientOptions { $0.transports = [.websocket] }`.
    public init(_ configure: (inout ClientOptions) -> Void) {
        configure(&self)
    }

    func native(url: String) throws -> FerrioUniFFI.ClientOptions {
        FerrioUniFFI.ClientOptions(
            url: url,
            path: path,
            query: query,
            extraHeaders: extraHeaders,
            transports: transports.map(\.native),
            upgrade: upgrade,
            serverVersion: serverVersion.native,
            timeoutMs: timeout.milliseconds,
            ackTimeoutMs: ackTimeout.milliseconds,
            reconnection: reconnection,
            reconnectionAttempts: reconnectionAttempts.map { UInt32(clamping: $0) },
            reconnectionDelayMs: reconnectionDelay.milliseconds,
            reconnectionDelayMaxMs: reconnectionDelayMax.milliseconds,
            randomizationFactor: randomizationFactor,
            caCertPem: caCertificatePEM,
            authJson: try auth.map(authJSON),
            compression: compression,
            fallbackUrls: fallbackURLs,
            certificatePins: certificatePins,
            clientCertPem: clientCertificatePEM,
            clientKeyPem: clientKeyPEM,
            dangerAcceptInvalidCerts: insecureTrustAllCertificates,
            proxy: proxy,
            proxyFromEnvironment: proxyFromEnvironment,
            maxBufferedEmits: maxBufferedEmits,
            maxBufferedBytes: maxBufferedBytes,
            bufferPolicy: bufferPolicy.native,
            retries: UInt32(clamping: retries),
            roomJoinEvent: roomJoinEvent,
            roomLeaveEvent: roomLeaveEvent,
            tryAllTransports: tryAllTransports,
            reconnectOnServerDisconnect: reconnectOnServerDisconnect,
            reconnectHookTimeoutMs: reconnectHookTimeout.milliseconds,
            maxIncomingBytes: maxIncomingBytes,
            maxPayloadPackets: maxPayloadPackets,
            maxWriteBufferBytes: maxWriteBufferBytes,
            maxCookiesPerHost: maxCookiesPerHost,
            maxCookieBytesPerHost: maxCookieBytesPerHost,
            maxIncomingAttachments: maxIncomingAttachments,
            maxIncomingAttachmentBytes: maxIncomingAttachmentBytes,
            maxIncomingPacketBytes: maxIncomingPacketBytes,
            maxIncomingBinaryBytes: maxIncomingBinaryBytes,
            maxIncomingJsonValues: maxIncomingJsonValues,
            maxOutgoingAttachments: maxOutgoingAttachments,
            commandCapacity: commandCapacity,
            incomingCapacity: incomingCapacity,
            maxIncomingQueueBytes: maxIncomingQueueBytes,
            maxPreconnectEvents: maxPreconnectEvents,
            maxPreconnectBytes: maxPreconnectBytes
        )
    }
}

/// The core's defaults, read once through the native library: none is written in Swift.
enum CoreDefaults {
    static let options = FerrioUniFFI.defaultClientOptions(url: "")
}

/// The JSON text of an auth payload.
func authJSON(_ auth: [String: JSONValue]) throws -> String {
    let (text, attachments) = try Codec.encode([JSONValue.object(auth)])
    guard attachments.isEmpty else { throw FerrioError.invalidOption("auth cannot carry binary data") }
    // `[{...}]` → `{...}`
    return String(text.dropFirst().dropLast())
}

extension Duration {
    /// Whole milliseconds, at least 0.
    var milliseconds: UInt64 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return ms < 0 ? 0 : UInt64(ms)
    }
}
