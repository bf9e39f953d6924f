import Foundation
import Testing
@testable import Ferrio

@Suite("Connecting")
struct ConnectionTests {
    @Test(
        "connects over each transport: polling, websocket, and polling upgraded to websocket",
        arguments: [
            ([Transport.polling], Transport.polling),
            ([Transport.websocket], Transport.websocket),
            ([Transport.polling, .websocket], Transport.websocket),
        ])
    func connectsOverEachTransport(transports: [Transport], expected: Transport) async throws {
        let server = TestServer.shared
        let client = try Client(url: server.url, options: ClientOptions { $0.transports = transports })
        try await client.connect()
        #expect(client.isConnected)
        try await until("the \(expected) transport") { client.manager.transport == expected }
        let reply = try await client.socket.emitWithAck("echo", "over \(expected)")
        #expect(reply.values == [.string("over \(expected)")])
        let clients = try await server.control("clients")
        let mine = clients["namespaces"]?["/"]?.arrayValue?.first { $0["id"]?.stringValue == client.id }
        #expect(mine?["transport"] == .string(expected.rawValue))
        await client.disconnect()
        #expect(!client.isConnected)
        // The connection closes once no namespace uses it; the manager stays open.
        try await until("the connection closes") { client.manager.transport == nil }
        #expect(!client.manager.isClosed)
        await client.close()
        #expect(client.manager.isClosed)
    }

    @Test("the connect handler runs before connect returns, and the socket has an id")
    func connectHandlerRunsBeforeConnectReturns() async throws {
        let connected = Recorder<String>()
        let client = try Client(url: TestServer.shared.url)
        client.socket.on("connect") { event in connected.record(event.name) }
        try await client.connect()
        #expect(connected.count == 1)
        #expect(client.id != nil)
        #expect(client.socket.namespace == "/")
        await client.close()
    }

    @Test("namespaces share one connection, each with its own auth and id")
    func namespacesShareOneConnection() async throws {
        let manager = try Manager(
            url: TestServer.shared.url, options: ClientOptions { $0.auth = ["token": "abc"] })
        let main = try manager.socket(forNamespace: "/")
        let custom = try manager.socket(forNamespace: "/custom")
        #expect(try manager.socket(forNamespace: "/custom") === custom)
        let auth = Recorder<Arguments>()
        custom.on("auth") { event in auth.record(event.arguments) }
        try await main.connect()
        try await custom.connect()
        #expect(try await auth.next().values == [["token": "abc"]])
        #expect(custom.id != nil && custom.id != main.id)
        #expect(try await custom.emitWithAck("getId").values == [.string(custom.id!)])
        let other = try manager.socket(forNamespace: "/abc", auth: ["user": "me"])
        let handshake = Recorder<Arguments>()
        other.on("handshake") { event in handshake.record(event.arguments) }
        try await other.connect()
        #expect(try await handshake.next()[0]["auth"] == ["user": "me"])
        await manager.close()
        #expect(!main.isConnected && !custom.isConnected)
    }

    @Test("disconnecting one namespace reports io client disconnect and leaves the others connected")
    func disconnectingOneNamespaceLeavesTheOthers() async throws {
        let manager = try Manager(url: TestServer.shared.url)
        let main = try manager.socket()
        let custom = try manager.socket(forNamespace: "/custom")
        let reasons = Recorder<DisconnectReason>()
        custom.onDisconnect { reasons.record($0) }
        try await main.connect()
        try await custom.connect()
        await custom.disconnect()
        #expect(reasons.count == 1)
        #expect(try await reasons.next() == .clientDisconnect)
        #expect(!custom.isConnected && main.isConnected)
        let echo = try await main.emitWithAck("echo", "still here")
        #expect(echo.values == ["still here"])
        await manager.close()
    }

    @Test("an unknown namespace is refused, and the others keep working")
    func unknownNamespaceIsRefused() async throws {
        let manager = try Manager(url: TestServer.shared.url)
        let main = try manager.socket()
        try await main.connect()
        let unknown = try manager.socket(forNamespace: "/nowhere")
        await #expect(throws: FerrioError.connect(message: "Invalid namespace", data: nil)) {
            try await unknown.connect()
        }
        let echo = try await main.emitWithAck("echo", 1)
        #expect(echo.values == [1])
        await manager.close()
    }

    @Test("a client connects to the namespace in its URL's path")
    func clientConnectsToTheNamespaceOfItsURL() async throws {
        let auth = Recorder<Arguments>()
        let client = try Client(
            url: TestServer.shared.url + "/custom", options: ClientOptions { $0.auth = ["token": 7] })
        client.socket.on("auth") { event in auth.record(event.arguments) }
        try await client.connect()
        #expect(client.socket.namespace == "/custom")
        let received = try await auth.next()
        #expect(received.values == [["token": 7]])
        await client.close()
    }

    @Test("an auth rejection throws connect(message:data:) after the connect_error handler ran")
    func authRejectionThrowsWithMessageAndData() async throws {
        let manager = try Manager(url: TestServer.shared.url)
        let socket = try manager.socket(forNamespace: "/no")
        let errors = Recorder<Arguments>()
        socket.on("connect_error") { event in errors.record(event.arguments) }
        let expected = FerrioError.connect(
            message: "Auth failed (custom namespace)", data: ["reason": "denied", "code": 42])
        await #expect(throws: expected) { try await socket.connect() }
        #expect(errors.count == 1)
        #expect(try await errors.next().values == [
            ["message": "Auth failed (custom namespace)", "data": ["reason": "denied", "code": 42]],
        ])
        #expect(!socket.isConnected)
        await manager.close()
    }

    @Test("onConnect and onConnectError are the typed lifecycle handlers")
    func typedLifecycleHandlers() async throws {
        let manager = try Manager(url: TestServer.shared.url)
        let main = try manager.socket(forNamespace: "/")
        let connects = Recorder<String?>()
        main.onConnect { connects.record(main.id) }
        try await main.connect()
        #expect(connects.count == 1)
        #expect(try await connects.next() == main.id)
        let refused = try manager.socket(forNamespace: "/no")
        let errors = Recorder<ConnectErrorInfo>()
        refused.onConnectError { errors.record($0) }
        await #expect(throws: FerrioError.self) { try await refused.connect() }
        #expect(errors.count == 1)
        let error = try await errors.next()
        #expect(error.message == "Auth failed (custom namespace)")
        #expect(error.data == ["reason": "denied", "code": 42])
        await manager.close()
    }

    @Test("an unreachable server throws connectionFailed")
    func unreachableServerThrowsConnectionFailed() async throws {
        let client = try Client(
            url: "http://127.0.0.1:1", options: ClientOptions {
                $0.reconnection = false
                $0.timeout = .seconds(5)
            })
        do {
            try await client.connect()
            Issue.record("connected to nothing")
        } catch FerrioError.connectionFailed {
        } catch {
            Issue.record("unexpected \(error)")
        }
        await client.close()
    }

    @Test("an invalid URL throws invalidURL")
    func invalidURLThrows() {
        #expect(throws: FerrioError.self) { try Client(url: "not a url") }
        do {
            _ = try Manager(url: "ftp://x")
            Issue.record("an ftp URL was accepted")
        } catch FerrioError.invalidURL(let detail) {
            #expect(detail.contains("ftp"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("each disconnect reason's string is the core's, and the string gives the reason back")
    func disconnectReasonStringsAreTheCores() {
        #expect(DisconnectReason.allCases.map(\.rawValue) == [
            "io server disconnect", "io client disconnect", "ping timeout", "transport close",
            "transport error", "parse error", "message too large", "protocol violation",
            "invalid utf-8", "write stalled",
        ])
        for reason in DisconnectReason.allCases {
            #expect(DisconnectReason(rawValue: reason.rawValue) == reason)
        }
        #expect(DisconnectReason(rawValue: "forced close") == nil)
    }

    @Test("a server disconnect reports io server disconnect")
    func serverDisconnectReportsReason() async throws {
        let reasons = Recorder<DisconnectReason>()
        try await withClient(prepare: { $0.socket.onDisconnect { reasons.record($0) } }) { client in
            try await client.socket.emit("disconnectMe")
            #expect(try await reasons.next() == .serverDisconnect)
            #expect(!client.isConnected)
        }
    }

    @Test("a closed transport reports transport close, and the socket reconnects")
    func closedTransportReportsReasonAndReconnects() async throws {
        let reasons = Recorder<String>()
        let connects = Recorder<String>()
        try await withClient(
            options: fastReconnection(),
            prepare: { client in
                client.socket.on("disconnect") { event in reasons.record(event.arguments[0].stringValue ?? "") }
                client.socket.on("connect") { _ in connects.record("connect") }
            }
        ) { client in
            _ = try await connects.next()
            try await client.socket.emit("closeTransport")
            #expect(try await reasons.next() == "transport close")
            _ = try await connects.next()
            #expect(try await client.socket.emitWithAck("echo", "back").values == ["back"])
        }
    }

    @Test("a client connects again after disconnect, keeping its handlers and streams")
    func connectsAgainAfterDisconnect() async throws {
        let client = try Client(url: TestServer.shared.url)
        let connects = Recorder<String>()
        let reasons = Recorder<DisconnectReason>()
        client.socket.on("connect") { event in connects.record(event.name) }
        client.socket.onDisconnect { reasons.record($0) }
        let replies = client.socket.events(named: "message-back")
        try await client.connect()
        let first = try #require(client.id)
        #expect(try await client.socket.emitWithAck("echo", 1).values == [1])
        await client.disconnect()
        #expect(try await reasons.next() == .clientDisconnect)
        #expect(!client.isConnected && !client.manager.isClosed)
        try await client.connect()
        #expect(client.isConnected)
        #expect(client.id != nil && client.id != first)
        #expect(connects.count == 2)
        #expect(try await client.socket.emitWithAck("echo", 2).values == [2])
        try await client.socket.emit("message", "again")
        let reply = try await within(.seconds(10), "message-back") {
            var iterator = replies.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(reply?.arguments.values == ["again"])
        await client.close()
    }

    @Test("a closed client refuses work with closed, and disconnecting or closing twice is harmless")
    func closedManagerRefusesWork() async throws {
        let client = try Client(url: TestServer.shared.url)
        try await client.connect()
        await client.disconnect()
        await client.disconnect()
        await client.close()
        await client.close()
        await #expect(throws: FerrioError.closed) { try await client.socket.emit("message", 1) }
        await #expect(throws: FerrioError.closed) { try await client.socket.emitWithAck("echo") }
        await #expect(throws: FerrioError.closed) { try await client.connect() }
    }

    @Test("connection events report open, close, reconnection attempts and reconnection")
    func connectionEventsReportTheConnectionLifecycle() async throws {
        let manager = try Manager(url: TestServer.shared.url, options: fastReconnection())
        let events = manager.connectionEvents
        let collector = Task {
            var seen: [ConnectionEvent] = []
            for await event in events {
                seen.append(event)
                if case .reconnect = event { break }
            }
            return seen
        }
        let socket = try manager.socket()
        try await socket.connect()
        try await socket.emit("closeTransport")
        let seen = try await within(.seconds(10), "a reconnection") { await collector.value }
        #expect(seen.first == .open)
        #expect(seen.contains(.close(.transportClose)))
        #expect(seen.contains(.reconnectAttempt(1)))
        #expect(seen.last == .reconnect(attempts: 1))
        await manager.close()
    }

    @Test("text that is not UTF-8 reports invalid utf-8, its own reason, and the socket reconnects")
    func invalidUtf8ReportsItsOwnReason() async throws {
        let manager = try Manager(
            url: TestServer.shared.url,
            options: fastReconnection { $0.transports = [.websocket] })
        let events = manager.connectionEvents
        let collector = Task {
            var seen: [ConnectionEvent] = []
            for await event in events {
                seen.append(event)
                if case .reconnect = event { break }
            }
            return seen
        }
        let socket = try manager.socket()
        let reasons = Recorder<DisconnectReason>()
        socket.onDisconnect { reasons.record($0) }
        try await socket.connect()
        let id = try #require(socket.id)
        // A WebSocket text frame of the bytes 0xff 0xfe, written past the server's framing.
        try await TestServer.shared.control(
            "rawFrame", ["nsp": "/", "id": .string(id), "bytes": "gQL//g=="])
        #expect(try await reasons.next() == .invalidUtf8)
        let seen = try await within(.seconds(10), "a reconnection") { await collector.value }
        #expect(seen.contains(.close(.invalidUtf8)))
        #expect(try await socket.emitWithAck("echo", "back").values == ["back"])
        await manager.close()
    }
}
