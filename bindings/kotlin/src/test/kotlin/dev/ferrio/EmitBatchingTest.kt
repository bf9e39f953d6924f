package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.Base64
import java.util.Collections
import java.util.logging.Handler
import java.util.logging.LogRecord
import java.util.logging.Logger
import kotlin.time.Duration.Companion.milliseconds

/** Emits cross to the native layer in batches: order, buffering, close, errors. */
class EmitBatchingTest {
    private val server = TestServer.shared

    /** `[event, first argument]` of what [id] sent, in the order the server received it. */
    private suspend fun receivedFrom(server: TestServer, id: String?): List<Pair<String, Any?>> =
        server.acontrol("received", mapOf("nsp" to "/")).getValue("events").jsonArray
            .map { it.jsonObject }
            .filter { it.getValue("id").text == id }
            .map { it.getValue("event").text to (it.getValue("args") as JsonArray).firstOrNull()?.text }

    @Test
    fun `emits and acknowledged emits arrive in call order`() = test {
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            client.connect()
            val expected = mutableListOf<Pair<String, Any?>>()
            for (i in 0 until 300) {
                when {
                    i % 50 == 49 -> {
                        assertEquals(listOf("$i"), client.emitWithAck("echo", "$i"))
                        expected += "echo" to "$i"
                    }
                    i % 7 == 0 -> {
                        client.emit("seq", "$i", bytes(i % 256))
                        expected += "seq" to "$i"
                    }
                    else -> {
                        client.emit("seq", "$i")
                        expected += "seq" to "$i"
                    }
                }
            }
            client.emitWithAck("echo", "end")
            expected += "echo" to "end"
            assertEquals(expected, receivedFrom(server, client.id))
        }
    }

    @Test
    fun `plain and binary emits to two namespaces arrive in order with their own bytes`() = test {
        Manager(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { manager ->
            val main = manager.socket("/").apply { connect() }
            val custom = manager.socket("/custom").apply { connect() }
            val expected = mapOf(main to mutableListOf<JsonElement>(), custom to mutableListOf())
            for (i in 0 until 200) {
                val socket = if (i % 9 == 0) custom else main
                val args: List<Any?> = if (i % 3 == 0) listOf("$i", bytes(i % 256), mapOf("n" to listOf(bytes(1, i % 256)))) else listOf("$i")
                socket.emit("seq", *args.toTypedArray())
                expected.getValue(socket) += recorded(args)
            }
            for ((socket, sent) in expected) {
                assertEquals(listOf("end"), socket.emitWithAck("echo", "end"))
                val received = server.acontrol("received", mapOf("nsp" to socket.namespace)).getValue("events").jsonArray
                    .map { it.jsonObject }
                    .filter { it.getValue("id").text == socket.id && it.getValue("event").text == "seq" }
                    .map { it.getValue("args") }
                assertEquals(sent, received)
            }
        }
    }

    /** [value] as the reference server records it: binary as `{"$binary": base64}`. */
    private fun recorded(value: Any?): JsonElement = when (value) {
        is ByteArray -> JsonObject(mapOf("\$binary" to JsonPrimitive(Base64.getEncoder().encodeToString(value))))
        is List<*> -> JsonArray(value.map(::recorded))
        is Map<*, *> -> JsonObject(value.entries.associate { it.key as String to recorded(it.value) })
        else -> json(value)
    }

    @Test
    fun `emits made just before close are sent`() = test {
        val id: String?
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            client.connect()
            id = client.id
            repeat(100) { client.emit("lastWords", "$it") }
        }
        val events = server.acontrol(
            "waitForEvent",
            mapOf("nsp" to "/", "event" to "lastWords", "count" to 100, "timeoutMs" to 10000),
        ).getValue("events").jsonArray.map { it.jsonObject }
        val mine = events.filter { it.getValue("id").text == id }.map { it.getValue("args") }
        assertEquals(List(100) { json(listOf("$it")) }, mine)
    }

    @Test
    fun `many emits while reconnecting, with binary, arrive in order after reconnection`() = test {
        TestServer().use { server ->
            Client(server.url, ClientOptions(reconnectionDelay = 50.milliseconds, reconnectionDelayMax = 200.milliseconds)).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                val restart = async { server.acontrol("restart", mapOf("delayMs" to 500)) }
                disconnects.next()
                repeat(150) { if (it % 10 == 0) client.emit("buffered", "$it", bytes(it)) else client.emit("buffered", "$it") }
                restart.await()
                connects.next()
                val events = server.acontrol(
                    "waitForEvent",
                    mapOf("nsp" to "/", "event" to "buffered", "count" to 150, "timeoutMs" to 10000),
                ).getValue("events").jsonArray
                assertEquals(List(150) { "$it" }, events.map { it.jsonObject.getValue("args").jsonArray[0].text })
            }
        }
    }

    @Test
    fun `reserved names and closed clients throw at once, before connecting too`() = test {
        val client = Client(server.url)
        client.use {
            assertThrows<EmitException> { it.emit("connect_error") }
            assertThrows<EmitException> { it.emit("newListener", 1) }
            assertThrows<IllegalArgumentException> { it.emit("x", Any()) }
        }
        assertThrows<ClosedException> { client.emit("x") }
    }

    @Test
    fun `an emit refused when sent is logged, and later emits still go`() = test {
        val warnings = Collections.synchronizedList(mutableListOf<String>())
        val handler = object : Handler() {
            override fun publish(record: LogRecord) {
                warnings.add(record.message)
            }

            override fun flush() = Unit

            override fun close() = Unit
        }
        val logger = Logger.getLogger("dev.ferrio")
        logger.addHandler(handler)
        try {
            TestServer(mapOf("maxHttpBufferSize" to 1000)).use { server ->
                Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
                    client.connect()
                    client.emit("tooBig", "x".repeat(2000))
                    until { warnings.any { "`tooBig` not sent" in it && "maxPayload" in it } }
                    client.emit("small", "ok")
                    assertEquals(listOf("after"), client.emitWithAck("echo", "after"))
                    val names = receivedFrom(server, client.id).map { it.first }
                    assertEquals(listOf("small", "echo"), names)
                    assertTrue(warnings.single { "tooBig" in it }.startsWith("emit failed: /: "))
                }
            }
        } finally {
            logger.removeHandler(handler)
        }
    }
}
