package dev.ferrio

import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import dev.ferrio.ffi.defaultClientOptions
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** `reconnectNow()` skips the reconnection delay; `recovered` after a recoverable cut; the offline buffer. */
class ReconnectNowTest {
    private val patient = ClientOptions(
        transports = listOf(Transport.WEBSOCKET),
        reconnectionDelay = 1.hours,
        reconnectionDelayMax = 1.hours,
        randomizationFactor = 0.0,
    )

    @Test
    fun `reconnectNow skips an hour of delay and the session is recovered`() = test {
        TestServer(mapOf("connectionStateRecovery" to true)).use { server ->
            Client(server.url, patient).use { client ->
                val connects = Recorder()
                val disconnects = Recorder()
                val greetings = Recorder()
                client.on("connect", connects)
                client.on("disconnect", disconnects)
                client.on("hi", greetings)
                client.connect()
                connects.next()
                assertFalse(client.recovered)
                // Recovery needs an offset: the server gives one with each event.
                client.emit("hi")
                greetings.next()
                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                client.reconnectNow()
                connects.next()
                assertTrue(client.connected)
                assertTrue(client.recovered)
                val state = client.state.value
                assertTrue(state is ConnectionState.Connected && state.recovered, "state: $state")
            }
        }
    }

    @Test
    fun `reconnectNowAsync serves Java callers`() = test {
        TestServer(mapOf("connectionStateRecovery" to true)).use { server ->
            Manager(server.url, patient).use { manager ->
                val socket = manager.socket("/")
                val connects = Recorder()
                val disconnects = Recorder()
                socket.on("connect", connects)
                socket.on("disconnect", disconnects)
                socket.connectAsync().get()
                connects.next()
                socket.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                manager.reconnectNowAsync().get()
                connects.next()
                assertTrue(socket.connected)
            }
        }
    }

    @Test
    fun `emits while disconnected are counted and clearing drops them`() = test {
        TestServer().use { server ->
            Client(server.url, patient).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                assertEquals(BufferedEmits(0, 0), bufferedBecomes(client, 0))
                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                repeat(3) { client.emit("message", "dropped", it) }
                assertTrue(bufferedBecomes(client, 3).bytes > 0)
                client.clearBuffer()
                assertEquals(BufferedEmits(0, 0), bufferedBecomes(client, 0))
                client.emit("message", "kept")
                assertTrue(bufferedBecomes(client, 1).bytes > 0)
                assertEquals(1, client.socket.bufferedAsync().get().emits)
                client.reconnectNow()
                connects.next()
                val events = server.acontrol(
                    "waitForEvent",
                    mapOf("nsp" to "/", "event" to "message", "count" to 1, "timeoutMs" to 10000),
                ).getValue("events").jsonArray
                assertEquals(listOf(json(listOf("kept"))), events.map { it.jsonObject.getValue("args") })
            }
        }
    }

    @Test
    fun `a full buffer with the reject policy refuses with BufferFullException`() = test {
        TestServer().use { server ->
            val options = patient.copy(maxBufferedEmits = 2, bufferPolicy = BufferPolicy.REJECT)
            Client(server.url, options).use { client ->
                val (connects, disconnects) = connectRecorded(client)
                client.emit("closeTransport")
                assertEquals(listOf("transport close"), disconnects.next())
                repeat(2) { client.emit("message", "kept", it) }
                bufferedBecomes(client, 2)
                val error = runCatching { client.emitWithAck("echo", "third") }.exceptionOrNull()
                assertTrue(error is BufferFullException, "error: $error")
                assertEquals(2, client.buffered().emits)
            }
        }
    }

    @Test
    fun `the buffer options default to the core's`() {
        val defaults = ClientOptions()
        val core = defaultClientOptions("")
        assertEquals(core.maxBufferedEmits.toLong(), defaults.maxBufferedEmits)
        assertEquals(core.maxBufferedBytes.toLong(), defaults.maxBufferedBytes)
        assertEquals(BufferPolicy.REJECT, defaults.bufferPolicy)
        val built = ClientOptions.builder().maxBufferedEmits(5).maxBufferedBytes(100)
            .bufferPolicy(BufferPolicy.DROP_OLDEST).build()
        assertEquals(ClientOptions(maxBufferedEmits = 5, maxBufferedBytes = 100, bufferPolicy = BufferPolicy.DROP_OLDEST), built)
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
