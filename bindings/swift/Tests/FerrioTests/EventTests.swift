import Foundation
import Testing
@testable import Ferrio

@Suite("Events")
struct EventTests {
    @Test("events travel both ways with their arguments")
    func eventsTravelBothWays() async throws {
        let back = Recorder<[JSONValue]>()
        try await withClient(
            options: ClientOptions { $0.transports = [.websocket] },
            prepare: { $0.socket.on("message-back") { event in back.record(event.arguments.values) } }
        ) { client in
            let object: JSONValue = ["a": [true, nil]]
            try await client.socket.emit("message", "hello", 1, object, 2.5)
            #expect(try await back.next() == ["hello", 1, ["a": [true, nil]], 2.5])
            try await client.socket.emit("message", "one")
            #expect(try await back.next() == ["one"])
            try await client.socket.emit("message")
            #expect(try await back.next() == [])
        }
    }

    @Test("server events reach their handler in order, with UTF-8 intact")
    func serverEventsReachTheirHandlerInOrder() async throws {
        let texts = Recorder<String>()
        try await withClient(prepare: { client in
            client.socket.on("takeUtf8") { event in texts.record(try event.decode(String.self)) }
        }) { client in
            try await client.socket.emit("getUtf8")
            var received: [String] = []
            for _ in 0..<4 { received.append(try await texts.next()) }
            #expect(received == ["てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string"])
        }
    }

    @Test("the catch-all handler receives events without a handler of their own; off removes handlers")
    func catchAllAndOff() async throws {
        let all = Recorder<String>()
        let hi = Recorder<String>()
        try await withClient { client in
            let socket = client.socket
            // Only "hi": tests run in parallel, and the server's broadcasts reach every client.
            socket.on("*") { event in if event.name == "hi" { all.record(event.name) } }
            let id = socket.on("hi") { event in hi.record(event.name) }
            try await socket.emit("hi")
            #expect(try await hi.next() == "hi")
            socket.off(id)
            try await socket.emit("hi")
            #expect(try await all.next() == "hi")
            socket.off("*")
            try await socket.emit("hi")
            #expect(try await socket.emitWithAck("echo", 1).values == [1])
            #expect(all.count == 1 && hi.count == 1)
        }
    }

    @Test("onAny receives every event before its handlers, beside the catch-all; off and offAny remove it")
    func onAnyReceivesEveryEvent() async throws {
        let seen = Recorder<String>()
        try await withClient { client in
            let socket = client.socket
            // Only this socket's replies: tests run in parallel, and broadcasts reach every client.
            let mine: Set<String> = ["hi", "message-back"]
            socket.on("hi") { _ in seen.record("on hi") }
            socket.on("*") { event in if mine.contains(event.name) { seen.record("* \(event.name)") } }
            let any = socket.onAny { event in if mine.contains(event.name) { seen.record("any \(event.name)") } }
            try await socket.emit("hi")
            #expect(try await seen.next() == "any hi")
            #expect(try await seen.next() == "on hi")
            try await socket.emit("message", 1)
            #expect(try await seen.next() == "any message-back")
            #expect(try await seen.next() == "* message-back")
            socket.off(any)
            try await socket.emit("hi")
            #expect(try await seen.next() == "on hi")
            socket.onAny { event in if mine.contains(event.name) { seen.record("second any \(event.name)") } }
            try await socket.emit("hi")
            #expect(try await seen.next() == "second any hi")
            #expect(try await seen.next() == "on hi")
            socket.offAny()
            try await socket.emit("hi")
            #expect(try await seen.next() == "on hi")
            // Events are dispatched in order: once the ack is back, nothing else is on its way.
            #expect(try await socket.emitWithAck("echo", 1).values == [1])
            #expect(seen.count == 8)
        }
    }

    @Test("events can be iterated with for await, and the sequence ends when the client closes")
    func eventsCanBeIteratedWithForAwait() async throws {
        let server = TestServer.shared
        let client = try Client(url: server.url)
        try await client.connect()
        let events = client.socket.events(named: "news")
        let all = client.socket.events
        let sid = client.id!
        try await server.control("emit", ["event": "news", "args": [1, ["x": "y"]]])
        let event = try await within(.seconds(10), "news") {
            var iterator = events.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(event?.name == "news")
        #expect(event?.namespace == "/")
        #expect(event?.arguments.values == [1, ["x": "y"]])
        _ = sid
        await client.close()
        let rest = try await within(.seconds(10), "the end of the sequence") {
            var names: [String] = []
            for await event in all { names.append(event.name) }
            return names
        }
        #expect(rest.contains("news"))
    }

    @Test("a handler can disconnect its socket and close its manager without waiting for itself")
    func handlerCanDisconnectAndClose() async throws {
        let client = try Client(url: TestServer.shared.url)
        let done = Recorder<(closed: Bool, disconnecting: Duration)>()
        client.socket.on("message-back") { _ in
            let start = ContinuousClock.now
            await client.socket.disconnect()
            let disconnecting = ContinuousClock.now - start
            await client.manager.close()
            done.record((client.manager.isClosed, disconnecting))
        }
        try await client.connect()
        try await client.socket.emit("message", 1)
        // A close that waited for its own handler would never end: nothing would be recorded.
        let (closed, disconnecting) = try await done.next()
        #expect(closed)
        // A disconnect that waited for its own handler would return only at its 5 s bound;
        // one that does not wait returns once its command is queued.
        #expect(disconnecting < .seconds(5))
        await client.close()
    }

    @Test("many emits arrive in order")
    func manyEmitsArriveInOrder() async throws {
        try await withClient(options: ClientOptions { $0.transports = [.websocket] }) { client in
            for _ in 0..<3000 {
                try await client.socket.emit("countMe")
            }
            #expect(try await client.socket.emitWithAck("count").values == [3000])
        }
    }

    @Test("reserved events cannot be emitted")
    func reservedEventsCannotBeEmitted() async throws {
        try await withClient { client in
            await #expect(throws: FerrioError.reservedEvent("disconnect")) {
                try await client.socket.emit("disconnect")
            }
            await #expect(throws: FerrioError.reservedEvent("connect")) {
                try await client.socket.emitWithAck("connect")
            }
        }
    }
}
