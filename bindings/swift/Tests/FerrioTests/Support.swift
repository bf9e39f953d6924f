import Foundation
import Testing
@testable import Ferrio
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A reference server started by test.sh on the host: its URL and control channel.
struct TestServer: Sendable {
    let url: String
    let controlPort: Int

    /// The server most tests share (its state is not changed by them).
    static let shared = TestServer(environment: "FERRIO_TEST")
    /// The server the reconnection tests restart.
    static let restartable = TestServer(environment: "FERRIO_TEST_RESTART")
    /// The server the proxy tests reach only through tinyproxy (`FERRIO_TEST_PROXY_URL`).
    static let proxied = TestServer(environment: "FERRIO_TEST_PROXIED")
    /// The server with connection state recovery, for the recovered-session tests.
    static let recovering = TestServer(environment: "FERRIO_TEST_RECOVERING")
    /// A Socket.IO 2.x server (tests/server-v2): `echo` acknowledged in `/` and `/custom`; its
    /// control channel answers `{}` to everything.
    static let v2 = TestServer(environment: "FERRIO_TEST_V2")
    /// WebSocket only, with permessage-deflate (`perMessageDeflate: true`).
    static let deflating = TestServer(environment: "FERRIO_TEST_DEFLATING")

    private init(environment prefix: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["\(prefix)_URL"],
            let control = environment["\(prefix)_CONTROL"].flatMap(Int.init)
        else {
            fatalError("\(prefix)_URL and \(prefix)_CONTROL are not set: run bindings/swift/test.sh (make test-swift)")
        }
        self.url = url
        self.controlPort = control
    }

    /// Posts `action` to the control channel; its JSON answer.
    @discardableResult
    func control(_ action: String, _ body: JSONValue = [:]) async throws -> JSONValue {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(controlPort)/\(action)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        request.httpBody = try JSONEncoder().encode(body)
        request.timeoutInterval = 60
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}

/// Options that reconnect within a fraction of a second.
func fastReconnection(_ configure: (inout ClientOptions) -> Void = { _ in }) -> ClientOptions {
    ClientOptions {
        $0.reconnectionDelay = .milliseconds(50)
        $0.reconnectionDelayMax = .milliseconds(200)
        $0.randomizationFactor = 0
        configure(&$0)
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// What handlers saw, in order; `next` waits for the next one.
final class Recorder<Value: Sendable>: Sendable {
    private let state = Locked<(items: [Value], read: Int)>(([], 0))

    func record(_ value: Value) {
        state.withLock { $0.items.append(value) }
    }

    var count: Int { state.withLock { $0.items.count } }

    func next(within timeout: Duration = .seconds(10)) async throws -> Value {
        let deadline = ContinuousClock.now + timeout
        while true {
            let value = state.withLock { state -> Value? in
                guard state.read < state.items.count else { return nil }
                state.read += 1
                return state.items[state.read - 1]
            }
            if let value { return value }
            if ContinuousClock.now > deadline { throw TimedOut(what: "a recorded \(Value.self)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Waits for a state that no event announces (e.g. the transport upgrade).
func until(_ what: String, within timeout: Duration = .seconds(10), _ predicate: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !predicate() {
        if ContinuousClock.now > deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// `body`'s result, or `TimedOut` after `timeout`.
func within<T: Sendable>(
    _ timeout: Duration = .seconds(10), _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TimedOut(what: what)
        }
        return value
    }
}

/// A connected client on the shared server, disconnected after `body`.
func withClient(
    _ url: String = TestServer.shared.url,
    options: ClientOptions = ClientOptions(),
    prepare: (Client) -> Void = { _ in },
    _ body: (Client) async throws -> Void
) async throws {
    let client = try Client(url: url, options: options)
    prepare(client)
    try await client.connect()
    do {
        try await body(client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
}
