// Ferrio (Swift) bench client: `ferrio-swift-bench <scenario> <url> <n>` (started by
// benches/swift/client.sh, inside the Swift toolchain root).
//
// The scenarios of benches/README.md, written like the Kotlin client (benches/kotlin's
// Main.kt): the same warm-up (one `echo` call before a measured loop), the same measured
// loop, one `RESULT {json}` line. CPU is the process's (every thread: Swift's cooperative
// pool and the native threads of the Rust core) over the measured loop, from getrusage.

import Ferrio
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let payload = "0123456789abcdef"
let ackTimeout: Duration = .seconds(120)

/// One `e` or `echo` argument: `{"n": i, "s": payload}`.
struct Message: Encodable, Sendable {
    let n: Int
    let s: String
}

/// A bench failure: the message goes to stderr and the process exits with 1.
struct BenchError: Error, CustomStringConvertible {
    let description: String
}

#if os(Linux)
/// getrusage's `who` for this process (an enum case in Glibc's module, an Int32 in its C API).
let rusageSelf = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
let rusageSelf = RUSAGE_SELF
#endif

/// User + system CPU time of this process (all of its threads), in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(rusageSelf, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Monotonic nanoseconds.
func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// A field of /proc/self/status in KiB: `VmRSS` (now) or `VmHWM` (the peak of this process).
func statusKib(_ field: String) throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("\(field):") {
        let value = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces)
        if let kib = Int(value.replacingOccurrences(of: " kB", with: "")) { return kib }
    }
    throw BenchError(description: "no \(field) in /proc/self/status")
}

/// Wall-clock and CPU time since its creation.
struct Meter {
    private let wall = nanos()
    private let cpu = cpuSeconds()

    /// Wall and CPU seconds so far.
    func stop() -> (wall: Double, cpu: Double) {
        (Double(nanos() - wall) / 1e9, cpuSeconds() - cpu)
    }
}

/// Prints the one result line the driver reads, with this process's peak RSS.
func report(_ fields: [String: Any]) throws {
    var result = fields
    result["peak_rss_kib"] = try statusKib("VmHWM")
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    // FileHandle writes at once (print's buffer would be flushed at exit only).
    FileHandle.standardOutput.write(Data("RESULT ".utf8) + json + Data("\n".utf8))
}

func throughput(_ n: Int, _ wall: Double, _ cpu: Double, _ extra: [String: Any] = [:]) throws {
    let fields: [String: Any] = [
        "n": n, "wall_s": wall, "cpu_s": cpu, "per_s": Double(n) / wall,
        "cpu_us_per_msg": cpu / Double(n) * 1e6,
    ]
    try report(fields.merging(extra) { _, new in new })
}

func latencies(_ samplesUs: [Double], _ wall: Double, _ cpu: Double) throws {
    let sorted = samplesUs.sorted()
    func percentile(_ p: Double) -> Double { sorted[Int((Double(sorted.count - 1) * p).rounded())] }
    try report([
        "n": sorted.count, "wall_s": wall, "cpu_s": cpu,
        "cpu_us_per_msg": cpu / Double(sorted.count) * 1e6,
        "p50_us": percentile(0.5), "p99_us": percentile(0.99),
    ])
}

/// Runs `body` for 0..<n, in order, and returns how long each run took, in microseconds.
func sampleMicros(_ n: Int, _ body: (Int) async throws -> Void) async rethrows -> [Double] {
    var samples = [Double](repeating: 0, count: n)
    for i in 0..<n {
        let start = nanos()
        try await body(i)
        samples[i] = Double(nanos() - start) / 1e3
    }
    return samples
}

/// A connected client without reconnection: WebSocket only, or polling then the upgrade.
func connect(_ url: String, websocketOnly: Bool) async throws -> Client {
    let client = try Client(url: url, options: ClientOptions {
        $0.transports = websocketOnly ? [.websocket] : [.polling, .websocket]
        $0.reconnection = false
    })
    try await client.connect()
    return client
}

/// Waits for the upgrade to WebSocket (the package reports the transport, not its changes).
func awaitWebSocket(_ client: Client) async throws {
    while client.manager.transport != .websocket { try await Task.sleep(for: .milliseconds(1)) }
}

/// Runs `body` with a WebSocket-only client, then closes it.
func withClient(_ url: String, _ body: (Client) async throws -> Void) async throws {
    let client = try await connect(url, websocketOnly: true)
    do {
        try await body(client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
}

func emit(_ url: String, _ n: Int) async throws {
    try await withClient(url) { client in
        _ = try await client.socket.emitWithAck("echo", "warm up")
        let meter = Meter()
        for i in 0..<n { try await client.socket.emit("e", Message(n: i, s: payload)) }
        let count = try await client.socket.emitWithAck("count", timeout: ackTimeout)
        let (wall, cpu) = meter.stop()
        guard count.count == 1, count.value?.intValue == Int64(n) else {
            throw BenchError(description: "server count \(count)")
        }
        try throughput(n, wall, cpu)
    }
}

/// The receive scenario's state, shared with the socket's handlers: the events counted and
/// whether `done` arrived, with one waiter for it.
final class Receiving: @unchecked Sendable {
    private let lock = NSLock()
    private var received = 0
    private var done = false
    private var waiter: (token: Int, continuation: CheckedContinuation<Bool, Never>)?
    private var tokens = 0

    /// Counts one `r` event.
    func count() {
        lock.lock()
        received += 1
        lock.unlock()
    }

    /// The `r` events counted so far.
    var receivedSoFar: Int {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Records `done` and wakes the waiter.
    func finish() {
        lock.lock()
        done = true
        let continuation = waiter?.continuation
        waiter = nil
        lock.unlock()
        continuation?.resume(returning: true)
    }

    /// Whether `done` arrived within `timeout` (at once when it already had).
    func waitForDone(_ timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            lock.lock()
            if done {
                lock.unlock()
                continuation.resume(returning: true)
                return
            }
            tokens += 1
            let token = tokens
            waiter = (token, continuation)
            lock.unlock()
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(token)
            }
        }
    }

    private func expire(_ token: Int) {
        lock.lock()
        guard let current = waiter, current.token == token else {
            lock.unlock()
            return
        }
        waiter = nil
        lock.unlock()
        current.continuation.resume(returning: false)
    }
}

func receive(_ url: String, _ n: Int) async throws {
    try await withClient(url) { client in
        let state = Receiving()
        client.socket.on("r") { event in if !event.arguments.isEmpty { state.count() } }
        client.socket.on("done") { _ in state.finish() }
        _ = try await client.socket.emitWithAck("echo", "warm up")
        let meter = Meter()
        try await client.socket.emit("send", n)
        // Ends on `done`, or 2 s after the last event if `done` was dropped (timed to that event).
        var seen = 0
        var last = nanos()
        var quiet = 0.0
        while await !state.waitForDone(.milliseconds(200)) {
            let now = state.receivedSoFar
            if now != seen {
                seen = now
                last = nanos()
            } else if now > 0, nanos() - last > 2_000_000_000 {
                quiet = Double(nanos() - last) / 1e9
                break
            }
        }
        let (wall, cpu) = meter.stop()
        let got = state.receivedSoFar
        try throughput(n, wall - quiet, cpu, ["received": got, "dropped": n - got])
    }
}

func ack(_ url: String, _ n: Int) async throws {
    try await withClient(url) { client in
        _ = try await client.socket.emitWithAck("echo", "warm up")
        let meter = Meter()
        let samples = try await sampleMicros(n) { i in
            let reply = try await client.socket.emitWithAck(
                "echo", Message(n: i, s: payload), timeout: ackTimeout)
            guard reply.count == 1 else { throw BenchError(description: "echo answered \(reply)") }
        }
        let (wall, cpu) = meter.stop()
        try latencies(samples, wall, cpu)
    }
}

func binary(_ url: String, _ n: Int) async throws {
    try await withClient(url) { client in
        let data = Data(repeating: 7, count: 64 * 1024)
        _ = try await client.socket.emitWithAck("echo", "warm up")
        let meter = Meter()
        let samples = try await sampleMicros(n) { _ in
            let echoed = try await client.socket.emitWithAck("bin", data, timeout: ackTimeout)
            guard echoed.count == 1, echoed.value?.dataValue?.count == data.count else {
                throw BenchError(description: "bin answered \(echoed)")
            }
        }
        let (wall, cpu) = meter.stop()
        try latencies(samples, wall, cpu)
    }
}

/// Sequential connects, each until the namespace is connected (and upgraded, unless
/// `websocketOnly`).
func connects(_ url: String, _ n: Int, websocketOnly: Bool) async throws {
    let meter = Meter()
    var samples = [Double](repeating: 0, count: n)
    for i in 0..<n {
        let start = nanos()
        let client = try await connect(url, websocketOnly: websocketOnly)
        if !websocketOnly { try await awaitWebSocket(client) }
        samples[i] = Double(nanos() - start) / 1e3
        await client.close()
    }
    let (wall, cpu) = meter.stop()
    try latencies(samples, wall, cpu)
}

/// RSS growth per idle WebSocket connection, connected 100 at a time.
func memory(_ url: String, _ n: Int) async throws {
    // Two rounds of n idle connections: kib_per_conn is the second round's growth (the
    // marginal cost), kib_per_conn_first the first round's (benches/README.md, "Memory").
    try await Task.sleep(for: .milliseconds(200))
    var readings = try [statusKib("VmRSS")]
    var clients: [Client] = []
    for _ in 0..<2 {
        for batch in stride(from: 0, to: n, by: 100) {
            try await withThrowingTaskGroup(of: Client.self) { group in
                for _ in batch..<min(batch + 100, n) {
                    group.addTask { try await connect(url, websocketOnly: true) }
                }
                for try await client in group { clients.append(client) }
            }
        }
        try await Task.sleep(for: .seconds(1))
        try readings.append(statusKib("VmRSS"))
    }
    let (before, mid, after) = (readings[0], readings[1], readings[2])
    try report([
        "n": n, "rss_before_kib": before, "rss_mid_kib": mid, "rss_after_kib": after,
        "kib_per_conn": Double(after - mid) / Double(n),
        "kib_per_conn_first": Double(mid - before) / Double(n),
    ])
    for client in clients { await client.close() }
}

@main
struct FerrioBench {
    static func main() async {
        let args = CommandLine.arguments
        guard args.count == 4, let n = Int(args[3]) else {
            FileHandle.standardError.write(Data("usage: ferrio-swift-bench <scenario> <url> <n>\n".utf8))
            exit(2)
        }
        let (scenario, url) = (args[1], args[2])
        do {
            switch scenario {
            case "emit": try await emit(url, n)
            case "receive": try await receive(url, n)
            case "ack": try await ack(url, n)
            case "binary": try await binary(url, n)
            case "connect_ws": try await connects(url, n, websocketOnly: true)
            case "connect_upgrade": try await connects(url, n, websocketOnly: false)
            case "memory": try await memory(url, n)
            default: throw BenchError(description: "unknown scenario \(scenario)")
            }
        } catch {
            FileHandle.standardError.write(Data("ferrio-swift-bench: \(scenario): \(error)\n".utf8))
            exit(1)
        }
    }
}
