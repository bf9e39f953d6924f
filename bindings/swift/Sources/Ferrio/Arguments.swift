import Foundation

/// The arguments of an event or an acknowledgement: a collection of ``JSONValue``s, with
/// binary attachments in place, that also decodes into `Decodable` types.
///
/// ```swift
/// let reply = try await socket.emitWithAck("join", "lobby")
/// let room: Room = try reply.decode(Room.self)
/// ```
public struct Arguments: Sendable, RandomAccessCollection, Hashable {
    /// The values, in order.
    public let values: [JSONValue]
    let text: String
    let attachments: [Data]

    init(text: String, attachments: [Data]) throws {
        self.values = try Codec.decode(text, attachments: attachments)
        self.text = text
        self.attachments = attachments
    }

    public var startIndex: Int { values.startIndex }
    public var endIndex: Int { values.endIndex }
    public subscript(position: Int) -> JSONValue { values[position] }

    /// The first value; `nil` when there is none.
    public var value: JSONValue? { values.first }

    /// Argument `index` decoded as `type`; `Data` properties read binary attachments.
    ///
    /// - Throws: ``FerrioError/decoding(_:)`` when it is missing or does not match.
    public func decode<T: Decodable>(_ type: T.Type = T.self, at index: Int = 0) throws -> T {
        guard values.indices.contains(index) else {
            throw FerrioError.decoding("no argument \(index) (there are \(values.count))")
        }
        let decoder = Codec.decoder(attachments: attachments)
        decoder.userInfo[.ferrioIndex] = index
        do {
            return try decoder.decode(ArgumentAt<T>.self, from: Data(text.utf8)).value
        } catch {
            throw FerrioError.decoding(String(describing: error))
        }
    }

    /// All arguments decoded as one `type` each: `[T]`.
    public func decodeAll<T: Decodable>(_ type: T.Type = T.self) throws -> [T] {
        do {
            return try Codec.decoder(attachments: attachments).decode([T].self, from: Data(text.utf8))
        } catch {
            throw FerrioError.decoding(String(describing: error))
        }
    }
}

extension CodingUserInfoKey {
    /// Which element of the array `ArgumentAt` decodes.
    static let ferrioIndex = CodingUserInfoKey(rawValue: "dev.ferrio.index")!
}

/// `ArgumentAt`: decodes one element of a JSON array, skipping the ones before it.
private struct ArgumentAt<T: Decodable>: Decodable {
    let value: T

    init(from decoder: any Decoder) throws {
        let index = decoder.userInfo[.ferrioIndex] as? Int ?? 0
        var container = try decoder.unkeyedContainer()
        for _ in 0..<index {
            _ = try container.decode(JSONValue.self)
        }
        value = try container.decode(T.self)
    }
}
