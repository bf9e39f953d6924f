package dev.ferrio

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.hours

/** `reconnectNow()` skips the reconnection delay; `recovered` after a recoverable cut. */
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
}
