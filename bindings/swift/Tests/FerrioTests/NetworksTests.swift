import Foundation
import Testing
@testable import Ferrio

/// The URL of a server that is down: nothing can listen on port 0, so connecting is refused.
private let downURL = "http://127.0.0.1:0"

@Suite("Networks: fallback URLs and compression")
struct NetworksTests {
    @Test(
        "connect uses a fallback URL when the first server is down",
        arguments: [Transport.polling, Transport.websocket])
    func connectUsesAFallbackURL(transport: Transport) async throws {
        let options = ClientOptions {
            $0.transports = [transport]
            $0.fallbackURLs = [TestServer.shared.url]
        }
        let client = try Client(url: downURL, options: options)
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "via the fallback")
        #expect(reply.values == [.string("via the fallback")])
        await client.close()
    }

    @Test("connect throws when no server is reachable")
    func connectThrowsWhenNoServerIsReachable() async throws {
        let options = ClientOptions {
            $0.transports = [.websocket]
            $0.fallbackURLs = [downURL]
            $0.reconnection = false
        }
        let client = try Client(url: downURL, options: options)
        await #expect(throws: FerrioError.self) { try await client.connect() }
        await client.close()
    }

    /// The `Accept-Encoding` the server saw on the handshake of a polling client.
    private func acceptEncodingOfAPollingHandshake(compression: Bool) async throws -> String? {
        let options = ClientOptions {
            $0.transports = [.polling]
            $0.compression = compression
        }
        let client = try Client(url: TestServer.shared.url, options: options)
        try await client.connect()
        let handshakes = try await TestServer.shared.control("handshakes")
        let mine = handshakes["handshakes"]?.arrayValue?.first { $0["id"]?.stringValue == client.id }
        await client.close()
        return mine?["headers"]?["accept-encoding"]?.stringValue
    }

    @Test("polling asks for compressed responses by default")
    func pollingAsksForCompressionByDefault() async throws {
        #expect(ClientOptions().compression)
        let encoding = try await acceptEncodingOfAPollingHandshake(compression: true)
        #expect(encoding?.contains("gzip") == true)
    }

    @Test("polling asks for no compression when it is off")
    func pollingAsksForNoCompressionWhenOff() async throws {
        #expect(try await acceptEncodingOfAPollingHandshake(compression: false) == nil)
    }

    /// 400 chat messages: about 36 KB of repetitive JSON.
    private func chatHistory() -> JSONValue {
        .array(
            (0..<400).map { n in
                .object([
                    "id": .int(Int64(n)),
                    "room": .string("general"),
                    "user": .string(["alice", "bob", "carol"][n % 3]),
                    "text": .string("hello everyone, is the build green again?"),
                    "sentAt": .int(1_765_000_000_000 + Int64(n) * 1000),
                ])
            })
    }

    /// Echoes the chat history with an ack over WebSocket to the server with
    /// permessage-deflate and checks that it comes back intact; returns the
    /// `Sec-WebSocket-Extensions` the upgrade request offered and the extensions the server
    /// accepted.
    private func websocketEchoOfChatHistory(compression: Bool) async throws -> (String?, String?) {
        let server = TestServer.deflating
        let options = ClientOptions {
            $0.transports = [.websocket]
            $0.compression = compression
        }
        let client = try Client(url: server.url, options: options)
        try await client.connect()
        let history = chatHistory()
        let reply = try await client.socket.emitWithAck("echo", history)
        #expect(reply.values == [history])
        let clients = try await server.control("clients")
        let seen = clients["namespaces"]?["/"]?.arrayValue?.first { $0["id"]?.stringValue == client.id }
        let handshakes = try await server.control("handshakes")
        let mine = handshakes["handshakes"]?.arrayValue?.first { $0["id"]?.stringValue == client.id }
        await client.close()
        #expect(mine != nil, "the server recorded the handshake")
        return (mine?["headers"]?["sec-websocket-extensions"]?.stringValue, seen?["extensions"]?.stringValue)
    }

    @Test("websocket negotiates permessage-deflate by default")
    func websocketNegotiatesDeflateByDefault() async throws {
        let (offered, accepted) = try await websocketEchoOfChatHistory(compression: true)
        #expect(offered == "permessage-deflate; client_max_window_bits")
        #expect(accepted == "permessage-deflate")
    }

    @Test("websocket offers no extension when compression is off")
    func websocketOffersNoExtensionWhenOff() async throws {
        let (offered, accepted) = try await websocketEchoOfChatHistory(compression: false)
        #expect(offered == nil)
        #expect(accepted == "")
    }
}
