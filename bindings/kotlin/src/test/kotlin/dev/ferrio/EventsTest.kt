package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.yield
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Events both ways, binary, the Flow of events, ordering. */
class EventsTest {
    private val server = TestServer.shared

    @Test
    fun `events travel both ways`() = test {
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            val back = Recorder()
            client.on("message-back", back)
            client.connect()
            client.emit("message", "hello", 1, mapOf("a" to listOf(true, null)))
            assertEquals(listOf("hello", 1L, mapOf("a" to listOf(true, null))), back.next())
            client.emit("message", "one")
            assertEquals(listOf("one"), back.next())
            client.emit("message")
            assertEquals(emptyList<Any?>(), back.next())
        }
    }

    @Test
    fun `server events reach the handlers in order with UTF-8 intact`() = test {
        Client(server.url).use { client ->
            val texts = Recorder()
            client.on("takeUtf8", texts)
            client.connect()
            client.emit("getUtf8")
            val received = List(4) { texts.next().single() }
            assertEquals(listOf("てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string"), received)
        }
    }

    @Test
    fun `a removed handler is no longer called`() = test {
        Client(server.url).use { client ->
            val removed = Recorder()
            val kept = Recorder()
            client.on("message-back", removed).close()
            client.on("message-back", kept)
            client.connect()
            client.emit("message", 1)
            assertEquals(listOf(1L), kept.next())
            assertEquals(0, removed.pending())
        }
    }

    @Test
    fun `events can be collected as a Flow that completes on close`() = test {
        val client = Client(server.url)
        client.use {
            client.connect()
            val events = client.events()
            val rest = client.events()
            val remaining = async { rest.toList() }
            yield()
            server.acontrol("emit", mapOf("event" to "news", "args" to listOf(1, mapOf("x" to "y"))))
            val message = events.filterIsInstance<SocketEvent.Message>().first()
            assertEquals("/", message.namespace)
            assertEquals("news", message.name)
            assertEquals(listOf(1L, mapOf("x" to "y")), message.args)
            assertEquals(null, message.ack)
            assertThrows<IllegalStateException> { events.first() }
            client.close()
            val all = remaining.await()
            assertTrue(all.any { it is SocketEvent.Message && it.name == "news" }, "$all")
        }
    }

    @Test
    fun `the Flow reports lifecycle events`() = test {
        Manager(server.url, ClientOptions(reconnection = false)).use { manager ->
            val socket = manager.socket("/")
            val events = socket.events()
            val collected = async { events.toList() }
            socket.connect()
            socket.emit("disconnectMe")
            until { socket.state.value is ConnectionState.Disconnected }
            manager.close()
            val lifecycle = collected.await().filter { it !is SocketEvent.Message }
            assertEquals(2, lifecycle.size, "$lifecycle")
            assertTrue(lifecycle[0] is SocketEvent.Connected)
            assertEquals(SocketEvent.Disconnected("/", DisconnectReason.IoServerDisconnect), lifecycle[1])
        }
    }

    @Test
    fun `byte arrays nested in arguments travel as binary`() = test {
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            val back = Recorder()
            val nested = Recorder()
            client.on("message-back", back)
            client.on("nestedbin", nested)
            client.connect()
            client.emit("message", bytes(1, 2), mapOf("deep" to listOf(bytes(3), mapOf("x" to bytes(4, 5)))))
            assertEquals(
                listOf(bin(1, 2), mapOf("deep" to listOf(bin(3), mapOf("x" to bin(4, 5))))),
                plain(back.next()),
            )
            val received = server.acontrol("received", mapOf("nsp" to "/")).getValue("events").jsonArray
            val last = received.map { it.jsonObject }.last { it.getValue("event").text == "message" }
            assertEquals(json(mapOf("\$binary" to "AQI=")), last.getValue("args").jsonArray[0])
            client.emit("getNestedBin")
            assertEquals(
                listOf(bin(1, 2, 3), mapOf("nested" to mapOf("deep" to listOf(bin(4, 5))), "text" to "x")),
                plain(nested.next()),
            )
            assertEquals(listOf(listOf(bin(), bin(0xff))), plain(client.emitWithAck("echo", listOf(bytes(), bytes(0xff)))))
        }
    }

    @Test
    fun `many emits arrive in order`() = test {
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            client.connect()
            repeat(5000) { client.emit("countMe") }
            assertEquals(listOf(5000L), client.emitWithAck("count"))
        }
    }

    @Test
    fun `reserved events cannot be emitted`() = test {
        Client(server.url).use { client ->
            client.connect()
            assertThrows<EmitException> { client.emit("disconnect") }
            assertThrows<EmitException> { client.emitWithAck("connect") }
            assertThrows<IllegalArgumentException> { client.emit("x", Any()) }
        }
    }
}
