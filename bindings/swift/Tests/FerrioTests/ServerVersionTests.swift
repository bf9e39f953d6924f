import Foundation
import Testing
@testable import Ferrio
import FerrioUniFFI

/// ``ClientOptions/serverVersion``: its default read from the core, and a real Socket.IO 2.x
/// server (tests/server-v2, started by test.sh): found out by itself by default (events, acks
/// and binary both ways), refused with ``ServerVersion/v4``. Serialized: the server's `emit`
/// reaches every socket of `/`, so one client at a time.
@Suite(.serialized) struct ServerVersionTests {
    let url = "http://localhost:3000"

    @Test("the default is the core's")
    func theDefaultIsTheCores() throws {
        let core = FerrioUniFFI.defaultClientOptions(url: url).serverVersion
        #expect(try ClientOptions().native(url: url).serverVersion == core)
        #expect(ClientOptions().serverVersion == .detect)
    }

    @Test("each version reaches the native options")
    func eachVersionReachesTheNativeOptions() throws {
        let native: [(Ferrio.ServerVersion, FerrioUniFFI.ServerVersion)] = [
            (.detect, .detect), (.v2, .v2), (.v4, .v4),
        ]
        for (version, expected) in native {
            #expect(try ClientOptions { $0.serverVersion = version }.native(url: url).serverVersion == expected)
        }
    }

    @Test(
        "a v2 server is found out by itself",
        arguments: [([Ferrio.Transport.polling], Ferrio.Transport.polling), ([.websocket], .websocket), ([], .websocket)]
    )
    func aV2ServerIsFoundOutByItself(transports: [Ferrio.Transport], expected: Ferrio.Transport) async throws {
        let server = TestServer.v2
        let pushed = Recorder<[JSONValue]>()
        try await withClient(
            server.url,
            options: ClientOptions { if !transports.isEmpty { $0.transports = transports } },
            prepare: { client in
                client.socket.on("push") { event in pushed.record(event.arguments.values) }
                client.socket.on("question") { event in
                    let n = try event.decode(Int.self)
                    try event.acknowledge("answer", n + 1, Data([4, 2]))
                }
            }
        ) { client in
            try await until("the \(expected) transport") { client.manager.transport == expected }
            let reply = try await client.socket.emitWithAck("echo", "over v2", Data([0, 255]))
            #expect(reply.values == ["over v2", .binary(Data([0, 255]))])
            let sent = try await server.control(
                "emit", ["nsp": "/", "event": "push", "args": ["news", ["$binary": "CQgH"]]]
            )
            #expect(sent["sockets"] == 1)
            #expect(try await pushed.next() == ["news", .binary(Data([9, 8, 7]))])
            let answer = try await server.control(
                "emitWithAck", ["nsp": "/", "event": "question", "args": [41], "timeoutMs": 10000]
            )
            #expect(answer["responses"] == [["answer", 42, ["$binary": "BAI="]]])
        }
    }

    @Test(
        "a v2 server is refused when v4 is forced",
        arguments: [[Ferrio.Transport.polling], [Ferrio.Transport.websocket], []]
    )
    func aV2ServerIsRefusedWhenV4IsForced(transports: [Ferrio.Transport]) async throws {
        let options = ClientOptions {
            $0.serverVersion = .v4
            if !transports.isEmpty { $0.transports = transports }
        }
        let client = try Client(url: TestServer.v2.url, options: options)
        do {
            try await client.connect()
            Issue.record("connected to a Socket.IO 2.x server with v4 forced")
        } catch FerrioError.connect(let message, _) {
            #expect(message.contains("older Socket.IO protocol"), "\(message)")
        } catch {
            Issue.record("expected a refusal, got \(error)")
        }
        #expect(!client.isConnected)
        await client.close()
    }
}
