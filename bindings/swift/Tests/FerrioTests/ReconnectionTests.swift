import Foundation
import Testing
@testable import Ferrio

/// Tests that restart the server or that the server's broadcasts to every client would
/// disturb: against a server of their own, one at a time.
@Suite("On a server of their own, one test at a time", .serialized)
struct IsolatedTests {}

extension IsolatedTests {
@Suite("Reconnection and buffering")
struct ReconnectionTests {
    @Test("the client reconnects after a server restart, with a new id")
    func reconnectsAfterAServerRestart() async throws {
        let server = TestServer.restartable
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        try await withClient(
            server.url,
            options: fastReconnection { $0.transports = [.websocket] },
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            _ = try await connects.next()
            let firstID = client.id
            async let restart = server.control("restart", ["delayMs": 300])
            #expect(try await reasons.next() == .transportClose)
            _ = try await restart
            _ = try await connects.next()
            #expect(client.isConnected)
            #expect(client.id != firstID)
            #expect(try await client.socket.emitWithAck("echo", "again").values == ["again"])
            let stats = try await server.control("stats")
            #expect((stats["restarts"]?.intValue ?? 0) >= 1)
        }
    }

    @Test("beforeReconnect runs before every attempt and the server sees its fresh token")
    func beforeReconnectGivesAFreshToken() async throws {
        let server = TestServer.restartable
        let attempts = Recorder<Int>()
        let welcomes = Recorder<Arguments>()
        let options = fastReconnection {
            $0.transports = [.websocket]
            $0.auth = ["token": "secret"]
            $0.beforeReconnect = { attempt in
                attempts.record(attempt)
                return ReconnectUpdate(auth: ["token": "fresh"])
            }
        }
        try await withClient(
            server.url + "/auth",
            options: options,
            prepare: { client in client.socket.on("welcome") { welcomes.record($0.arguments) } }
        ) { client in
            #expect(try await welcomes.next().values == ["secret"])
            #expect(attempts.count == 0)
            try await server.control("setToken", ["token": "fresh"])
            try await server.control("restart", ["delayMs": 200])
            #expect(try await welcomes.next().values == ["fresh"])
            #expect(try await attempts.next() == 1)
        }
    }

    @Test("emits while reconnecting are buffered and sent in order after reconnection")
    func emitsWhileReconnectingAreBuffered() async throws {
        let server = TestServer.restartable
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        try await withClient(
            server.url,
            options: fastReconnection { $0.transports = [.websocket] },
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            _ = try await connects.next()
            try await server.control("clear")
            async let restart = server.control("restart", ["delayMs": 500])
            _ = try await reasons.next()
            for i in 0..<3 {
                try await client.socket.emit("message", "buffered", i)
            }
            _ = try await restart
            _ = try await connects.next()
            let events = try await server.control(
                "waitForEvent", ["nsp": "/", "event": "message", "count": 3, "timeoutMs": 10000])
            #expect(events["events"]?.arrayValue?.compactMap { $0["args"] } == [
                ["buffered", 0], ["buffered", 1], ["buffered", 2],
            ])
        }
    }

    @Test("emits before the namespace is connected are sent once it is")
    func emitsBeforeConnectArriveAfter() async throws {
        let server = TestServer.restartable
        let manager = try Manager(url: server.url)
        let socket = try manager.socket(forNamespace: "/slow")
        try await socket.emit("early", "first")
        try await socket.emit("early", "second")
        #expect(!socket.isConnected)
        try await socket.connect()
        let events = try await server.control(
            "waitForEvent", ["nsp": "/slow", "event": "early", "count": 2, "timeoutMs": 10000])
        let mine = events["events"]?.arrayValue?.filter { $0["id"]?.stringValue == socket.id }
        #expect(mine?.compactMap { $0["args"] } == [["first"], ["second"]])
        await manager.close()
    }
}

@Suite("Acknowledgements the server asks for")
struct ServerAckTests {
    @Test("an acknowledgement carries binary data, and is sent only once")
    func acknowledgementCarriesBinaryOnce() async throws {
        let server = TestServer.restartable
        let second = Recorder<FerrioError?>()
        try await withClient(server.url, prepare: { client in
            client.socket.on("manual") { event in
                try event.acknowledge(["by": Data([7])])
                do {
                    try event.acknowledge("again")
                    second.record(nil)
                } catch {
                    second.record(error as? FerrioError)
                }
            }
        }) { _ in
            let answer = try await server.control(
                "emitWithAck", ["event": "manual", "args": [], "timeoutMs": 5000])
            #expect(answer["responses"] == [["by": ["$binary": "Bw=="]]])
            #expect(try await second.next() == .alreadyAcknowledged)
        }
    }

    @Test("ending an iteration unregisters its stream, so unanswered requests are released")
    func endingAnIterationUnregistersTheStream() async throws {
        let server = TestServer.restartable
        try await withClient(server.url) { client in
            let socket = client.socket
            let consumer = Task {
                for await event in socket.events(named: "manual") {
                    try event.acknowledge("from the stream")
                    break
                }
            }
            try await until("the stream to be registered") { socket.hub.subscriberCount == 1 }
            let first = try await server.control(
                "emitWithAck", ["event": "manual", "args": [], "timeoutMs": 5000])
            #expect(first["responses"] == ["from the stream"])
            try await consumer.value
            try await until("the stream to be unregistered") { socket.hub.subscriberCount == 0 }
            // Nobody listens any more: the socket answers with an empty acknowledgement by
            // itself (unanswered, the server would report its 5 s timeout as an error).
            let second = try await server.control(
                "emitWithAck", ["event": "manual", "args": [], "timeoutMs": 5000])
            #expect(second["error"] == nil)
        }
    }
}
}
