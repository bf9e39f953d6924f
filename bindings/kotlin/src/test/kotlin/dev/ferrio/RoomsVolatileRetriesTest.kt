package dev.ferrio

import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import dev.ferrio.ffi.defaultClientOptions
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** Room intents, volatile emits and retries against the reference server. */
class RoomsVolatileRetriesTest {
    /** Reconnects within a fraction of a second. */
    private val quick = ClientOptions(
        transports = listOf(Transport.WEBSOCKET),
        reconnectionDelay = 50.milliseconds,
        reconnectionDelayMax = 200.milliseconds,
        randomizationFactor = 0.0,
    )

    /** Reconnects only when asked ([Client.reconnectNow]). */
    private val patient = quick.copy(reconnectionDelay = 1.hours, reconnectionDelayMax = 1.hours)

    @Test
    fun `a room is joined again after a reconnection that did not recover the session, until left`() = test {
        TestServer().use { server ->
            Client(server.url, quick).use { client ->
                val connects = Recorder()
                val disconnects = Recorder()
                val news = Recorder()
                client.on("connect", connects)
                client.on("disconnect", disconnects)
                client.on("room-news", news)
                // Before connecting: the join goes out once connected.
                client.joinRoom("lobby")
                client.connect()
                connects.next()
                waitForEvents(server, "join", 1)
                val firstId = client.id
                assertEquals(listOf("lobby"), rooms(server).filter { it != firstId })

                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                connects.next()
                assertFalse(client.recovered)
                assertNotEquals(firstId, client.id)
                // The server forgot the room with the old session: the client joined again.
                assertEquals(listOf(json(listOf("lobby")), json(listOf("lobby"))), waitForEvents(server, "join", 2))
                server.acontrol("emitToRoom", mapOf("room" to "lobby", "event" to "room-news", "args" to listOf("hello lobby")))
                assertEquals(listOf("hello lobby"), news.next())

                client.leaveRoom("lobby")
                assertEquals(listOf(json(listOf("lobby"))), waitForEvents(server, "leave", 1))
                val id = client.id
                assertEquals(emptyList<String>(), rooms(server).filter { it != id })
                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                connects.next()
                // The echo follows any join of the new connection: there was none.
                assertEquals(listOf("after"), client.emitWithAck("echo", "after"))
                assertEquals(2, received(server, "join").size)
            }
        }
    }

    @Test
    fun `a volatile emit is dropped while disconnected, a plain one is buffered and delivered`() = test {
        TestServer().use { server ->
            Client(server.url, patient).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                client.emitVolatile("message", "live")
                waitForEvents(server, "message", 1)

                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                client.emitVolatile("message", "dropped")
                client.emit("message", "buffered")
                // Emits reach the core in order: once the plain one is buffered, the volatile
                // one before it was dropped (it is not counted).
                assertEquals(1, bufferedBecomes(client, 1).emits)
                client.reconnectNow()
                connects.next()
                assertEquals(listOf("barrier"), client.emitWithAck("echo", "barrier"))
                assertEquals(
                    listOf(json(listOf("live")), json(listOf("buffered"))),
                    received(server, "message"),
                )
            }
        }
    }

    @Test
    fun `an emit the server never acknowledges is sent once plus retries times`() = test {
        TestServer().use { server ->
            Client(server.url, quick.copy(retries = 2, ackTimeout = 300.milliseconds)).use { client ->
                client.connect()
                // `countMe` has no acknowledgement: every try times out.
                val error = runCatching { client.emitWithAck("countMe", 1) }.exceptionOrNull()
                assertTrue(error is TimeoutException, "error: $error")
                assertEquals(3, waitForEvents(server, "countMe", 3).size)
                assertEquals(listOf("after"), client.emitWithAck("echo", "after"))
                assertEquals(3, received(server, "countMe").size)
            }
        }
    }

    @Test
    fun `with retries, an emit cut off with the transport is sent again, and those behind it arrive`() = test {
        TestServer().use { server ->
            Client(server.url, quick.copy(retries = 2, ackTimeout = 1.seconds)).use { client ->
                val greetings = Recorder()
                val disconnects = Recorder()
                client.on("hi", greetings)
                client.on("disconnect", disconnects)
                client.connect()
                // `hi` is answered with an event, never acknowledged: it holds the queue.
                client.emit("hi")
                greetings.next()
                repeat(5) { client.emit("echo", it) }
                server.acontrol("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                // The try cut off counts; the next one goes out on the new connection.
                greetings.next()
                assertEquals(listOf("last"), client.emitWithAck("echo", "last", timeout = 30.seconds))
                val echoed = received(server, "echo").map { it.jsonArray.first().toString() }
                for (n in 0 until 5) assertTrue("$n" in echoed, "echo $n never arrived: $echoed")
                assertTrue(received(server, "hi").size >= 2)
            }
        }
    }

    @Test
    fun `the new options default to the core's and the builder sets them`() {
        val core = defaultClientOptions("")
        val defaults = ClientOptions()
        assertEquals(core.retries.toInt(), defaults.retries)
        assertEquals(core.roomJoinEvent, defaults.roomJoinEvent)
        assertEquals(core.roomLeaveEvent, defaults.roomLeaveEvent)
        assertEquals(0, defaults.retries)
        assertEquals("join", defaults.roomJoinEvent)
        val built = ClientOptions.builder().retries(3).roomEvents("enter", "exit").build()
        assertEquals(ClientOptions(retries = 3, roomJoinEvent = "enter", roomLeaveEvent = "exit"), built)
    }

    @Test
    fun `the room events are the options' own`() = test {
        TestServer().use { server ->
            Client(server.url, quick.copy(roomJoinEvent = "echo", roomLeaveEvent = "countMe")).use { client ->
                client.connect()
                client.joinRoom("lobby")
                client.leaveRoom("lobby")
                assertEquals(listOf(json(listOf("lobby"))), waitForEvents(server, "echo", 1))
                assertEquals(listOf(json(listOf("lobby"))), waitForEvents(server, "countMe", 1))
            }
        }
    }

    private suspend fun waitForEvents(server: TestServer, event: String, count: Int) =
        server.acontrol("waitForEvent", mapOf("nsp" to "/", "event" to event, "count" to count, "timeoutMs" to 10000))
            .getValue("events").jsonArray.map { it.jsonObject.getValue("args") }

    private suspend fun received(server: TestServer, event: String) =
        server.acontrol("received", mapOf("nsp" to "/")).getValue("events").jsonArray
            .map { it.jsonObject }.filter { it.getValue("event").jsonPrimitive.content == event }
            .map { it.getValue("args") }

    /** The rooms of the namespace's only socket (its own id among them). */
    private suspend fun rooms(server: TestServer): List<String> {
        val sockets = server.acontrol("clients").getValue("namespaces").jsonObject.getValue("/").jsonArray
        assertEquals(1, sockets.size)
        return (sockets[0] as JsonObject).getValue("rooms").jsonArray.map { it.jsonPrimitive.content }
    }

    /** The buffer once it holds [emits]: the core counts the emits it has taken in. */
    private suspend fun bufferedBecomes(client: Client, emits: Long): BufferedEmits = withTimeout(10.seconds) {
        var buffered = client.buffered()
        while (buffered.emits != emits) {
            delay(10.milliseconds)
            buffered = client.buffered()
        }
        buffered
    }
}
