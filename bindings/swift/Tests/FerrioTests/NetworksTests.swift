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
}
