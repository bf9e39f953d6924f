import Foundation
import Testing
@testable import Ferrio

extension IsolatedTests {
/// The server's broadcasts that fill the streams would reach every client of a shared server.
@Suite("Bounded event streams")
struct BoundedStreamTests {
    @Test("an event stream keeps at most maxQueued events, drops the newer ones and counts them")
    func keepsAtMostMaxQueuedEvents() async throws {
        let server = TestServer.restartable
        let seen = Recorder<Int>()
        try await withClient(server.url, prepare: { client in
            client.socket.on("flood") { event in seen.record(try event.decode(Int.self)) }
        }) { client in
            let flood = client.socket.events(named: "flood", maxQueued: 3)
            #expect(flood.maxQueued == 3)
            try await server.control("tick", ["event": "flood", "count": 10, "intervalMs": 0])
            // The handler sees every event, after the stream was offered it.
            for n in 0..<10 { #expect(try await seen.next() == n) }
            #expect(flood.dropped == 7)
            let taken = try await within(.seconds(30), "the queued events, then a new one") {
                var iterator = flood.makeAsyncIterator()
                var taken: [Int] = []
                for _ in 0..<3 {
                    if let event = await iterator.next() { taken.append(try event.decode(Int.self)) }
                }
                // Taking them made room again.
                try await server.control("emit", ["event": "flood", "args": [10]])
                if let event = await iterator.next() { taken.append(try event.decode(Int.self)) }
                return taken
            }
            #expect(taken == [0, 1, 2, 10])
            #expect(flood.dropped == 7)
        }
    }

    @Test("an event stream keeps 1024 events by default")
    func keeps1024EventsByDefault() async throws {
        let server = TestServer.restartable
        let seen = Recorder<Int>()
        try await withClient(server.url, prepare: { client in
            client.socket.on("flood") { _ in seen.record(1) }
        }) { client in
            let all = client.socket.events
            #expect(all.maxQueued == 1024 && EventStream.defaultMaxQueued == 1024)
            try await server.control("tick", ["event": "flood", "count": 1030, "intervalMs": 0])
            try await until("1030 events at the handler", within: .seconds(60)) { seen.count == 1030 }
            #expect(all.dropped == 6)
            let first = try await within(.seconds(10), "the oldest event") {
                var iterator = all.makeAsyncIterator()
                return try await iterator.next()?.decode(Int.self)
            }
            #expect(first == 0)
        }
    }
}
}
