package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.int
import kotlinx.serialization.json.put
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.milliseconds

/** Reconnection after a server restart, and emits buffered until the namespace is connected. */
class ReconnectionTest {
    private val fast = ClientOptions(
        transports = listOf(Transport.WEBSOCKET),
        reconnectionDelay = 50.milliseconds,
        reconnectionDelayMax = 200.milliseconds,
        randomizationFactor = 0.0,
    )

    @Test
    fun `the client reconnects after a server restart`() = test {
        TestServer().use { server ->
            Client(server.url, fast).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                val firstSid = client.id
                val restart = async { server.acontrol("restart", mapOf("delayMs" to 300)) }
                assertEquals(listOf("transport close"), disconnects.next())
                restart.await()
                connects.next()
                assertNotEquals(firstSid, client.id)
                assertEquals(listOf("again"), client.emitWithAck("echo", "again"))
                assertEquals(1, server.acontrol("stats").getValue("restarts").jsonPrimitive.int)
            }
        }
    }

    @Test
    fun `beforeReconnect runs before every attempt and the server sees its fresh token`() = test {
        TestServer().use { server ->
            val attempts = java.util.Collections.synchronizedList(mutableListOf<Int>())
            val options = fast.copy(
                auth = buildJsonObject { put("token", "secret") },
                beforeReconnect = { attempt ->
                    attempts.add(attempt)
                    ReconnectUpdate(auth = buildJsonObject { put("token", "fresh") })
                },
            )
            Manager(server.url, options).use { manager ->
                val socket = manager.socket("/auth")
                val welcomes = Recorder()
                socket.on("welcome", welcomes)
                socket.connect()
                assertEquals(listOf("secret"), welcomes.next())
                assertEquals(emptyList<Int>(), attempts.toList(), "not called for the first connection")
                server.acontrol("setToken", mapOf("token" to "fresh"))
                server.acontrol("restart", mapOf("delayMs" to 200))
                assertEquals(listOf("fresh"), welcomes.next())
                assertEquals(1, attempts.first(), "called with the attempt's number")
            }
        }
    }

    @Test
    fun `emits while reconnecting are sent in order after reconnection`() = test {
        TestServer().use { server ->
            Client(server.url, fast).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                val restart = async { server.acontrol("restart", mapOf("delayMs" to 500)) }
                disconnects.next()
                repeat(3) { client.emit("message", "buffered", it) }
                restart.await()
                connects.next()
                val events = server.acontrol(
                    "waitForEvent",
                    mapOf("nsp" to "/", "event" to "message", "count" to 3, "timeoutMs" to 10000),
                ).getValue("events").jsonArray
                assertEquals(
                    List(3) { json(listOf("buffered", it)) },
                    events.map { it.jsonObject.getValue("args") },
                )
            }
        }
    }

    @Test
    fun `emits before the namespace is connected arrive after it is`() = test {
        val server = TestServer.shared
        Manager(server.url).use { manager ->
            val slow = manager.socket("/slow")
            val connecting = launch { slow.connect() }
            assertFalse(slow.connected)
            slow.emit("early", "first")
            slow.emit("early", "second")
            connecting.join()
            val events = server.acontrol(
                "waitForEvent",
                mapOf("nsp" to "/slow", "event" to "early", "count" to 2, "timeoutMs" to 10000),
            ).getValue("events").jsonArray.map { it.jsonObject }
            val mine = events.filter { it.getValue("id").text == slow.id }.map { it.getValue("args") }
            assertEquals(listOf(json(listOf("first")), json(listOf("second"))), mine)
        }
    }
}
