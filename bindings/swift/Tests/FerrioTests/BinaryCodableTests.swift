import Foundation
import Testing
@testable import Ferrio

struct Upload: Codable, Equatable, Sendable {
    struct Part: Codable, Equatable, Sendable {
        var index: Int
        var bytes: Data
    }
    var name: String
    var size: Double
    var tags: [String]
    var parts: [Part]
    var note: String?
}

@Suite("Binary data and Codable payloads")
struct BinaryCodableTests {
    @Test("Data nested in arguments travels as binary attachments, both ways")
    func dataNestedInArgumentsTravelsAsBinary() async throws {
        let server = TestServer.shared
        let back = Recorder<[JSONValue]>()
        let nested = Recorder<[JSONValue]>()
        try await withClient(
            options: ClientOptions { $0.transports = [.websocket] },
            prepare: { client in
                client.socket.on("message-back") { event in back.record(event.arguments.values) }
                client.socket.on("nestedbin") { event in nested.record(event.arguments.values) }
            }
        ) { client in
            let socket = client.socket
            let payload: JSONValue = ["deep": [.binary(Data([3])), ["x": .binary(Data([4, 5]))]]]
            try await socket.emit("message", Data([1, 2]), payload)
            #expect(try await back.next() == [.binary(Data([1, 2])), payload])
            let received = try await server.control("received", ["nsp": "/"])
            let mine = received["events"]?.arrayValue?.last {
                $0["event"] == "message" && $0["id"]?.stringValue == client.id
            }
            #expect(mine?["args"]?[0] == ["$binary": "AQI="])
            try await socket.emit("getNestedBin")
            #expect(try await nested.next() == [
                .binary(Data([1, 2, 3])),
                ["nested": ["deep": [.binary(Data([4, 5]))]], "text": "x"],
            ])
            let empty = try await socket.emitWithAck("echo", [Data(), Data([0xff])])
            #expect(empty.values == [[.binary(Data()), .binary(Data([0xff]))]])
        }
    }

    @Test("Codable values round trip through the server, Data fields as binary")
    func codableValuesRoundTrip() async throws {
        let upload = Upload(
            name: "a.bin", size: 2.5, tags: ["x", "ü"],
            parts: [.init(index: 0, bytes: Data([0, 1, 2])), .init(index: 1, bytes: Data())],
            note: nil)
        let typed = Recorder<Upload>()
        try await withClient(prepare: { client in
            client.socket.on("message-back", as: Upload.self) { typed.record($0) }
        }) { client in
            let reply = try await client.socket.emitWithAck("echo", upload, 7)
            #expect(try reply.decode(Upload.self) == upload)
            #expect(try reply.decode(Int.self, at: 1) == 7)
            #expect(reply[0]["parts"]?[0]?["bytes"] == .binary(Data([0, 1, 2])))
            #expect(throws: FerrioError.self) { try reply.decode(Upload.self, at: 1) }
            #expect(throws: FerrioError.self) { try reply.decode(Upload.self, at: 2) }
            try await client.socket.emit("message", upload)
            #expect(try await typed.next() == upload)
            let many = try await client.socket.emitWithAck("echo", 1, 2, 3)
            #expect(try many.decodeAll(Int.self) == [1, 2, 3])
        }
    }

    @Test("arguments are written as JSON with placeholders and read back (no server)")
    func codecRoundTripsWithoutAServer() throws {
        let object: JSONValue = ["k": .binary(Data([2, 3]))]
        let (text, attachments) = try Codec.encode([Data([1]), object, "s"])
        #expect(text == #"[{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}},"s"]"#)
        #expect(attachments == [Data([1]), Data([2, 3])])
        let arguments = try Arguments(text: text, attachments: attachments)
        let expected: [JSONValue] = [.binary(Data([1])), object, "s"]
        #expect(arguments.values == expected)
        #expect(throws: FerrioError.self) {
            try Arguments(text: #"[{"_placeholder":true,"num":5}]"#, attachments: [])
        }
        let numbers = try Arguments(text: "[1, 1.5, true, -9223372036854775808, null]", attachments: [])
        let expectedNumbers: [JSONValue] = [.int(1), .double(1.5), .bool(true), .int(Int64.min), .null]
        #expect(numbers.values == expectedNumbers)
    }
}
