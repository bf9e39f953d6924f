import Foundation
import Testing
@testable import Ferrio

/// The `args` of the events named `event` the server received in `/`, in arrival order.
private func received(_ server: TestServer, _ event: String) async throws -> [JSONValue] {
    let answer = try await server.control("received", ["nsp": "/"])
    return (answer["events"]?.arrayValue ?? [])
        .filter { $0["event"]?.stringValue == event }
        .compactMap { $0["args"] }
}

/// The `args` of the first `count` events named `event`, once that many arrived.
@discardableResult
private func waitForEvents(_ server: TestServer, _ event: String, _ count: Int) async throws -> [JSONValue] {
    let answer = try await server.control(
        "waitForEvent", ["nsp": "/", "event": .string(event), "count": .int(Int64(count)), "timeoutMs": 10000])
    return (answer["events"]?.arrayValue ?? []).compactMap { $0["args"] }
}

/// Options that reconnect only when asked (``Client/reconnectNow()``).
private func patient() -> ClientOptions {
    ClientOptions {
        $0.transports = [.websocket]
        $0.reconnectionDelay = .seconds(3600)
        $0.reconnectionDelayMax = .seconds(3600)
        $0.randomizationFactor = 0
    }
}

extension IsolatedTests {
@Suite("Room intents, volatile emits and retries")
struct RoomsVolatileRetriesTests {
    @Test("a room is joined again after a reconnection that did not recover the session, until left")
    func roomIsJoinedAgainUntilLeft() async throws {
        let server = TestServer.restartable
        try await server.control("clear")
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        let news = Recorder<[JSONValue]>()
        try await withClient(
            server.url,
            options: fastReconnection { $0.transports = [.websocket] },
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
                client.socket.on("room-news") { news.record($0.arguments.values) }
            }
        ) { client in
            _ = try await connects.next()
            await client.socket.joinRoom("lobby")
            #expect(try await waitForEvents(server, "join", 1) == [["lobby"]])
            let firstID = client.id
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            _ = try await connects.next()
            #expect(!client.recovered)
            #expect(client.id != firstID)
            // The server forgot the room with the old session: the client joined again.
            #expect(try await waitForEvents(server, "join", 2) == [["lobby"], ["lobby"]])
            try await server.control(
                "emitToRoom", ["nsp": "/", "room": "lobby", "event": "room-news", "args": ["hello lobby"]])
            #expect(try await news.next() == ["hello lobby"])

            await client.socket.leaveRoom("lobby")
            #expect(try await waitForEvents(server, "leave", 1) == [["lobby"]])
            let clients = try await server.control("clients")
            let rooms = clients["namespaces"]?["/"]?[0]?["rooms"]?.arrayValue ?? []
            #expect(rooms == [JSONValue.string(client.id ?? "")])
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            _ = try await connects.next()
            // The echo follows any join of the new connection: there was none.
            _ = try await client.socket.emitWithAck("echo", "after")
            #expect(try await received(server, "join").count == 2)
        }
    }

    @Test("a volatile emit is dropped while disconnected, a plain one is buffered and delivered")
    func volatileIsDroppedWhileDisconnected() async throws {
        let server = TestServer.restartable
        try await server.control("clear")
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        try await withClient(
            server.url,
            options: patient(),
            prepare: { client in
                client.socket.on("connect") { _ in connects.record("connect") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            _ = try await connects.next()
            try await client.socket.emitVolatile("message", "live")
            try await waitForEvents(server, "message", 1)
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            try await client.socket.emitVolatile("message", "dropped")
            try await client.socket.emit("message", "buffered")
            // The core takes emits in order: once the plain one is buffered, the volatile one
            // before it was dropped (it is not counted).
            try await until("1 buffered emit") { client.buffered.emits == 1 }
            await client.reconnectNow()
            _ = try await connects.next()
            _ = try await client.socket.emitWithAck("echo", "barrier")
            #expect(try await received(server, "message") == [["live"], ["buffered"]])
        }
    }

    @Test("an emit the server never acknowledges is sent once plus retries times")
    func unacknowledgedEmitIsRetried() async throws {
        let server = TestServer.restartable
        try await server.control("clear")
        let options = fastReconnection {
            $0.transports = [.websocket]
            $0.retries = 2
            $0.ackTimeout = .milliseconds(300)
        }
        try await withClient(server.url, options: options) { client in
            // `countMe` has no acknowledgement: every try times out.
            await #expect(throws: FerrioError.timeout) {
                _ = try await client.socket.emitWithAck("countMe", 1)
            }
            #expect(try await waitForEvents(server, "countMe", 3).count == 3)
            _ = try await client.socket.emitWithAck("echo", "after")
            #expect(try await received(server, "countMe").count == 3)
        }
    }

    @Test("with retries, an emit cut off with the transport is sent again, and those behind it arrive")
    func retriesAcrossACut() async throws {
        let server = TestServer.restartable
        try await server.control("clear")
        let greetings = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        let options = fastReconnection {
            $0.transports = [.websocket]
            $0.retries = 2
            $0.ackTimeout = .seconds(1)
        }
        try await withClient(
            server.url,
            options: options,
            prepare: { client in
                client.socket.on("hi") { _ in greetings.record("hi") }
                client.socket.onDisconnect { reasons.record($0) }
            }
        ) { client in
            // `hi` is answered with an event, never acknowledged: it holds the queue.
            try await client.socket.emit("hi")
            _ = try await greetings.next()
            for n in 0..<5 {
                try await client.socket.emit("echo", n)
            }
            try await server.control("closeTransport")
            #expect(try await reasons.next() == .transportClose)
            // The try cut off counts; the next one goes out on the new connection.
            _ = try await greetings.next()
            let last = try await client.socket.emitWithAck("echo", "last", timeout: .seconds(30))
            #expect(last.values == ["last"])
            let echoed = try await received(server, "echo").compactMap { $0[0] }
            for n in 0..<5 {
                #expect(echoed.contains(.int(Int64(n))), "echo \(n) never arrived: \(echoed)")
            }
            #expect(try await received(server, "hi").count >= 2)
        }
    }

    @Test("the room events are the options' own")
    func roomEventsAreTheOptions() async throws {
        let server = TestServer.restartable
        try await server.control("clear")
        let options = ClientOptions {
            $0.transports = [.websocket]
            $0.roomJoinEvent = "echo"
            $0.roomLeaveEvent = "countMe"
        }
        try await withClient(server.url, options: options) { client in
            await client.socket.joinRoom("lobby")
            await client.socket.leaveRoom("lobby")
            let joins = try await waitForEvents(server, "echo", 1)
            let leaves = try await waitForEvents(server, "countMe", 1)
            #expect(joins == [["lobby"]])
            #expect(leaves == [["lobby"]])
        }
    }

    @Test("the new options default to the core's")
    func optionsDefaultToTheCore() {
        let options = ClientOptions()
        #expect(options.retries == Int(CoreDefaults.options.retries))
        #expect(options.retries == 0)
        #expect(options.roomJoinEvent == CoreDefaults.options.roomJoinEvent)
        #expect(options.roomLeaveEvent == CoreDefaults.options.roomLeaveEvent)
        #expect(options.roomJoinEvent == "join")
    }
}
}

@Suite("The outgoing catch-all")
struct OutgoingTests {
    @Test("onAnyOutgoing sees every emit in order, and not the room intents")
    func seesEveryEmitInOrder() async throws {
        let seen = Recorder<[JSONValue]>()
        let options = ClientOptions { $0.transports = [.websocket] }
        try await withClient(
            options: options,
            prepare: { client in
                client.socket.onAnyOutgoing { seen.record([.string($0.name)] + $0.arguments.values) }
            }
        ) { client in
            try await client.socket.emit("message", 1)
            await client.socket.joinRoom("lobby")
            try await client.socket.emitVolatile("message", 2)
            try await client.socket.emit("message", ["data": JSONValue.binary(Data([1, 2]))])
            _ = try await client.socket.emitWithAck("echo", 3)
            for n in 0..<50 {
                try await client.socket.emit("countMe", n)
            }
            var expected: [[JSONValue]] = [
                ["message", 1], ["message", 2], ["message", ["data": .binary(Data([1, 2]))]], ["echo", 3],
            ]
            expected += (0..<50).map { ["countMe", .int(Int64($0))] }
            var got: [[JSONValue]] = []
            for _ in expected {
                got.append(try await seen.next())
            }
            #expect(got == expected)
        }
    }

    @Test("off and offAnyOutgoing stop the handlers")
    func offStopsTheHandlers() async throws {
        let first = Recorder<String>()
        let second = Recorder<String>()
        let third = Recorder<String>()
        try await withClient { client in
            let id = client.socket.onAnyOutgoing { first.record($0.name) }
            client.socket.onAnyOutgoing { second.record($0.name) }
            try await client.socket.emit("one")
            #expect(try await second.next() == "one")
            client.socket.off(id)
            try await client.socket.emit("two")
            // Both handlers run for each event, the first before the second.
            #expect(try await second.next() == "two")
            #expect(first.count == 1)

            client.socket.offAnyOutgoing()
            _ = try await client.socket.emitWithAck("echo", "unseen")
            client.socket.onAnyOutgoing { third.record($0.name) }
            try await client.socket.emit("message", "seen")
            #expect(try await third.next() == "message")
            #expect(second.count == 2)
            #expect(third.count == 1)
        }
    }
}
