import Foundation
internal import FerrioUniFFI

/// What a failed connection of a namespace says (``Socket/onConnectError(perform:)``).
public struct ConnectErrorInfo: Sendable, Hashable {
    /// The server's message when it refused the namespace, else the client's.
    public let message: String
    /// The data the server's middleware attached to its refusal, if any.
    public let data: JSONValue?
}

/// Everything Ferrio throws.
public enum FerrioError: Error, Sendable, Hashable {
    /// The server refused the namespace (its middleware called `next(new Error(message))`):
    /// the error's `message` and its `data`, if any.
    case connect(message: String, data: JSONValue?)
    /// The server could not be reached or the connection failed while connecting.
    case connectionFailed(String)
    /// A proxy (`ClientOptions.proxy`, or the environment's) could not carry the connection:
    /// `kind` says why, `proxy` names it without its credentials, `message` says it all.
    case proxy(kind: ProxyKind, proxy: String, message: String)
    /// No handshake or namespace reply within the connect timeout.
    case connectTimeout
    /// The server's certificate chain holds none of the pinned keys
    /// (`ClientOptions.certificatePins`): `seen` lists the chain's keys (`sha256/<base64>`,
    /// the server's first). With reconnection on, each attempt fails the same way.
    case certificatePinMismatch(seen: [String])
    /// No acknowledgement within the timeout; the server may still have handled the event.
    case timeout
    /// The connection dropped before the reply arrived (or a buffered emit was discarded).
    case disconnected
    /// The manager (or client) is closed; make a new one.
    case closed
    /// The URL is not a usable `http(s)://` or `ws(s)://` URL.
    case invalidURL(String)
    /// An option is invalid (bad header, bad certificate, auth not an object).
    case invalidOption(String)
    /// The event name is reserved by Socket.IO (`connect`, `disconnect`, ...).
    case reservedEvent(String)
    /// A packet is larger than the server's `maxPayload`.
    case payloadTooLarge(size: UInt64, max: UInt64)
    /// More binary attachments than the server accepts.
    case tooManyAttachments(count: UInt64, max: UInt64)
    /// The namespace is offline and its offline buffer is full; retry after reconnection.
    case bufferFull
    /// An acknowledgement request was already answered.
    case alreadyAcknowledged
    /// Arguments could not be encoded (or the native layer refused them).
    case encoding(String)
    /// Arguments could not be decoded as the requested type.
    case decoding(String)
    /// A bug in Ferrio, caught at the native boundary.
    case `internal`(String)
}

extension FerrioError {
    /// Why a proxy could not carry the connection (``FerrioError/proxy(kind:proxy:message:)``).
    public enum ProxyKind: String, Sendable, Hashable {
        /// The proxy could not be reached (refused, DNS, timeout): check its address.
        case unreachable
        /// The proxy wants credentials, or refused the ones given (HTTP 407, SOCKS5).
        case authenticationFailed
        /// The proxy refused to open a connection to the server.
        case refused
        /// The proxy's answer is not HTTP CONNECT or SOCKS5 as expected.
        case protocolViolation
    }
}

extension FerrioError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .connect(let message, let data):
            return data.map { "connection refused: \(message) (\($0))" } ?? "connection refused: \(message)"
        case .connectionFailed(let detail): return "connection failed: \(detail)"
        case .proxy(_, _, let message): return message
        case .connectTimeout: return "connection timed out"
        case .certificatePinMismatch(let seen):
            return "no pinned key in the server's certificate chain (its keys: \(seen.joined(separator: ", ")))"
        case .timeout: return "no acknowledgement in time"
        case .disconnected: return "disconnected before the reply arrived"
        case .closed: return "the client is closed"
        case .invalidURL(let detail): return "invalid URL: \(detail)"
        case .invalidOption(let detail): return "invalid option: \(detail)"
        case .reservedEvent(let event): return "`\(event)` is a reserved event name"
        case .payloadTooLarge(let size, let max):
            return "packet of \(size) bytes exceeds the server's maxPayload of \(max) bytes"
        case .tooManyAttachments(let count, let max):
            return "\(count) binary attachments exceed the limit of \(max)"
        case .bufferFull: return "the offline buffer is full"
        case .alreadyAcknowledged: return "this acknowledgement was already sent"
        case .encoding(let detail): return "could not encode the arguments: \(detail)"
        case .decoding(let detail): return "could not decode the arguments: \(detail)"
        case .internal(let detail): return "internal error: \(detail)"
        }
    }
}

extension FerrioError {
    /// The Ferrio error for an error of the native layer; others become `.internal`.
    static func from(_ error: any Error) -> FerrioError {
        switch error {
        case let error as FerrioError: return error
        case let error as ConnectError: return from(error)
        case let error as EmitError: return from(error)
        case let error as AckError: return from(error)
        case let error as AckReplyError: return from(error)
        case let error as CallError: return from(error)
        default: return .internal(String(describing: error))
        }
    }

    static func from(_ error: ConnectError) -> FerrioError {
        switch error {
        case .InvalidUrl(let detail): return .invalidURL(detail)
        case .InvalidOption(let detail): return .invalidOption(detail)
        case .Transport(let detail): return .connectionFailed(detail)
        case .Proxy(let kind, let proxy, let detail):
            return .proxy(kind: ProxyKind(kind), proxy: proxy, message: detail)
        case .PinMismatch(let seen): return .certificatePinMismatch(seen: seen)
        case .Timeout: return .connectTimeout
        case .Rejected(let message, let dataJSON):
            let data = dataJSON.flatMap { try? Codec.decode("[\($0)]", attachments: []).first }
            return .connect(message: message, data: data)
        case .Disconnected(let reason):
            return .connectionFailed("disconnected while connecting: \(Ferrio.DisconnectReason(reason).rawValue)")
        case .ReconnectFailed(let attempts):
            return .connectionFailed("gave up after \(attempts) reconnection attempts")
        case .Closed: return .closed
        case .Panic(let detail): return .internal(detail)
        }
    }

    static func from(_ error: EmitError) -> FerrioError {
        switch error {
        case .ReservedEvent(let event): return .reservedEvent(event)
        case .PayloadTooLarge(let size, let max): return .payloadTooLarge(size: size, max: max)
        case .TooManyAttachments(let count, let max): return .tooManyAttachments(count: count, max: max)
        case .InvalidArgs(let detail): return .encoding(detail)
        case .BufferFull: return .bufferFull
        // Only the non-waiting emit reports it, and the socket then waits for room.
        case .QueueFull: return .internal("the outgoing queue is full")
        case .Closed: return .closed
        case .Panic(let detail): return .internal(detail)
        }
    }

    static func from(_ error: AckError) -> FerrioError {
        switch error {
        case .ReservedEvent(let event): return .reservedEvent(event)
        case .PayloadTooLarge(let size, let max): return .payloadTooLarge(size: size, max: max)
        case .TooManyAttachments(let count, let max): return .tooManyAttachments(count: count, max: max)
        case .InvalidArgs(let detail): return .encoding(detail)
        case .BufferFull: return .bufferFull
        case .Discarded, .Disconnected: return .disconnected
        case .Timeout: return .timeout
        case .Closed: return .closed
        case .Panic(let detail): return .internal(detail)
        }
    }

    static func from(_ error: AckReplyError) -> FerrioError {
        switch error {
        case .AlreadySent: return .alreadyAcknowledged
        case .InvalidArgs(let detail): return .encoding(detail)
        case .Panic(let detail): return .internal(detail)
        }
    }

    static func from(_ error: CallError) -> FerrioError {
        switch error {
        case .Resource(let detail): return .connectionFailed(detail)
        case .Panic(let detail): return .internal(detail)
        }
    }
}

extension FerrioError {
    /// Runs a native call, turning its error into a ``FerrioError``.
    static func native<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw FerrioError.from(error)
        }
    }

    /// Awaits a native call, turning its error into a ``FerrioError``.
    static func native<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw FerrioError.from(error)
        }
    }
}

extension FerrioError.ProxyKind {
    init(_ kind: ProxyErrorKind) {
        switch kind {
        case .unreachable: self = .unreachable
        case .authenticationFailed: self = .authenticationFailed
        case .refused: self = .refused
        case .protocolViolation: self = .protocolViolation
        }
    }
}
