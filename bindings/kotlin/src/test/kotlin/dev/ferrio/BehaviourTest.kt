package dev.ferrio

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.launchIn
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.booleanOrNull
import kotlinx.serialization.json.doubleOrNull
import kotlinx.serialization.json.int
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.longOrNull
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.TestInstance
import java.io.File
import java.util.Base64
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The behaviour table's Kotlin driver: every scenario of tests/behaviour/scenarios.json run by
 * [Manager] and [Socket] against a reference server of its own, over each transport; results
 * in target/behaviour/kotlin.json (tests/behaviour/coverage.py reads them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BehaviourTest {
    private val root = File(System.getProperty("ferrio.root") ?: "../..").canonicalFile

    /** `FERRIO_BEHAVIOUR_ONLY` (scenario ids, comma-separated): only those run. */
    private val only = System.getenv("FERRIO_BEHAVIOUR_ONLY")?.split(",")
    private val scenarios: List<JsonObject> =
        Json.parseToJsonElement(File(root, "tests/behaviour/scenarios.json").readText())
            .jsonObject.getValue("scenarios").jsonArray.map { it.jsonObject }
            .filter { scenario -> only?.contains(scenario.string("id")) ?: true }
    private val server by lazy { TestServer() }

    /** The server of the scenarios that ask for connection state recovery (`"server": "recovering"`). */
    private val recoveringServer = lazy { TestServer(mapOf("connectionStateRecovery" to true)) }
    private val results = mutableListOf<Map<String, String>>()

    @TestFactory
    fun `every scenario of the behaviour table passes`(): List<DynamicTest> = scenarios.flatMap { scenario ->
        val id = scenario.string("id")
        scenario.getValue("transports").jsonArray.map { it.jsonPrimitive.content }.map { transport ->
            DynamicTest.dynamicTest("$id over $transport") { runOne(scenario, id, transport) }
        }
    }

    private fun runOne(scenario: JsonObject, id: String, transport: String) {
        val result = mapOf("scenario" to id, "transport" to transport, "language" to LANGUAGE)
        val reason = (scenario["not_applicable"] as? JsonObject)?.get(LANGUAGE)?.jsonPrimitive?.content
        if (reason != null) {
            results += result + mapOf("outcome" to "not-applicable", "detail" to reason)
            return
        }
        val used = if ((scenario["server"] as? JsonPrimitive)?.content == "recovering") recoveringServer.value else server
        try {
            used.control("clear")
            runBlocking { withTimeout(SCENARIO_WAIT) { Run(used, transport, scenario["options"] as? JsonObject).run(scenario) } }
            val connected = scenario.getValue("steps").jsonArray.map { it.jsonObject }
                .filter { it.string("op") == "connect" && it["error"] == null }.map { it.nsp() }
            for (nsp in connected.distinct()) {
                used.control("waitForSockets", mapOf("nsp" to nsp, "count" to 0, "timeoutMs" to 30000))
            }
        } catch (error: Throwable) {
            results += result + mapOf("outcome" to "fail", "detail" to "${error::class.simpleName}: ${error.message}")
            throw error
        }
        results += result + mapOf("outcome" to "pass", "detail" to "")
    }

    @AfterAll
    fun writeResults() {
        server.stop()
        if (recoveringServer.isInitialized()) recoveringServer.value.stop()
        val directory = System.getenv("FERRIO_BEHAVIOUR_RESULTS")?.let(::File) ?: File(root, "target/behaviour")
        directory.mkdirs()
        val json = JsonObject(
            mapOf(
                "language" to JsonPrimitive(LANGUAGE),
                "results" to JsonArray(results.map { r -> JsonObject(r.mapValues { JsonPrimitive(it.value) }) }),
            ),
        )
        File(directory, "$LANGUAGE.json").writeText(json.toString() + "\n")
    }

    /** One scenario over one transport: a manager and its sockets by namespace. */
    private class Run(private val server: TestServer, private val transport: String, options: JsonObject?) {
        /** The scenario's `reconnection_delay_ms`: the first and the longest reconnection delay. */
        private val delay = (options?.get("reconnection_delay_ms") as? JsonPrimitive)?.longOrNull?.milliseconds
        private val manager = Manager(
            server.url,
            ClientOptions(
                transports = when (transport) {
                    "P" -> listOf(Transport.POLLING)
                    "W" -> listOf(Transport.WEBSOCKET)
                    else -> ClientOptions().transports
                },
                query = strings(options?.get("query")),
                extraHeaders = strings(options?.get("headers")),
                retries = (options?.get("retries") as? JsonPrimitive)?.intOrNull ?: 0,
                reconnectionAttempts = (options?.get("reconnection_attempts") as? JsonPrimitive)?.intOrNull
                    ?: ClientOptions().reconnectionAttempts,
                beforeReconnect = (options?.get("reconnect_auth") as? JsonObject)?.let(::giving),
                reconnectionDelay = delay ?: ClientOptions().reconnectionDelay,
                reconnectionDelayMax = delay ?: ClientOptions().reconnectionDelayMax,
                maxBufferedEmits = (options?.get("max_buffered_emits") as? JsonPrimitive)?.longOrNull
                    ?: ClientOptions().maxBufferedEmits,
                bufferPolicy = when ((options?.get("buffer_policy") as? JsonPrimitive)?.content) {
                    "drop_oldest" -> BufferPolicy.DROP_OLDEST
                    else -> BufferPolicy.REJECT
                },
                maxIncomingBytes = limit(options, "max_incoming_bytes") ?: ClientOptions().maxIncomingBytes,
                maxPayloadPackets = limit(options, "max_payload_packets") ?: ClientOptions().maxPayloadPackets,
                maxPreconnectEvents = limit(options, "max_preconnect_events") ?: ClientOptions().maxPreconnectEvents,
                maxPreconnectBytes = limit(options, "max_preconnect_bytes") ?: ClientOptions().maxPreconnectBytes,
            ),
        )
        private val sockets = mutableMapOf<String, Socket>()
        private val calls = mutableMapOf<String, MutableList<Any?>>()
        private val version = MutableStateFlow(0L)

        /** Where the `stream` steps collect their flows; cancelled when the run ends. */
        private val readers = CoroutineScope(Dispatchers.Default)

        /** The records of the `on_manager` steps and the manager event kinds each takes. */
        private val managerRecords = mutableListOf<Pair<String, List<String>>>()

        /** The auth of each namespace, from its `connect` step (sockets are made at first use). */
        private var auths: Map<String, Map<String, Any?>> = emptyMap()

        private fun push(record: String, call: Any?) {
            synchronized(calls) { calls.getOrPut(record) { mutableListOf() }.add(toCatalogue(call)) }
            version.update { it + 1 }
        }

        private fun snapshot(record: String): List<Any?> = synchronized(calls) { calls[record]?.toList() ?: emptyList() }

        private suspend fun waitFor(record: String, count: Int): List<Any?> {
            try {
                withTimeout(STEP_WAIT) { version.first { snapshot(record).size >= count } }
            } catch (error: kotlinx.coroutines.TimeoutCancellationException) {
                throw AssertionError("$record: $count expected, got ${snapshot(record)}")
            }
            return snapshot(record)
        }

        private suspend fun expect(record: String, expected: List<Any?>, exact: Boolean) {
            val seen = waitFor(record, expected.size)
            check(matches(expected, seen.take(expected.size))) { "$record: expected $expected, got $seen" }
            check(!exact || seen.size == expected.size) { "$record: expected exactly $expected, got $seen" }
        }

        private fun socket(step: JsonObject): Socket {
            val nsp = step.nsp()
            return sockets.getOrPut(nsp) {
                manager.socket(nsp, auths[nsp]).also { socket ->
                    socket.on("disconnect") { args, _ -> push("disconnect $nsp", args) }
                }
            }
        }

        /**
         * The `flood` step: `count` emits of `[n, "k" x bytes]`, each as [Socket.emit] sends it
         * (waiting for room when the outgoing queue is full); the first `awaited` by the step,
         * the rest on a thread of their own. Once all returned, the outcomes seen go to the
         * record, sorted: `sent`, or the typed error's name.
         */
        private suspend fun flood(step: JsonObject) {
            val socket = socket(step)
            val event = step.string("event")
            val count = step.getValue("count").jsonPrimitive.long
            val payload = "k".repeat(step.getValue("bytes").jsonPrimitive.int)
            val record = step.string("record")
            val awaited = minOf((step["awaited"] as? JsonPrimitive)?.longOrNull ?: 0L, count)
            val outcomes = sortedSetOf<String>()
            val emitOne = { n: Long ->
                outcomes += try {
                    socket.emit(event, n, payload)
                    "sent"
                } catch (error: FerrioException) {
                    when (error) {
                        is BufferFullException -> "buffer_full"
                        is ClosedException -> "closed"
                        else -> error.toString()
                    }
                }
            }
            withContext(Dispatchers.IO) { for (n in 0 until awaited) emitOne(n) }
            readers.launch(Dispatchers.IO) {
                for (n in awaited until count) emitOne(n)
                push(record, outcomes.toList())
            }
        }

        private fun recorder(step: JsonObject): EventHandler {
            val record = step.string("record")
            val reply = step["reply"]?.jsonArray?.map(::native)
            val block = (step["block_ms"] as? JsonPrimitive)?.longOrNull ?: 0
            return EventHandler { args, ack ->
                if (block > 0) Thread.sleep(block) // a slow handler: it holds the delivery thread
                push(record, args)
                if (reply != null) ack?.send(*reply.toTypedArray())
            }
        }

        suspend fun run(scenario: JsonObject) {
            @Suppress("UNCHECKED_CAST")
            auths = scenario.getValue("steps").jsonArray.map { it.jsonObject }
                .filter { it.string("op") == "connect" && it["auth"] != null }
                .associate { it.nsp() to plain(it.getValue("auth")) as Map<String, Any?> }
            manager.events().onEach { event ->
                if (event is ManagerEvent.ReconnectFailed) push(RECONNECT_FAILED, emptyList<Any?>())
                val call = managerCall(event) ?: return@onEach
                val targets = synchronized(managerRecords) { managerRecords.toList() }
                for ((record, kinds) in targets) if (call.first() as String in kinds) push(record, call)
            }.launchIn(readers)
            try {
                scenario.getValue("steps").jsonArray.forEachIndexed { n, element ->
                    val only = element.jsonObject["transports"]?.jsonArray?.map { it.jsonPrimitive.content }
                    if (only != null && transport !in only) return@forEachIndexed
                    try {
                        step(element.jsonObject)
                    } catch (error: Exception) {
                        throw AssertionError("step ${n + 1} ($element): ${error::class.simpleName}: ${error.message}", error)
                    }
                }
            } finally {
                manager.close()
                readers.cancel()
            }
        }

        private suspend fun step(step: JsonObject) {
            when (val op = step.string("op")) {
                "connect" -> {
                    val expected = step["error"]
                    if (expected == null) {
                        socket(step).connect()
                    } else if (expected is JsonPrimitive) {
                        val thrown = runCatching { socket(step).connect() }.exceptionOrNull()
                        check(typed(expected.content, thrown)) { "connect: expected a ${expected.content} error, got $thrown" }
                    } else {
                        val error = try {
                            socket(step).connect()
                            null
                        } catch (error: ConnectException) {
                            error
                        }
                        checkNotNull(error) { "connect: expected a refusal" }
                        check(error.refused) { "connect: not a refusal: $error" }
                        val seen = mapOf("message" to error.message, "data" to toCatalogue(error.data))
                        check(matches(plain(expected), seen)) { "connect error: expected $expected, got $seen" }
                    }
                }
                "emit" -> {
                    val each = step["args_each"]?.jsonArray ?: JsonArray(listOf(step["args"] ?: JsonArray(emptyList())))
                    for (args in each) {
                        val emit = { socket(step).emit(step.string("event"), *args.jsonArray.map(::native).toTypedArray()) }
                        if (step["error"] == null) {
                            emit()
                        } else {
                            val thrown = try {
                                emit()
                                null
                            } catch (error: FerrioException) {
                                error
                            }
                            check(typed(step.string("error"), thrown)) { "emit: expected a ${step["error"]} error, got $thrown" }
                        }
                    }
                }
                "flood" -> flood(step)
                "emit_mixed" -> {
                    val socket = socket(step)
                    val event = step.string("event")
                    val every = step.getValue("ack_every").jsonPrimitive.long
                    for (n in 0 until step.getValue("count").jsonPrimitive.long) {
                        if (n % every != every - 1) {
                            socket.emit(event, n)
                            continue
                        }
                        val reply = toCatalogue(socket.emitWithAck(event, n, timeout = STEP_WAIT))
                        check(matches(listOf(n), reply)) { "ack of $event $n: got $reply" }
                    }
                }
                "emit_volatile" -> socket(step).emitVolatile(
                    step.string("event"),
                    *(step["args"]?.jsonArray ?: JsonArray(emptyList())).map(::native).toTypedArray(),
                )
                "join_room" -> socket(step).joinRoom(step.string("room"))
                "leave_room" -> socket(step).leaveRoom(step.string("room"))
                "emit_ack" -> {
                    val args = step.getValue("args").jsonArray.map(::native).toTypedArray()
                    val timeout = (step["timeout_ms"] as? JsonPrimitive)?.longOrNull?.milliseconds ?: STEP_WAIT
                    if (step["error"] != null) {
                        val thrown = try {
                            socket(step).emitWithAck(step.string("event"), *args, timeout = timeout)
                            null
                        } catch (error: FerrioException) {
                            error
                        }
                        check(typed(step.string("error"), thrown)) { "ack: expected a ${step["error"]} error, got $thrown" }
                    } else {
                        val reply = toCatalogue(socket(step).emitWithAck(step.string("event"), *args, timeout = timeout))
                        check(matches(plain(step.getValue("reply")), reply)) { "ack: expected ${step["reply"]}, got $reply" }
                    }
                }
                "on" -> socket(step).on(step.string("event"), recorder(step))
                "once" -> socket(step).once(step.string("event"), recorder(step))
                "off" -> socket(step).off(step.string("event"))
                "on_any" -> {
                    val record = step.string("record")
                    socket(step).onAny { event, args, _ -> push(record, listOf(event) + args) }
                }
                "off_any" -> socket(step).offAny()
                "on_any_outgoing" -> {
                    val record = step.string("record")
                    socket(step).onAnyOutgoing { event, args -> push(record, listOf(event) + args) }
                }
                "stream" -> {
                    val record = step.string("record")
                    socket(step).events().onEach { event ->
                        if (event is SocketEvent.Message) push(record, listOf(event.name) + event.args)
                    }.launchIn(readers)
                }
                "on_manager" -> synchronized(managerRecords) {
                    managerRecords += step.string("record") to step.getValue("events").jsonArray.map { it.jsonPrimitive.content }
                }
                "expect" -> expect(
                    step.string("record"),
                    plain(step.getValue("calls")) as List<*>,
                    (step["exact"] as? JsonPrimitive)?.booleanOrNull ?: false,
                )
                "close" -> manager.close()
                "reconnect_now" -> manager.reconnectNow()
                "expect_reconnect_failed" -> waitFor(RECONNECT_FAILED, 1)
                "expect_ended" -> {
                    // Ended for good: disconnected (or the last attempt failed), not reconnecting.
                    val state = socket(step).state
                    val ended = withTimeoutOrNull(STEP_WAIT) {
                        state.first {
                            (it is ConnectionState.Disconnected && !it.reconnecting) ||
                                (it is ConnectionState.Failed && !it.reconnecting)
                        }
                    }
                    checkNotNull(ended) { "state: expected Disconnected or Failed, not reconnecting; is ${state.value}" }
                }
                "clear_buffer" -> socket(step).clearBuffer()
                "expect_buffered" -> {
                    val expected = step.getValue("emits").jsonPrimitive.longOrNull
                    // No event says the count changed: it is read every few milliseconds.
                    val reached = withTimeoutOrNull(STEP_WAIT) {
                        while (socket(step).buffered().emits != expected) delay(5)
                    }
                    checkNotNull(reached) { "buffered: expected $expected emits, got ${socket(step).buffered()}" }
                }
                "disconnect" -> socket(step).disconnect()
                "expect_disconnect" -> {
                    val seen = waitFor("disconnect ${step.nsp()}", 1).first()
                    val allowed = when (val reason = plain(step.getValue("reason"))) {
                        is List<*> -> reason.map { listOf(it) }
                        else -> listOf(listOf(reason))
                    }
                    check(seen in allowed) { "disconnect: expected ${step["reason"]}, got $seen" }
                }
                "expect_recovered" -> {
                    val expected = step.getValue("recovered").jsonPrimitive.booleanOrNull
                    check(socket(step).recovered == expected) { "recovered: expected $expected" }
                }
                "expect_connected" -> {
                    val expected = step.getValue("connected").jsonPrimitive.booleanOrNull
                    check(socket(step).connected == expected) { "connected: expected $expected" }
                }
                "expect_stats" -> {
                    @Suppress("UNCHECKED_CAST")
                    val expected = plain(step.getValue("stats")) as Map<String, Any?>
                    // No event says the statistics changed: they are read every few milliseconds.
                    val reached = withTimeoutOrNull(STEP_WAIT) {
                        while (!statsMatch(expected, observed(manager.stats()))) delay(5)
                    }
                    checkNotNull(reached) { "stats: expected $expected, got ${observed(manager.stats())}" }
                }
                "server" -> {
                    @Suppress("UNCHECKED_CAST")
                    val body = (step["body"]?.let(::plain) ?: emptyMap<String, Any?>()) as Map<String, Any?>
                    val answer = plain(server.acontrol(step.string("action"), body))
                    val expected = step["expect"]?.let(::plain) ?: emptyMap<String, Any?>()
                    check(matches(expected, answer)) { "server: expected $expected, answered $answer" }
                }
                else -> error("unknown op $op")
            }
        }
    }

    private companion object {
        const val LANGUAGE = "kotlin"

        /** The record the manager's [ManagerEvent.ReconnectFailed] events go to. */
        const val RECONNECT_FAILED = "manager reconnect_failed"
        val STEP_WAIT = 30.seconds
        val SCENARIO_WAIT = 120.seconds

        fun JsonObject.string(key: String): String = getValue(key).jsonPrimitive.content

        /** Whether [thrown] is the language's typed error the catalogue names `error`. */
        fun typed(error: String, thrown: Throwable?): Boolean = when (error) {
            "reserved" -> thrown is EmitException && thrown.message?.contains("reserved") == true
            "timeout" -> thrown is TimeoutException
            "disconnected" -> thrown is DisconnectedException
            "closed" -> thrown is ClosedException
            "buffer_full" -> thrown is BufferFullException
            "payload_too_large" -> thrown is EmitException && thrown.message?.contains("maxPayload") == true
            else -> false
        }

        /**
         * A manager event as the catalogue writes it: its kind, then the reason of `close`, the
         * attempt of `reconnect_attempt` or the attempts of `reconnect`; `null` for [ManagerEvent.Lagged].
         */
        fun managerCall(event: ManagerEvent): List<Any>? = when (event) {
            is ManagerEvent.Open -> listOf("open")
            is ManagerEvent.Close -> listOf("close", event.reason.description)
            is ManagerEvent.ReconnectAttempt -> listOf("reconnect_attempt", event.attempt)
            is ManagerEvent.ReconnectError -> listOf("reconnect_error")
            is ManagerEvent.Reconnect -> listOf("reconnect", event.attempts)
            is ManagerEvent.ReconnectFailed -> listOf("reconnect_failed")
            is ManagerEvent.Lagged -> null
        }

        /** Connection statistics in the catalogue's names (`expect_stats`). */
        fun observed(stats: ConnectionStats): Map<String, Any> {
            val acks = stats.ackRoundTrips
            return mapOf(
                "bytes_in" to stats.bytesIn,
                "bytes_out" to stats.bytesOut,
                "packets_in" to stats.packetsIn,
                "packets_out" to stats.packetsOut,
                "reconnects" to stats.reconnects,
                "acks" to acks.count,
                "acks_ordered" to (acks.p50 <= acks.p90 && acks.p90 <= acks.p99 && acks.p99 <= acks.max &&
                    (acks.count == 0L || acks.max.isPositive())),
            )
        }

        /** Each expected value equal, or at least `n` where it is `{"at_least": n}`. */
        fun statsMatch(expected: Map<String, Any?>, observed: Map<String, Any>): Boolean = expected.all { (key, want) ->
            val least = (want as? Map<*, *>)?.get("at_least") as? Number
            if (least != null) (observed[key] as Number).toDouble() >= least.toDouble() else matches(want, observed[key])
        }

        /** A reconnection hook that gives [auth] before every attempt. */
        fun giving(auth: JsonObject): suspend (Int) -> ReconnectUpdate = { ReconnectUpdate(auth = auth) }

        fun strings(element: JsonElement?): Map<String, String> =
            (element as? JsonObject)?.mapValues { it.value.jsonPrimitive.content } ?: emptyMap()

        fun JsonObject.nsp(): String = (this["nsp"] as? JsonPrimitive)?.content ?: "/"

        /** A JSON value as Kotlin values: maps, lists, strings, booleans, longs, doubles. */
        fun plain(element: JsonElement): Any? = when (element) {
            is JsonNull -> null
            is JsonObject -> element.mapValues { plain(it.value) }
            is JsonArray -> element.map(::plain)
            is JsonPrimitive -> when {
                element.isString -> element.content
                element.booleanOrNull != null -> element.booleanOrNull
                element.longOrNull != null -> element.longOrNull
                else -> element.doubleOrNull
            }
        }

        /** A catalogue value as the client takes it: `{"$binary": ...}` becomes a [ByteArray]. */
        fun native(element: JsonElement): Any? = when {
            element is JsonObject && element.keys == setOf("\$binary") ->
                Base64.getDecoder().decode(element.getValue("\$binary").jsonPrimitive.content)
            element is JsonObject -> element.mapValues { native(it.value) }
            element is JsonArray -> element.map(::native)
            else -> plain(element)
        }

        /** A received value as the catalogue writes it: a [ByteArray] becomes `{"$binary": ...}`. */
        fun toCatalogue(value: Any?): Any? = when (value) {
            is ByteArray -> mapOf("\$binary" to Base64.getEncoder().encodeToString(value))
            is List<*> -> value.map(::toCatalogue)
            is Map<*, *> -> value.mapValues { toCatalogue(it.value) }
            else -> value
        }

        /** Objects by the expected keys, arrays element by element, numbers by value. */
        fun matches(expected: Any?, actual: Any?): Boolean = when (expected) {
            is Map<*, *> -> actual is Map<*, *> && expected.all { (k, v) -> actual.containsKey(k) && matches(v, actual[k]) }
            is List<*> -> actual is List<*> && actual.size == expected.size &&
                expected.indices.all { matches(expected[it], actual[it]) }
            is Number -> actual is Number && actual.toDouble() == expected.toDouble()
            else -> expected == actual
        }
    }
}

/** The scenario's size limit [key] (`max_incoming_bytes`, ...), `null` when it has none. */
private fun limit(options: JsonObject?, key: String): Long? = (options?.get(key) as? JsonPrimitive)?.longOrNull
