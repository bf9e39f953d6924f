/*
 * Ferrio (Kotlin) bench client: `java -jar ferrio-bench.jar <scenario> <url> <n>`.
 *
 * The scenarios of benches/README.md, written like the other clients (benches/rust's
 * ferrio.rs, python_client.py, js/client.mjs): the same warm-up (one `echo` call before a
 * measured loop), the same measured loop, one `RESULT {json}` line. CPU is the JVM process's
 * (every thread: the JIT compiler, the GC and the native threads of the Rust core included)
 * over the measured loop, so JIT compilation inside the loop counts, as V8's does for the
 * JS client.
 */
package dev.ferrio.bench

import com.sun.management.OperatingSystemMXBean
import dev.ferrio.Client
import dev.ferrio.ClientOptions
import dev.ferrio.Transport
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObjectBuilder
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import java.io.File
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicLong
import kotlin.math.roundToInt
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

private const val PAYLOAD = "0123456789abcdef"
private val ACK_TIMEOUT = 120.seconds

private val operatingSystem = ManagementFactory.getOperatingSystemMXBean() as OperatingSystemMXBean

/** User + system CPU time of this process (all of its threads), in seconds, to the clock tick (10 ms). */
private fun cpuSeconds(): Double = operatingSystem.processCpuTime / 1e9

/** A field of /proc/self/status in KiB: `VmRSS` (now) or `VmHWM` (the peak of this process image). */
private fun statusKib(field: String): Long =
    File("/proc/self/status").useLines { lines ->
        lines.first { it.startsWith("$field:") }.substringAfter(':').trim().removeSuffix("kB").trim().toLong()
    }

/** Wall-clock and CPU time since its creation. */
private class Meter {
    private val wall = System.nanoTime()
    private val cpu = cpuSeconds()

    /** Wall and CPU seconds so far. */
    fun stop(): Pair<Double, Double> = (System.nanoTime() - wall) / 1e9 to cpuSeconds() - cpu
}

/** Prints the one result line the driver reads, with this process's peak RSS. */
private fun report(fields: JsonObjectBuilder.() -> Unit) {
    val result = buildJsonObject {
        fields()
        put("peak_rss_kib", statusKib("VmHWM"))
    }
    println("RESULT $result")
}

private fun throughput(n: Int, wall: Double, cpu: Double, extra: JsonObjectBuilder.() -> Unit = {}) = report {
    put("n", n)
    put("wall_s", wall)
    put("cpu_s", cpu)
    put("per_s", n / wall)
    put("cpu_us_per_msg", cpu / n * 1e6)
    extra()
}

private fun latencies(samplesUs: DoubleArray, wall: Double, cpu: Double) {
    val sorted = samplesUs.sortedArray()
    fun percentile(p: Double) = sorted[((sorted.size - 1) * p).roundToInt()]
    report {
        put("n", sorted.size)
        put("wall_s", wall)
        put("cpu_s", cpu)
        put("cpu_us_per_msg", cpu / sorted.size * 1e6)
        put("p50_us", percentile(0.5))
        put("p99_us", percentile(0.99))
    }
}

/** Runs [block] for 0 until [n], in order, and returns how long each run took, in microseconds. */
private inline fun sampleMicros(n: Int, block: (Int) -> Unit): DoubleArray {
    val samples = DoubleArray(n)
    for (i in 0 until n) {
        val start = System.nanoTime()
        block(i)
        samples[i] = (System.nanoTime() - start) / 1e3
    }
    return samples
}

/** A connected client without reconnection: WebSocket only, or polling then the upgrade. */
private suspend fun connect(url: String, websocketOnly: Boolean): Client {
    val transports = if (websocketOnly) listOf(Transport.WEBSOCKET) else listOf(Transport.POLLING, Transport.WEBSOCKET)
    val client = Client(url, ClientOptions(transports = transports, reconnection = false))
    client.connect()
    return client
}

/** Waits for the upgrade to WebSocket (the package reports the transport, not its changes). */
private suspend fun awaitWebSocket(client: Client) {
    while (client.manager.transport != Transport.WEBSOCKET) delay(1.milliseconds)
}

private suspend fun emit(url: String, n: Int) = connect(url, websocketOnly = true).use { client ->
    client.emitWithAck("echo", "warm up")
    val meter = Meter()
    for (i in 0 until n) client.emit("e", mapOf("n" to i, "s" to PAYLOAD))
    val count = client.emitWithAck("count", timeout = ACK_TIMEOUT).single()
    val (wall, cpu) = meter.stop()
    check(count == n.toLong()) { "server count $count" }
    throughput(n, wall, cpu)
}

private suspend fun receive(url: String, n: Int) = connect(url, websocketOnly = true).use { client ->
    // The handlers run on the socket's delivery thread.
    val received = AtomicLong()
    val done = CompletableDeferred<Unit>()
    client.on("r") { args, _ -> if (args.isNotEmpty()) received.incrementAndGet() }
    client.on("done") { _, _ -> done.complete(Unit) }
    client.emitWithAck("echo", "warm up")
    val meter = Meter()
    client.emit("send", n)
    // Ends on `done`, or 2 s after the last event if `done` was dropped (timed to that event).
    var seen = 0L
    var last = TimeSource.Monotonic.markNow()
    var quiet = Duration.ZERO
    while (withTimeoutOrNull(200.milliseconds) { done.await() } == null) {
        val now = received.get()
        if (now != seen) {
            seen = now
            last = TimeSource.Monotonic.markNow()
        } else if (now > 0 && last.elapsedNow() > 2.seconds) {
            quiet = last.elapsedNow()
            break
        }
    }
    val (wall, cpu) = meter.stop()
    val got = received.get()
    throughput(n, wall - quiet.inWholeNanoseconds / 1e9, cpu) {
        put("received", got)
        put("dropped", n - got)
    }
}

private suspend fun ack(url: String, n: Int) = connect(url, websocketOnly = true).use { client ->
    client.emitWithAck("echo", "warm up")
    val meter = Meter()
    val samples = sampleMicros(n) { i ->
        val reply = client.emitWithAck("echo", mapOf("n" to i, "s" to PAYLOAD), timeout = ACK_TIMEOUT)
        check(reply.size == 1) { "echo answered $reply" }
    }
    val (wall, cpu) = meter.stop()
    latencies(samples, wall, cpu)
}

private suspend fun binary(url: String, n: Int) = connect(url, websocketOnly = true).use { client ->
    val data = ByteArray(64 * 1024) { 7 }
    client.emitWithAck("echo", "warm up")
    val meter = Meter()
    val samples = sampleMicros(n) {
        val echoed = client.emitWithAck("bin", data, timeout = ACK_TIMEOUT).single()
        check(echoed is ByteArray && echoed.size == data.size) { "bin answered $echoed" }
    }
    val (wall, cpu) = meter.stop()
    latencies(samples, wall, cpu)
}

/** Sequential connects, each until the namespace is connected (and upgraded, unless [websocketOnly]). */
private suspend fun connects(url: String, n: Int, websocketOnly: Boolean) {
    val meter = Meter()
    val samples = DoubleArray(n)
    for (i in 0 until n) {
        val start = System.nanoTime()
        val client = connect(url, websocketOnly)
        if (!websocketOnly) awaitWebSocket(client)
        samples[i] = (System.nanoTime() - start) / 1e3
        client.close()
    }
    val (wall, cpu) = meter.stop()
    latencies(samples, wall, cpu)
}

/** RSS growth per idle WebSocket connection, connected 100 at a time. */
private suspend fun memory(url: String, n: Int) {
    // Two rounds of n idle connections: kib_per_conn is the second round's growth (the
    // marginal cost: class loading, the native library and the JIT fall in the first
    // round), kib_per_conn_first the first round's (benches/README.md, "Memory").
    delay(200.milliseconds)
    val before = statusKib("VmRSS")
    val clients = mutableListOf<Client>()
    val readings = (0 until 2).map {
        clients += (0 until n).chunked(100).flatMap { batch ->
            coroutineScope { batch.map { async { connect(url, websocketOnly = true) } }.awaitAll() }
        }
        delay(1.seconds)
        statusKib("VmRSS")
    }
    val (mid, after) = readings
    report {
        put("n", n)
        put("rss_before_kib", before)
        put("rss_mid_kib", mid)
        put("rss_after_kib", after)
        put("kib_per_conn", (after - mid).toDouble() / n)
        put("kib_per_conn_first", (mid - before).toDouble() / n)
    }
    clients.forEach(Client::close)
}

fun main(args: Array<String>) = runBlocking {
    require(args.size == 3) { "usage: ferrio-bench <scenario> <url> <n>" }
    val (scenario, url) = args
    val n = args[2].toInt()
    when (scenario) {
        "emit" -> emit(url, n)
        "receive" -> receive(url, n)
        "ack" -> ack(url, n)
        "binary" -> binary(url, n)
        "connect_ws" -> connects(url, n, websocketOnly = true)
        "connect_upgrade" -> connects(url, n, websocketOnly = false)
        "memory" -> memory(url, n)
        else -> throw IllegalArgumentException("unknown scenario $scenario")
    }
}
