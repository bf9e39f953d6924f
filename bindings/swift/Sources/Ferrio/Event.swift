import Foundation
internal import FerrioUniFFI

/// An event a socket received: its name, its arguments and, when the server asked for one,
/// the way to acknowledge it.
///
/// Lifecycle events reach ``Socket/on(_:perform:)`` handlers too: `connect` (no
/// arguments), `disconnect` (the reason's string, e.g. `"transport close"`) and
/// `connect_error` (`{"message": ..., "data": ...}`).
public struct Event: Sendable {
    /// The namespace, e.g. `/`.
    public let namespace: String
    /// The event name.
    public let name: String
    /// The arguments, binary data in place.
    public let arguments: Arguments
    let responder: Responder?

    /// Whether the server waits for an acknowledgement (see ``acknowledge(_:)``).
    public var wantsAcknowledgement: Bool { responder != nil }

    /// Answers the server's acknowledgement request with `values` (`Data` anywhere travels
    /// as binary). Answer once; an event without a request ignores it.
    ///
    /// - Throws: ``FerrioError/alreadyAcknowledged``, ``FerrioError/encoding(_:)``.
    public func acknowledge(_ values: any Encodable...) throws {
        try acknowledge(with: values)
    }

    /// ``acknowledge(_:)`` with the values as an array.
    public func acknowledge(with values: [any Encodable]) throws {
        guard let responder else { return }
        let (text, attachments) = try Codec.encode(values)
        try responder.send(text, attachments)
    }

    /// Argument `index` decoded as `type` (see ``Arguments/decode(_:at:)``).
    public func decode<T: Decodable>(_ type: T.Type = T.self, at index: Int = 0) throws -> T {
        try arguments.decode(type, at: index)
    }
}

/// Answers one acknowledgement request of the server.
final class Responder: Sendable {
    private let request: AckRequest

    init(_ request: AckRequest) {
        self.request = request
    }

    func send(_ text: String, _ attachments: [Data]) throws {
        try FerrioError.native { try request.send(argsJson: text, attachments: attachments) }
    }
}
