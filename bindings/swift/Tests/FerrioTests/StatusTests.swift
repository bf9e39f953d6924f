import Foundation
import Testing
@testable import Ferrio

private func isConnected(_ status: ConnectionStatus) -> Bool {
    if case .connected = status { return true }
    return false
}

private func isConnectFailed(_ status: ConnectionStatus) -> Bool {
    if case .connectFailed = status { return true }
    return false
}

/// Reads `statuses` until `done` holds for what was read (or the stream ends).
private func read(
    _ statuses: inout AsyncStream<ConnectionStatus>.Iterator,
    until done: ([ConnectionStatus]) -> Bool
) async -> [ConnectionStatus] {
    var seen: [ConnectionStatus] = []
    while !done(seen), let status = await statuses.next() {
        seen.append(status)
    }
    return seen
}

@Suite("Status changes")
struct StatusTests {
    @Test(
        "status changes follow connect, a lost connection, reconnection and disconnect",
        arguments: [[Transport.polling], [Transport.websocket], [Transport.polling, Transport.websocket]])
    func statusChangesFollowTheConnection(transports: [Transport]) async throws {
        try await within(.seconds(60), "the status changes") {
            let client = try Client(
                url: TestServer.shared.url, options: fastReconnection { $0.transports = transports })
            var statuses = client.statusChanges.makeAsyncIterator()
            try await client.connect()
            #expect(await statuses.next() == .connecting)
            #expect(await statuses.next() == .connected(id: client.id ?? "", recovered: false))
            let firstID = client.id

            try await client.socket.emit("closeTransport")
            let lost = await read(&statuses) { seen in
                seen.contains(.reconnecting(attempt: 1)) && seen.contains(where: isConnected)
            }
            #expect(lost.first { !isConnected($0) && $0 != .reconnecting(attempt: 1) } == .disconnected(.transportClose))
            #expect(lost.filter(isConnected) == [.connected(id: client.id ?? "", recovered: false)])
            #expect(client.id != firstID)

            await client.disconnect()
            #expect(await statuses.next() == .disconnected(.clientDisconnect))
            await client.close()
            #expect(await statuses.next() == nil)  // the stream ends with the manager
        }
    }

    @Test("a connection that cannot be made reports each attempt, then that reconnection gave up")
    func reconnectionGivingUpIsReported() async throws {
        try await within(.seconds(60), "reconnection giving up") {
            let client = try clientGivingUpAfterTwoAttempts()
            var statuses = client.statusChanges.makeAsyncIterator()
            await #expect(throws: FerrioError.self) { try await client.connect() }
            #expect(await statuses.next() == .connecting)
            guard case .connectFailed(let message)? = await statuses.next() else {
                Issue.record("no connectFailed")
                return
            }
            #expect(!message.isEmpty)
            let attempts = await read(&statuses) { $0.contains(.reconnectFailed) }
            let connectionChanges = attempts.filter {
                if case .connectFailed = $0 { return false }
                return true
            }
            #expect(connectionChanges == [.reconnecting(attempt: 1), .reconnecting(attempt: 2), .reconnectFailed])
            await client.close()
        }
    }

    @Test("after reconnection gives up, reconnectFailed is the last status, even behind a slow connect_error handler")
    func reconnectFailedIsTheLastStatus() async throws {
        try await within(.seconds(60), "reconnection giving up behind a slow handler") {
            let client = try clientGivingUpAfterTwoAttempts()
            // The first connect_error handler returns only once the last reconnection attempt
            // has started, so the socket's own changes of the later attempts wait behind it in
            // the dispatcher. (It cannot wait for reconnectFailed itself: connection events
            // come only once the handlers before them returned.) The attempts are counted by
            // the core, which nothing here holds back; polled, as no event says so here.
            let first = Locked(true)
            let manager = client.manager
            client.socket.onConnectError { _ in
                guard first.withLock({ first in defer { first = false }; return first }) else { return }
                while manager.stats().reconnectAttempts < 2 {
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
            var statuses = client.statusChanges.makeAsyncIterator()
            await #expect(throws: FerrioError.self) { try await client.connect() }
            // The first attempt's failure and the two reconnection attempts' failures.
            let seen = await read(&statuses) { seen in
                seen.contains(.reconnectFailed) && seen.filter(isConnectFailed).count == 3
            }
            #expect(seen.last == .reconnectFailed)
            #expect(seen.filter { !isConnectFailed($0) } == [
                .connecting, .reconnecting(attempt: 1), .reconnecting(attempt: 2), .reconnectFailed,
            ])
            await client.close()
        }
    }

    @Test("a reader that fell behind keeps the newest changes, at most statusChangesMaxQueued")
    func aSlowReaderKeepsTheNewestChanges() async throws {
        try await within(.seconds(120), "many reconnections") {
            let client = try Client(url: TestServer.shared.url)
            let statuses = client.statusChanges
            // Three changes per round (connecting, connected, disconnected), none read.
            let rounds = Socket.statusChangesMaxQueued / 3 + 5
            for _ in 0..<rounds {
                try await client.connect()
                await client.disconnect()
            }
            await client.close()
            var kept: [ConnectionStatus] = []
            for await status in statuses {
                kept.append(status)
            }
            #expect(kept.count == Socket.statusChangesMaxQueued)
            #expect(kept.last == .disconnected(.clientDisconnect))
        }
    }

    /// A client of a server that cannot be reached (every connect refused), whose
    /// reconnection gives up after two attempts.
    private func clientGivingUpAfterTwoAttempts() throws -> Client {
        try Client(
            url: "http://127.0.0.1:1",
            options: fastReconnection {
                $0.reconnectionAttempts = 2
                $0.timeout = .seconds(5)
            })
    }
}
