package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** The manager's connection events as a Flow, and the socket state once reconnection gives up. */
class ManagerEventsTest {
    private val fast = ClientOptions(
        transports = listOf(Transport.WEBSOCKET),
        reconnectionDelay = 50.milliseconds,
        reconnectionDelayMax = 200.milliseconds,
        randomizationFactor = 0.0,
    )

    /** Receives events until one matches [last], returning them all. */
    private suspend fun Channel<ManagerEvent>.until(last: (ManagerEvent) -> Boolean): List<ManagerEvent> =
        withTimeout(30.seconds) {
            val seen = mutableListOf<ManagerEvent>()
            while (seen.lastOrNull()?.let(last) != true) seen += receive()
            seen
        }

    @Test
    fun `a reconnection is reported attempt by attempt, and the flow completes on close`() = test {
        TestServer().use { server ->
            val events = Channel<ManagerEvent>(Channel.UNLIMITED)
            val collecting = Manager(server.url, fast).use { manager ->
                val socket = manager.socket()
                val flow = manager.events()
                val collecting = launch { flow.collect { events.send(it) } }
                socket.connect()
                assertEquals(ManagerEvent.Open, events.receive())
                val restart = async { server.acontrol("restart", mapOf("delayMs" to 300)) }
                val seen = events.until { it is ManagerEvent.Reconnect }
                restart.await()
                assertTrue(seen.first() is ManagerEvent.Close, "$seen")
                val attempts = seen.filterIsInstance<ManagerEvent.ReconnectAttempt>().map { it.attempt }
                assertEquals((1..attempts.size).toList(), attempts)
                assertEquals(ManagerEvent.Reconnect(attempts.size), seen.last())
                socket.state.first { it is ConnectionState.Connected }
                collecting
            }
            collecting.join()
        }
    }

    @Test
    fun `when reconnection gives up it is reported and the state no longer says it reconnects`() = test {
        TestServer().use { server ->
            Manager(server.url, fast.copy(reconnectionAttempts = 2)).use { manager ->
                val socket = manager.socket()
                val events = Channel<ManagerEvent>(Channel.UNLIMITED)
                val flow = manager.events()
                launch { flow.collect { events.send(it) } }
                socket.connect()
                assertEquals(ManagerEvent.Open, events.receive())
                server.stop()
                val seen = events.until { it == ManagerEvent.ReconnectFailed }
                assertTrue(seen.first() is ManagerEvent.Close, "$seen")
                assertEquals(listOf(1, 2), seen.filterIsInstance<ManagerEvent.ReconnectAttempt>().map { it.attempt })
                assertEquals(2, seen.count { it is ManagerEvent.ReconnectError }, "$seen")
                assertFalse(seen.any { it is ManagerEvent.Reconnect || it == ManagerEvent.Open }, "$seen")
                // Each failed attempt is a `connect_error`: the state is a failure that no
                // longer reconnects once reconnection gave up.
                val state = socket.state.first { it is ConnectionState.Failed && !it.reconnecting }
                assertFalse((state as ConnectionState.Failed).error.refused, "$state")
            }
        }
    }

    @Test
    fun `without reconnection a lost connection does not say it reconnects`() = test {
        Client(TestServer.shared.url, fast.copy(reconnection = false)).use { client ->
            client.connect()
            client.emit("closeTransport")
            val state = client.state.first { it is ConnectionState.Disconnected }
            assertEquals(ConnectionState.Disconnected(DisconnectReason.TransportClose, reconnecting = false), state)
        }
    }
}
