import Foundation
import Testing
@testable import Ferrio

extension IsolatedTests {
@Suite("reconnectNow and recovered sessions")
struct ReconnectNowTests {
    @Test("reconnectNow skips an hour of delay and the session is recovered")
    func reconnectNowSkipsTheDelayAndRecovers() async throws {
        let server = TestServer.recovering
        let connects = Recorder<Bool>()
        let reasons = Recorder<DisconnectReason>()
        let greetings = Recorder<String>()
        let options = ClientOptions {
            $0.transports = [.websocket]
            $0.reconnectionDelay = .seconds(3600)
            $0.reconnectionDelayMax = .seconds(3600)
            $0.randomizationFactor = 0
        }
        try await withClient(
            server.url,
            options: options,
            prepare: { client in
                // The state is set before the event: the handler reads whether it recovered.
                let socket = client.socket
                client.socket.on("connect") { _ in connects.record(socket.recovered) }
                client.socket.onDisconnect { reasons.record($0) }
                client.socket.on("hi") { _ in greetings.record("hi") }
            }
        ) { client in
            #expect(try await connects.next() == false)
            #expect(!client.recovered)
            // Recovery needs an offset: the server gives one with each event.
            try await client.socket.emit("hi")
            _ = try await greetings.next()
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            await client.reconnectNow()
            #expect(try await connects.next() == true)
            #expect(client.isConnected)
            #expect(client.recovered)
        }
    }
}
}
