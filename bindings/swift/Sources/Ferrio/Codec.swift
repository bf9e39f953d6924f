import Foundation

// Arguments across the native boundary: the JSON text of an array in which every binary
// node is `{"_placeholder":true,"num":K}`, its bytes in `attachments[K]` (the Socket.IO wire
// convention, which ferrio-ffi speaks too). Foundation's JSON coders do the work; `Data`
// goes through their data strategies, which write and read the placeholders.

extension CodingUserInfoKey {
    /// The attachments a decoder resolves placeholders against (an `AttachmentBox`).
    static let ferrioAttachments = CodingUserInfoKey(rawValue: "dev.ferrio.attachments")!
}

enum PlaceholderKey: String, CodingKey {
    case placeholder = "_placeholder"
    case num
}

/// Attachments collected while encoding, or resolved while decoding.
final class AttachmentBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Data]

    init(_ items: [Data] = []) {
        self.items = items
    }

    /// Appends `data`; returns its number.
    func append(_ data: Data) -> Int {
        lock.withLock {
            items.append(data)
            return items.count - 1
        }
    }

    var all: [Data] {
        lock.withLock { items }
    }

    /// The bytes of the placeholder in `container`; `nil` if it is not a placeholder.
    func resolve(_ container: KeyedDecodingContainer<PlaceholderKey>) throws -> Data? {
        guard (try? container.decode(Bool.self, forKey: .placeholder)) == true,
            let num = try? container.decode(Int.self, forKey: .num)
        else { return nil }
        return try lock.withLock {
            guard items.indices.contains(num) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .num, in: container,
                    debugDescription: "placeholder \(num) has no attachment")
            }
            return items[num]
        }
    }
}

/// Several values encoded as one JSON array.
struct EncodableList: Encodable {
    let values: [any Encodable]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for value in values {
            try container.encode(value)
        }
    }
}

enum Codec {
    /// The JSON text and attachments of `values`, one argument each.
    static func encode(_ values: [any Encodable]) throws -> (String, [Data]) {
        if values.isEmpty { return ("[]", []) }
        let attachments = AttachmentBox()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dataEncodingStrategy = .custom { data, encoder in
            let num = attachments.append(data)
            var container = encoder.container(keyedBy: PlaceholderKey.self)
            try container.encode(true, forKey: .placeholder)
            try container.encode(num, forKey: .num)
        }
        do {
            let text = try encoder.encode(EncodableList(values: values))
            return (String(decoding: text, as: UTF8.self), attachments.all)
        } catch {
            throw FerrioError.encoding(String(describing: error))
        }
    }

    /// A decoder of text written by `encode` or by the native layer.
    static func decoder(attachments: [Data]) -> JSONDecoder {
        let box = AttachmentBox(attachments)
        let decoder = JSONDecoder()
        decoder.userInfo[.ferrioAttachments] = box
        decoder.dataDecodingStrategy = .custom { decoder in
            let container = try decoder.container(keyedBy: PlaceholderKey.self)
            guard let data = try box.resolve(container) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath,
                          debugDescription: "expected binary data (a placeholder)"))
            }
            return data
        }
        return decoder
    }

    /// The values of the JSON array `text`.
    static func decode(_ text: String, attachments: [Data]) throws -> [JSONValue] {
        do {
            return try decoder(attachments: attachments)
                .decode([JSONValue].self, from: Data(text.utf8))
        } catch {
            throw FerrioError.decoding(String(describing: error))
        }
    }
}
