import Foundation
import Testing
@testable import Ferrio

/// Options under which only `reconnectNow` brings a lost connection back: WebSocket, an hour
/// of reconnection delay and no jitter; `configure` sets the test's own on top.
private func waitingAnHour(_ configure: (inout ClientOptions) -> Void = { _ in }) -> ClientOptions {
    var options = ClientOptions {
        $0.transports = [.websocket]
        $0.reconnectionDelay = .seconds(3600)
        $0.reconnectionDelayMax = .seconds(3600)
        $0.randomizationFactor = 0
    }
    configure(&options)
    return options
}

extension IsolatedTests {
@Suite("reconnectNow and recovered sessions")
struct ReconnectNowTests {
    @Test("reconnectNow skips an hour of delay and the session is recovered")
    func reconnectNowSkipsTheDelayAndRecovers() async throws {
        let server = TestServer.recovering
        let connects = Recorder<Bool>()
        let reasons = Recorder<DisconnectReason>()
        let greetings = Recorder<String>()
        let options = waitingAnHour()
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

    @Test("emits while disconnected are counted, and clearing drops them")
    func emitsWhileDisconnectedAreCountedAndCleared() async throws {
        let server = TestServer.recovering
        try await server.control("clear")
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        let options = waitingAnHour()
        try await withClient(
            server.url,
            options: options,
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            _ = try await connects.next()
            try await until("an empty buffer") { client.buffered.emits == 0 }
            #expect(client.buffered == BufferedEmits(emits: 0, bytes: 0))
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            for i in 0..<3 {
                try await client.socket.emit("message", "dropped", i)
            }
            // The core counts the emits it has taken in: wait for them.
            try await until("3 buffered emits") { client.buffered.emits == 3 }
            #expect(client.buffered.bytes > 0)
            await client.clearBuffer()
            try await until("an empty buffer") { client.buffered.emits == 0 }
            #expect(client.buffered == BufferedEmits(emits: 0, bytes: 0))
            try await client.socket.emit("message", "kept")
            try await until("1 buffered emit") { client.buffered.emits == 1 }
            #expect(client.buffered.bytes > 0)
            await client.reconnectNow()
            _ = try await connects.next()
            // The cleared emits would have arrived first: only the one after the clearing did.
            let events = try await server.control(
                "waitForEvent", ["nsp": "/", "event": "message", "count": 1, "timeoutMs": 10000])
            #expect(events["events"]?.arrayValue?.compactMap { $0["args"] } == [["kept"]])
        }
    }

    @Test("a full buffer with the reject policy refuses with bufferFull")
    func fullBufferRejects() async throws {
        let server = TestServer.recovering
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        let options = waitingAnHour {
            $0.maxBufferedEmits = 2
            $0.bufferPolicy = .reject
        }
        try await withClient(
            server.url,
            options: options,
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            _ = try await connects.next()
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            try await client.socket.emit("message", "kept", 0)
            try await client.socket.emit("message", "kept", 1)
            try await until("2 buffered emits") { client.buffered.emits == 2 }
            await #expect(throws: FerrioError.bufferFull) {
                try await client.socket.emit("message", "refused")
            }
            #expect(client.buffered.emits == 2)
        }
    }

    @Test("the buffer options default to the core's")
    func bufferOptionsDefaultToTheCore() {
        let options = ClientOptions()
        #expect(options.maxBufferedEmits == CoreDefaults.options.maxBufferedEmits)
        #expect(options.maxBufferedBytes == CoreDefaults.options.maxBufferedBytes)
        #expect(options.bufferPolicy == .reject)
    }
}
}
