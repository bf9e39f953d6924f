import Foundation
import Testing
@testable import Ferrio
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The behaviour table's Swift driver: every scenario of tests/behaviour/scenarios.json run by
/// ``Manager`` and ``Socket`` against a reference server of its own (test.sh starts it:
/// `FERRIO_TEST_BEHAVIOUR_URL`, `FERRIO_TEST_BEHAVIOUR_CONTROL`), over each transport, one run
/// at a time; results in target/behaviour/swift.json (tests/behaviour/coverage.py reads them).
@Suite("Behaviour table", .serialized)
struct BehaviourTests {
    static let language = "swift"
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../..").standardized

    @Test("every scenario of the behaviour table passes")
    func everyScenarioPasses() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["FERRIO_TEST_BEHAVIOUR_URL"],
            let control = environment["FERRIO_TEST_BEHAVIOUR_CONTROL"].flatMap(Int.init),
            let recoveringURL = environment["FERRIO_TEST_BEHAVIOUR_RECOVERING_URL"],
            let recoveringControl = environment["FERRIO_TEST_BEHAVIOUR_RECOVERING_CONTROL"].flatMap(Int.init)
        else {
            Issue.record("FERRIO_TEST_BEHAVIOUR_(RECOVERING_)URL/_CONTROL are not set: run bindings/swift/test.sh (make test-swift)")
            return
        }
        let defaultServer = BehaviourServer(url: url, controlPort: control)
        // The scenarios with "server": "recovering" use the one with connection state recovery.
        let recoveringServer = BehaviourServer(url: recoveringURL, controlPort: recoveringControl)
        let data = try Data(contentsOf: Self.root.appendingPathComponent("tests/behaviour/scenarios.json"))
        let catalogue = try JSONDecoder().decode(JSONValue.self, from: data)
        var results: [JSONValue] = []
        // FERRIO_BEHAVIOUR_ONLY (scenario ids, comma-separated): only those run.
        let only = environment["FERRIO_BEHAVIOUR_ONLY"].flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) }
        for scenario in catalogue["scenarios"]?.arrayValue ?? [] {
            let id = scenario["id"]?.stringValue ?? "?"
            if let only, !only.contains(id) { continue }
            for transport in (scenario["transports"]?.arrayValue ?? []).compactMap(\.stringValue) {
                var result: [String: JSONValue] = [
                    "scenario": .string(id), "transport": .string(transport), "language": .string(Self.language),
                ]
                if let reason = scenario["not_applicable"]?[Self.language]?.stringValue {
                    result["outcome"] = "not-applicable"
                    result["detail"] = .string(reason)
                } else {
                    let server = scenario["server"]?.stringValue == "recovering" ? recoveringServer : defaultServer
                    do {
                        try await server.control("clear")
                        try await BehaviourRun(server: server, transport: transport, options: scenario["options"])
                            .run(scenario)
                        var used: [String] = []
                        for step in scenario["steps"]?.arrayValue ?? []
                        where step["op"]?.stringValue == "connect" && step["error"] == nil {
                            if let nsp = step["nsp"]?.stringValue, !used.contains(nsp) { used.append(nsp) }
                        }
                        for nsp in used {
                            try await server.control(
                                "waitForSockets", ["nsp": .string(nsp), "count": 0, "timeoutMs": 30000])
                        }
                        result["outcome"] = "pass"
                        result["detail"] = ""
                    } catch {
                        result["outcome"] = "fail"
                        result["detail"] = .string("\(error)")
                        Issue.record("\(id) over \(transport): \(error)")
                    }
                }
                results.append(.object(result))
            }
        }
        let directory = environment["FERRIO_BEHAVIOUR_RESULTS"].map { URL(fileURLWithPath: $0) }
            ?? Self.root.appendingPathComponent("target/behaviour")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let output: JSONValue = ["language": .string(Self.language), "results": .array(results)]
        var text = try encoder.encode(output)
        text.append(0x0A)
        try text.write(to: directory.appendingPathComponent("\(Self.language).json"))
    }
}

/// A failed step, with what differed.
struct BehaviourFailure: Error, CustomStringConvertible {
    let description: String
}

/// The reference server of the behaviour table: its URL and control channel.
struct BehaviourServer: Sendable {
    let url: String
    let controlPort: Int

    /// Posts `action` to the control channel; its JSON answer (a failure for an error status).
    @discardableResult
    func control(_ action: String, _ body: JSONValue = [:]) async throws -> JSONValue {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(controlPort)/\(action)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        request.httpBody = try JSONEncoder().encode(body)
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        if let status = (response as? HTTPURLResponse)?.statusCode, status >= 400 {
            throw BehaviourFailure(description: "control \(action) answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}

/// One scenario over one transport: a manager, its sockets by namespace, and the records.
final class BehaviourRun: Sendable {
    static let stepWait: Duration = .seconds(30)
    /// The record the manager's `reconnectFailed` events go to.
    static let reconnectFailed = "manager reconnect_failed"
    let server: BehaviourServer
    let manager: Manager
    /// `P`, `W` or `U`: a step with `transports` runs only over those.
    let transport: String
    private let sockets = Locked<[String: Socket]>([:])
    private let calls = Locked<[String: [JSONValue]]>([:])
    /// The readers of the `stream` steps, cancelled when the run ends.
    private let readers = Locked<[Task<Void, Never>]>([])
    /// The records of the `on_manager` steps and the connection event kinds each takes.
    private let managerRecords = Locked<[(record: String, kinds: [String])]>([])
    /// The latest of each socket's `statusChanges`, by namespace, kept when the scenario
    /// has an `expect_ended` step.
    private let statuses = Locked<[String: ConnectionStatus]>([:])
    private let watchesStatus = Locked(false)

    init(server: BehaviourServer, transport: String, options: JSONValue?) throws {
        self.server = server
        self.transport = transport
        let strings = { (key: String) in (options?[key]?.objectValue ?? [:]).compactMapValues(\.stringValue) }
        manager = try Manager(url: server.url, options: ClientOptions {
            switch transport {
            case "P": $0.transports = [.polling]
            case "W": $0.transports = [.websocket]
            default: break
            }
            $0.query = strings("query")
            $0.extraHeaders = strings("headers")
            $0.retries = Int(options?["retries"]?.intValue ?? 0)
            if let attempts = options?["reconnection_attempts"]?.intValue {
                $0.reconnectionAttempts = Int(attempts)
            }
            if let auth = options?["reconnect_auth"]?.objectValue {
                $0.beforeReconnect = { _ in ReconnectUpdate(auth: auth) }
            }
            if let max = options?["max_buffered_emits"]?.intValue {
                $0.maxBufferedEmits = UInt64(max)
                $0.bufferPolicy = options?["buffer_policy"]?.stringValue == "drop_oldest" ? .dropOldest : .reject
            }
            let limits: [(String, WritableKeyPath<ClientOptions, UInt64>)] = [
                ("max_incoming_bytes", \.maxIncomingBytes),
                ("max_payload_packets", \.maxPayloadPackets),
                ("max_preconnect_events", \.maxPreconnectEvents),
                ("max_preconnect_bytes", \.maxPreconnectBytes),
            ]
            for (key, option) in limits {
                if let limit = options?[key]?.intValue { $0[keyPath: option] = UInt64(limit) }
            }
            if let delay = options?["reconnection_delay_ms"]?.intValue {
                $0.reconnectionDelay = .milliseconds(delay)
                $0.reconnectionDelayMax = .milliseconds(delay)
            }
        })
    }

    func run(_ scenario: JSONValue) async throws {
        let steps = scenario["steps"]?.arrayValue ?? []
        var auths: [String: [String: JSONValue]] = [:]
        for step in steps where step["op"]?.stringValue == "connect" {
            if let nsp = step["nsp"]?.stringValue, let auth = step["auth"]?.objectValue { auths[nsp] = auth }
        }
        let watches = steps.contains { $0["op"]?.stringValue == "expect_ended" }
        watchesStatus.withLock { $0 = watches }
        let connectionEvents = manager.connectionEvents
        let watcher = Task { [self] in
            for await event in connectionEvents {
                if event == .reconnectFailed { push(Self.reconnectFailed, []) }
                guard let call = Self.managerCall(event) else { continue }
                for (record, kinds) in managerRecords.withLock({ $0 }) where kinds.contains(call[0].stringValue ?? "") {
                    push(record, call)
                }
            }
        }
        readers.withLock { $0.append(watcher) }
        do {
            for (n, step) in steps.enumerated() {
                if let only = step["transports"]?.arrayValue?.compactMap(\.stringValue), !only.contains(transport) {
                    continue
                }
                do {
                    try await perform(step, auths: auths)
                } catch {
                    throw BehaviourFailure(description: "step \(n + 1) (\(step)): \(error)")
                }
            }
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    private func stop() async {
        await manager.close()
        for reader in readers.withLock({ $0 }) { reader.cancel() }
    }

    private func push(_ record: String, _ call: [JSONValue]) {
        calls.withLock { $0[record, default: []].append(.array(call.map(Self.toCatalogue))) }
    }

    private func snapshot(_ record: String) -> [JSONValue] {
        calls.withLock { $0[record] ?? [] }
    }

    /// Waits until `record` has `count` calls (checked every few milliseconds, as the
    /// package's own tests' Recorder does), then all of them.
    private func waitFor(_ record: String, count: Int) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + Self.stepWait
        while snapshot(record).count < count {
            if ContinuousClock.now > deadline {
                throw BehaviourFailure(description: "\(record): \(count) expected, got \(snapshot(record))")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return snapshot(record)
    }

    private func expect(_ record: String, _ expected: [JSONValue], exact: Bool) async throws {
        let seen = try await waitFor(record, count: expected.count)
        guard Self.matches(.array(expected), .array(Array(seen.prefix(expected.count)))) else {
            throw BehaviourFailure(description: "\(record): expected \(expected), got \(seen)")
        }
        if exact && seen.count != expected.count {
            throw BehaviourFailure(description: "\(record): expected exactly \(expected), got \(seen)")
        }
    }

    private func socket(_ step: JSONValue, auths: [String: [String: JSONValue]]) throws -> Socket {
        let nsp = step["nsp"]?.stringValue ?? "/"
        if let socket = sockets.withLock({ $0[nsp] }) { return socket }
        let socket = try manager.socket(forNamespace: nsp, auth: auths[nsp])
        socket.onDisconnect { [self] reason in push("disconnect \(nsp)", [.string(reason.rawValue)]) }
        if watchesStatus.withLock({ $0 }) {
            let changes = socket.statusChanges
            let watcher = Task { [self] in
                for await status in changes { statuses.withLock { $0[nsp] = status } }
            }
            readers.withLock { $0.append(watcher) }
        }
        sockets.withLock { $0[nsp] = socket }
        return socket
    }

    private func perform(_ step: JSONValue, auths: [String: [String: JSONValue]]) async throws {
        let op = step["op"]?.stringValue ?? ""
        let nsp = step["nsp"]?.stringValue ?? "/"
        switch op {
        case "connect":
            let socket = try socket(step, auths: auths)
            guard let expected = step["error"] else {
                try await socket.connect()
                return
            }
            if let name = expected.stringValue {
                do {
                    try await socket.connect()
                    throw BehaviourFailure(description: "connect: expected a \(name) error")
                } catch let error as FerrioError where Self.typed(name, error) {
                    return
                }
            }
            do {
                try await socket.connect()
                throw BehaviourFailure(description: "connect: expected a refusal")
            } catch FerrioError.connect(let message, let data) {
                let seen: JSONValue = ["message": .string(message), "data": Self.toCatalogue(data ?? .null)]
                guard Self.matches(expected, seen) else {
                    throw BehaviourFailure(description: "connect error: expected \(expected), got \(seen)")
                }
            }
        case "emit":
            let socket = try socket(step, auths: auths)
            let each = step["args_each"]?.arrayValue ?? [step["args"] ?? []]
            for args in each {
                let event = step["event"]?.stringValue ?? ""
                let arguments = (args.arrayValue ?? []).map(Self.toNative)
                guard step["error"] != nil else {
                    try await socket.emit(event, arguments: arguments)
                    continue
                }
                let name = step["error"]?.stringValue ?? ""
                do {
                    try await socket.emit(event, arguments: arguments)
                    throw BehaviourFailure(description: "emit \(event): expected a \(name) error")
                } catch let error as FerrioError where Self.typed(name, error) {
                    continue
                }
            }
        case "flood":
            try await flood(step, socket: socket(step, auths: auths))
        case "emit_mixed":
            let socket = try socket(step, auths: auths)
            let event = step["event"]?.stringValue ?? ""
            let every = step["ack_every"]?.intValue ?? 1
            for n in 0..<(step["count"]?.intValue ?? 0) {
                let arguments: [JSONValue] = [.int(n)]
                guard n % every == every - 1 else {
                    try await socket.emit(event, arguments: arguments)
                    continue
                }
                let reply = try await socket.emitWithAck(event, arguments: arguments, timeout: Self.stepWait).values
                guard Self.matches(.array(arguments), .array(reply)) else {
                    throw BehaviourFailure(description: "ack of \(event) \(n): got \(reply)")
                }
            }
        case "emit_volatile":
            let arguments = (step["args"]?.arrayValue ?? []).map(Self.toNative)
            try await socket(step, auths: auths).emitVolatile(step["event"]?.stringValue ?? "", arguments: arguments)
        case "join_room":
            try await socket(step, auths: auths).joinRoom(step["room"]?.stringValue ?? "")
        case "leave_room":
            try await socket(step, auths: auths).leaveRoom(step["room"]?.stringValue ?? "")
        case "emit_ack":
            let socket = try socket(step, auths: auths)
            let event = step["event"]?.stringValue ?? ""
            let args = (step["args"]?.arrayValue ?? []).map(Self.toNative)
            let timeout = step["timeout_ms"]?.intValue.map { Duration.milliseconds($0) } ?? Self.stepWait
            if let name = step["error"]?.stringValue {
                do {
                    _ = try await socket.emitWithAck(event, arguments: args, timeout: timeout)
                    throw BehaviourFailure(description: "ack of \(event): expected a \(name) error")
                } catch let error as FerrioError where Self.typed(name, error) {
                    return
                }
            }
            let reply = Self.toCatalogue(.array(try await socket.emitWithAck(event, arguments: args, timeout: timeout).values))
            guard Self.matches(step["reply"] ?? [], reply) else {
                throw BehaviourFailure(description: "ack of \(event): expected \(step["reply"] ?? []), got \(reply)")
            }
        case "on":
            let record = step["record"]?.stringValue ?? ""
            let reply = step["reply"]?.arrayValue?.map(Self.toNative)
            let block = step["block_ms"]?.intValue ?? 0
            try socket(step, auths: auths).on(step["event"]?.stringValue ?? "") { [self] event in
                if block > 0 {
                    // A slow handler: it holds its thread (a blocking sleep, not an await).
                    usleep(UInt32(block) * 1000)
                }
                push(record, event.arguments.values)
                if let reply { try event.acknowledge(with: reply) }
            }
        case "once":
            let record = step["record"]?.stringValue ?? ""
            try socket(step, auths: auths).once(step["event"]?.stringValue ?? "") { [self] event in
                push(record, event.arguments.values)
            }
        case "off":
            try socket(step, auths: auths).off(step["event"]?.stringValue ?? "")
        case "on_any":
            let record = step["record"]?.stringValue ?? ""
            try socket(step, auths: auths).onAny { [self] event in
                push(record, [.string(event.name)] + event.arguments.values)
            }
        case "off_any":
            try socket(step, auths: auths).offAny()
        case "on_any_outgoing":
            let record = step["record"]?.stringValue ?? ""
            try socket(step, auths: auths).onAnyOutgoing { [self] event in
                push(record, [.string(event.name)] + event.arguments.values)
            }
        case "stream":
            let record = step["record"]?.stringValue ?? ""
            let events = try socket(step, auths: auths).events
            let reader = Task { [self] in
                for await event in events {
                    push(record, [.string(event.name)] + event.arguments.values)
                }
            }
            readers.withLock { $0.append(reader) }
        case "on_manager":
            let record = step["record"]?.stringValue ?? ""
            let kinds = (step["events"]?.arrayValue ?? []).compactMap(\.stringValue)
            managerRecords.withLock { $0.append((record: record, kinds: kinds)) }
        case "expect":
            try await expect(
                step["record"]?.stringValue ?? "", step["calls"]?.arrayValue ?? [],
                exact: step["exact"]?.boolValue ?? false)
        case "close":
            await manager.close()
        case "clear_buffer":
            try await socket(step, auths: auths).clearBuffer()
        case "expect_buffered":
            let socket = try socket(step, auths: auths)
            let expected = UInt64(step["emits"]?.intValue ?? 0)
            let deadline = ContinuousClock.now + Self.stepWait
            // No event says the count changed: it is read every few milliseconds.
            while socket.buffered.emits != expected {
                if ContinuousClock.now > deadline {
                    throw BehaviourFailure(description: "buffered: expected \(expected) emits, got \(socket.buffered)")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        case "reconnect_now":
            await manager.reconnectNow()
        case "expect_reconnect_failed":
            _ = try await waitFor(Self.reconnectFailed, count: 1)
        case "expect_ended":
            // Ended for good: the socket's last status change says reconnection gave up.
            _ = try socket(step, auths: auths)
            let deadline = ContinuousClock.now + Self.stepWait
            while statuses.withLock({ $0[nsp] }) != .reconnectFailed {
                if ContinuousClock.now > deadline {
                    let status = statuses.withLock { $0[nsp] }
                    throw BehaviourFailure(description: "status: expected reconnectFailed, is \(String(describing: status))")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        case "disconnect":
            try await socket(step, auths: auths).disconnect()
        case "expect_disconnect":
            let seen = try await waitFor("disconnect \(nsp)", count: 1)[0]
            let reasons = step["reason"]?.arrayValue ?? [step["reason"] ?? nil]
            guard reasons.contains(where: { Self.matches([$0], seen) }) else {
                throw BehaviourFailure(description: "disconnect: expected \(step["reason"] ?? nil), got \(seen)")
            }
        case "expect_recovered":
            let recovered = try socket(step, auths: auths).recovered
            guard recovered == step["recovered"]?.boolValue else {
                throw BehaviourFailure(description: "recovered: expected \(step["recovered"] ?? nil), is \(recovered)")
            }
        case "expect_connected":
            let connected = try socket(step, auths: auths).isConnected
            guard connected == step["connected"]?.boolValue else {
                throw BehaviourFailure(description: "connected: expected \(step["connected"] ?? nil), is \(connected)")
            }
        case "expect_stats":
            let expected = step["stats"] ?? [:]
            let deadline = ContinuousClock.now + Self.stepWait
            // No event says the statistics changed: they are read every few milliseconds.
            while !Self.statsMatch(expected, Self.observed(manager.stats())) {
                if ContinuousClock.now > deadline {
                    throw BehaviourFailure(description: "stats: expected \(expected), got \(Self.observed(manager.stats()))")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        case "server":
            let answer = try await server.control(step["action"]?.stringValue ?? "", step["body"] ?? [:])
            guard Self.matches(step["expect"] ?? [:], answer) else {
                throw BehaviourFailure(description: "server: expected \(step["expect"] ?? [:]), answered \(answer)")
            }
        default:
            throw BehaviourFailure(description: "unknown op \(op)")
        }
    }

    /// A connection event as the catalogue writes it: its kind, then the reason of `close`, the
    /// attempt of `reconnect_attempt` or the attempts of `reconnect`; `nil` for `lagged`.
    static func managerCall(_ event: ConnectionEvent) -> [JSONValue]? {
        switch event {
        case .open: return ["open"]
        case .close(let reason): return ["close", .string(reason.rawValue)]
        case .reconnectAttempt(let attempt): return ["reconnect_attempt", .int(Int64(attempt))]
        case .reconnectError: return ["reconnect_error"]
        case .reconnect(let attempts): return ["reconnect", .int(Int64(attempts))]
        case .reconnectFailed: return ["reconnect_failed"]
        case .lagged: return nil
        }
    }

    /// The `flood` step: `count` emits of `[n, "k" x bytes]`, each waiting for room when the
    /// outgoing queue is full; the first `awaited` by the step, the rest in a task of their
    /// own. Once all returned, the outcomes seen go to the record, sorted: `sent`, or the
    /// typed error's name.
    private func flood(_ step: JSONValue, socket: Socket) async throws {
        let event = step["event"]?.stringValue ?? ""
        let count = Int(step["count"]?.intValue ?? 0)
        let payload = JSONValue.string(String(repeating: "k", count: Int(step["bytes"]?.intValue ?? 0)))
        let record = step["record"]?.stringValue ?? ""
        let awaited = min(Int(step["awaited"]?.intValue ?? 0), count)
        let emit: @Sendable (Int) async -> String = { n in
            do {
                try await socket.emit(event, arguments: [JSONValue.int(Int64(n)), payload])
                return "sent"
            } catch FerrioError.bufferFull {
                return "buffer_full"
            } catch FerrioError.closed {
                return "closed"
            } catch {
                return "\(error)"
            }
        }
        var outcomes = Set<String>()
        for n in 0..<awaited { outcomes.insert(await emit(n)) }
        let rest = Task { [self, outcomes] in
            var outcomes = outcomes
            for n in awaited..<count { outcomes.insert(await emit(n)) }
            push(record, outcomes.sorted().map(JSONValue.string))
        }
        readers.withLock { $0.append(rest) }
    }

    /// Connection statistics in the catalogue's names (`expect_stats`).
    static func observed(_ stats: ConnectionStats) -> JSONValue {
        let acks = stats.ackRoundTrips
        let ordered = acks.p50 <= acks.p90 && acks.p90 <= acks.p99 && acks.p99 <= acks.max
            && (acks.count == 0 || acks.max > .zero)
        return [
            "bytes_in": .int(Int64(stats.bytesIn)), "bytes_out": .int(Int64(stats.bytesOut)),
            "packets_in": .int(Int64(stats.packetsIn)), "packets_out": .int(Int64(stats.packetsOut)),
            "reconnects": .int(Int64(stats.reconnects)), "acks": .int(Int64(acks.count)),
            "acks_ordered": .bool(ordered),
        ]
    }

    /// Each expected value equal, or at least `n` where it is `{"at_least": n}`.
    static func statsMatch(_ expected: JSONValue, _ observed: JSONValue) -> Bool {
        (expected.objectValue ?? [:]).allSatisfy { key, want in
            guard let seen = observed[key] else { return false }
            if let least = want["at_least"]?.doubleValue {
                return (seen.doubleValue ?? -1) >= least
            }
            return matches(want, seen)
        }
    }

    /// Whether `error` is the typed error the catalogue names `name`.
    static func typed(_ name: String, _ error: FerrioError) -> Bool {
        switch (name, error) {
        case ("reserved", .reservedEvent), ("timeout", .timeout), ("disconnected", .disconnected),
            ("closed", .closed), ("buffer_full", .bufferFull), ("payload_too_large", .payloadTooLarge):
            return true
        default:
            return false
        }
    }

    /// A catalogue value as the client takes it: `{"$binary": ...}` becomes `Data`.
    static func toNative(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            if object.count == 1, let text = object["$binary"]?.stringValue, let data = Data(base64Encoded: text) {
                return .binary(data)
            }
            return .object(object.mapValues(toNative))
        case .array(let items):
            return .array(items.map(toNative))
        default:
            return value
        }
    }

    /// A received value as the catalogue writes it: `Data` becomes `{"$binary": ...}`.
    static func toCatalogue(_ value: JSONValue) -> JSONValue {
        switch value {
        case .binary(let data): return ["$binary": .string(data.base64EncodedString())]
        case .object(let object): return .object(object.mapValues(toCatalogue))
        case .array(let items): return .array(items.map(toCatalogue))
        default: return value
        }
    }

    /// Objects by the expected keys, arrays element by element, numbers by value.
    static func matches(_ expected: JSONValue, _ actual: JSONValue) -> Bool {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            return e.allSatisfy { key, value in a[key].map { matches(value, $0) } ?? false }
        case (.array(let e), .array(let a)):
            return e.count == a.count && zip(e, a).allSatisfy { matches($0, $1) }
        case (.int, _), (.double, _):
            guard let e = expected.doubleValue, let a = actual.doubleValue else { return false }
            return e == a
        default:
            return expected == actual
        }
    }
}
