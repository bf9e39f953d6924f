import Foundation
import Testing
@testable import Ferrio
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Two socket.io nodes (Redis adapter) behind nginx, sticky by cookie, started by
/// `ferrio-cluster` (tests/integration) with its addresses in FERRIO_CLUSTER_* variables
/// (`make test-cluster-bindings`, through test.sh); skipped when they are absent.
private struct TestCluster: Sendable {
    let stickyURL: String
    let controls: [String]
    let pingInterval: Duration

    static let current: TestCluster? = {
        let environment = ProcessInfo.processInfo.environment
        guard let sticky = environment["FERRIO_CLUSTER_STICKY_URL"],
            let a = environment["FERRIO_CLUSTER_CONTROL_A"],
            let b = environment["FERRIO_CLUSTER_CONTROL_B"]
        else { return nil }
        let ping = environment["FERRIO_CLUSTER_PING_INTERVAL_MS"].flatMap(Int.init) ?? 200
        return TestCluster(stickyURL: sticky, controls: [a, b], pingInterval: .milliseconds(ping))
    }()

    /// Posts `action` to node `node`'s control channel (0: A, 1: B); its JSON answer.
    @discardableResult
    func control(_ node: Int, _ action: String, _ body: JSONValue = [:]) async throws -> JSONValue {
        var request = URLRequest(url: URL(string: "\(controls[node])/\(action)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        request.httpBody = try JSONEncoder().encode(body)
        request.timeoutInterval = 30
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// The node holding socket `sid` of `/`, and that node's record of it.
    func record(ofSocket sid: String) async throws -> (node: Int, record: JSONValue) {
        for node in 0..<2 {
            let sockets = try await control(node, "clients")["namespaces"]?["/"]?.arrayValue ?? []
            if let record = sockets.first(where: { $0["id"]?.stringValue == sid }) {
                return (node, record)
            }
        }
        throw TimedOut(what: "socket \(sid) on a node")
    }
}

@Suite("Cluster behind nginx", .enabled(if: TestCluster.current != nil, "FERRIO_CLUSTER_* unset"))
struct ClusterTests {
    @Test("a default client stays on its node across heartbeats and gets a broadcast from the other node")
    func defaultClientStaysAndGetsBroadcastFromOtherNode() async throws {
        let cluster = try #require(TestCluster.current)
        let room = "swift-cluster"
        let heartbeats = 8
        let disconnects = Recorder<DisconnectReason>()
        let news = Recorder<Arguments>()
        let client = try Client(url: cluster.stickyURL)  // default options: polling, then the upgrade
        client.socket.onDisconnect { reason in disconnects.record(reason) }
        client.socket.on("news") { event in news.record(event.arguments) }
        try await client.connect()
        do {
            try await until("the websocket upgrade") { client.manager.transport == .websocket }
            let joined = try await client.socket.emitWithAck("join", room, timeout: .seconds(5))
            #expect(joined.values == [.bool(true)])
            let sid = try #require(client.id)
            let (node, _) = try await cluster.record(ofSocket: sid)

            // Several heartbeats through nginx: the session survives every one of them.
            try await Task.sleep(for: cluster.pingInterval * heartbeats)
            #expect(client.isConnected && client.id == sid)
            #expect(disconnects.count == 0, "no disconnection across the heartbeats")
            let (sameNode, record) = try await cluster.record(ofSocket: sid)
            #expect(sameNode == node)
            #expect(record["transport"] == .string("websocket"))
            #expect(record["rooms"]?.arrayValue?.contains(.string(room)) == true)
            // Every request of the session after the handshake carried the node's cookie.
            let engineID = record["engineId"]
            let requests = (try await cluster.control(node, "cookies")["requests"]?.arrayValue ?? [])
                .filter { $0["sid"] == engineID && $0["initial"] == .bool(false) }
            #expect(!requests.isEmpty && requests.allSatisfy { $0["carried"] == .bool(true) }, "\(requests)")

            // A broadcast to the room from the other node arrives through the Redis adapter.
            try await cluster.control(
                1 - node, "emitToRoom",
                ["nsp": "/", "room": .string(room), "event": "news", "args": ["from the other node"]])
            let arguments = try await news.next()
            #expect(arguments.values == [.string("from the other node")])
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}
