package dev.ferrio

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.util.concurrent.TimeUnit
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * One reference server process (tests/server, or the Node [script] given) on ephemeral
 * ports. It exits when its stdin closes ([stop], or the JVM's end); [control] posts an
 * action to its control channel.
 */
class TestServer @JvmOverloads constructor(
    config: Map<String, Any?> = emptyMap(),
    script: File = SERVER_JS,
) : AutoCloseable {
    private val process: Process
    val port: Int
    val controlPort: Int
    val url: String

    init {
        val builder = ProcessBuilder("node", script.path, Values.toJson(config).toString())
        builder.environment()["FERRIO_EXIT_ON_STDIN_CLOSE"] = "1"
        builder.redirectError(
            if (System.getenv("FERRIO_SERVER_LOGS") != null) ProcessBuilder.Redirect.INHERIT else ProcessBuilder.Redirect.DISCARD,
        )
        process = builder.start()
        val ready = process.inputStream.bufferedReader().lineSequence().firstOrNull { it.startsWith("READY ") }
        if (ready == null) {
            stop()
            error("the reference server did not print READY")
        }
        val ports = Json.parseToJsonElement(ready.removePrefix("READY ")).jsonObject
        port = ports.getValue("port").jsonPrimitive.int
        controlPort = ports.getValue("control").jsonPrimitive.int
        url = "http://127.0.0.1:$port"
    }

    /** Posts [action] with [body]; its JSON answer. Blocking: use [acontrol] in coroutines. */
    fun control(action: String, body: Map<String, Any?> = emptyMap()): JsonObject {
        val connection = URI("http://127.0.0.1:$controlPort/$action").toURL().openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.doOutput = true
            connection.connectTimeout = 10_000
            connection.readTimeout = 60_000
            connection.setRequestProperty("content-type", "application/json")
            connection.setRequestProperty("connection", "close")
            connection.outputStream.use { it.write(Values.toJson(body).toString().toByteArray()) }
            val status = connection.responseCode
            val stream = if (status < 400) connection.inputStream else connection.errorStream
            val text = stream.bufferedReader().use { it.readText() }
            check(status < 400) { "control $action failed ($status): $text" }
            return Json.parseToJsonElement(text).jsonObject
        } finally {
            connection.disconnect()
        }
    }

    /** [control] off the caller's thread. */
    suspend fun acontrol(action: String, body: Map<String, Any?> = emptyMap()): JsonObject =
        withContext(Dispatchers.IO) { control(action, body) }

    fun stop() {
        runCatching { process.outputStream.close() }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor()
        }
    }

    override fun close() = stop()

    companion object {
        private val SERVER_JS: File = File(
            System.getProperty("ferrio.root") ?: "../..",
            "tests/server/server.js",
        ).canonicalFile

        /** A server shared by the tests that do not change its state; it ends with the JVM. */
        val shared: TestServer by lazy { TestServer() }

        /** A Socket.IO 2.x server (tests/server-v2, `make deps-node-v2`), shared likewise. */
        val v2: TestServer by lazy {
            val script = File(SERVER_JS.parentFile.parentFile, "server-v2/server.js")
            check(File(script.parentFile, "node_modules").isDirectory) {
                "tests/server-v2/node_modules is missing: run `make deps-node-v2`"
            }
            TestServer(script = script)
        }
    }
}

/** A test body with a deadline, so that a missing event fails instead of hanging. */
fun test(timeout: Duration = 60.seconds, body: suspend CoroutineScope.() -> Unit): Unit =
    runBlocking { withTimeout(timeout) { body() } }

/** Waits for a state that no event announces (e.g. the transport upgrade). */
suspend fun until(timeout: Duration = 10.seconds, predicate: () -> Boolean) {
    withTimeout(timeout) {
        while (!predicate()) delay(10.milliseconds)
    }
}

/** A handler that records each call's arguments. */
class Recorder : EventHandler {
    private val calls = Channel<List<Any?>>(Channel.UNLIMITED)
    val threads: MutableList<Thread> = java.util.Collections.synchronizedList(mutableListOf())

    override fun handle(args: List<Any?>, ack: Ack?) {
        threads.add(Thread.currentThread())
        calls.trySend(args)
    }

    suspend fun next(timeout: Duration = 10.seconds): List<Any?> = withTimeout(timeout) { calls.receive() }

    fun pending(): Int {
        var count = 0
        while (calls.tryReceive().isSuccess) count++
        return count
    }
}

/**
 * Records [client]'s `connect` and `disconnect` events, connects it and waits for its first
 * `connect`; returns the two recorders, that first `connect` taken.
 */
suspend fun connectRecorded(client: Client): Pair<Recorder, Recorder> {
    val connects = Recorder()
    val disconnects = Recorder()
    client.on("connect", connects)
    client.on("disconnect", disconnects)
    client.connect()
    connects.next()
    return connects to disconnects
}

/** Values with [ByteArray]s replaced by lists, so that `assertEquals` compares contents. */
fun plain(value: Any?): Any? = when (value) {
    is ByteArray -> Bin(value.toList())
    is List<*> -> value.map(::plain)
    is Map<*, *> -> value.mapValues { plain(it.value) }
    else -> value
}

data class Bin(val bytes: List<Byte>)

fun bin(vararg bytes: Int): Bin = Bin(bytes.map { it.toByte() })

fun bytes(vararg bytes: Int): ByteArray = ByteArray(bytes.size) { bytes[it].toByte() }

fun json(value: Any?): JsonElement = Values.toJson(value)

val JsonElement.text: String get() = (this as JsonPrimitive).content
