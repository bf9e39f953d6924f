import Foundation
import Testing
@testable import Ferrio

@Suite("Connection statistics")
struct StatsTests {
    @Test("stats count what was exchanged", arguments: [Transport.polling, .websocket])
    func statsCountWhatWasExchanged(transport: Transport) async throws {
        let acks = 10
        let events = 5
        let back = Recorder<[JSONValue]>()
        let client = try Client(url: TestServer.shared.url, options: ClientOptions { $0.transports = [transport] })
        #expect(client.stats().packetsIn == 0)
        client.socket.on("message-back") { event in back.record(event.arguments.values) }
        try await client.connect()
        let before = client.stats()
        #expect(before.transport == transport)
        #expect(before.packetsIn >= 2 && before.bytesIn > 0 && before.bytesOut > 0)
        for n in 0..<acks {
            #expect(try await client.socket.emitWithAck("echo", n).values == [.int(Int64(n))])
        }
        for n in 0..<events {
            try await client.socket.emit("message", n)
        }
        for _ in 0..<events {
            _ = try await back.next()
        }
        let after = client.stats()
        #expect(after.packetsOut - before.packetsOut >= UInt64(acks + events))
        #expect(after.packetsIn - before.packetsIn >= UInt64(acks + events))
        #expect(after.bytesIn > before.bytesIn && after.bytesOut > before.bytesOut)
        let rtt = after.ackRoundTrips
        #expect(rtt.count == UInt64(acks))
        #expect(rtt.max > .zero && rtt.p50 <= rtt.p90 && rtt.p90 <= rtt.p99 && rtt.p99 <= rtt.max)
        #expect(rtt.mean <= rtt.max)
        #expect(after.reconnects == 0)
        await client.close()
        let closed = client.stats()
        #expect(closed.transport == nil)
        #expect(closed.ackRoundTrips.count == UInt64(acks))
        #expect(closed.packetsOut >= after.packetsOut)
    }

    @Test("stats count a reconnection forced by the server")
    func statsCountAReconnection() async throws {
        let connects = Recorder<String>()
        try await withClient(
            options: fastReconnection { $0.transports = [.websocket] },
            prepare: { client in client.socket.on("connect") { _ in connects.record("connect") } }
        ) { client in
            _ = try await connects.next()
            #expect(client.stats().reconnects == 0)
            let id = try #require(client.id)
            // This client's connection only: the shared server's other clients stay.
            try await TestServer.shared.control("closeTransport", ["nsp": "/", "id": .string(id)])
            _ = try await connects.next()
            let stats = client.stats()
            #expect(stats.reconnects == 1)
            #expect(stats.reconnectAttempts >= 1)
            #expect(stats.transport == .websocket)
        }
    }

    @Test("stats report the upgrade and the age of the last ping")
    func statsReportTheUpgradeAndThePing() async throws {
        try await withClient { client in
            try await until("the upgrade") { client.stats().transport == .websocket }
            // The shared server pings every 2 s.
            try await until("a ping", within: .seconds(20)) { client.stats().sinceLastPing != nil }
        }
    }
}
