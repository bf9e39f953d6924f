package dev.ferrio

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/** Connection statistics ([Manager.stats]) against the reference server. */
class StatsTest {
    private val server = TestServer.shared

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `stats count what was exchanged`(transport: Transport) = test {
        val acks = 10
        val events = 5
        val client = Client(server.url, ClientOptions(transports = listOf(transport)))
        val before: ConnectionStats
        val after: ConnectionStats
        client.use {
            val back = Recorder()
            client.on("message-back", back)
            assertEquals(0L, client.stats().packetsIn)
            client.connect()
            before = client.stats()
            assertEquals(transport, before.transport)
            assertTrue(before.packetsIn >= 2 && before.bytesIn > 0 && before.bytesOut > 0, "$before")
            repeat(acks) { n -> assertEquals(listOf(n.toLong()), client.emitWithAck("echo", n)) }
            // Answered to this client only: the shared server's other clients see nothing.
            repeat(events) { n -> client.emit("message", n) }
            repeat(events) { back.next() }
            after = client.stats()
            assertTrue(after.packetsOut - before.packetsOut >= acks + events, "$after")
            assertTrue(after.packetsIn - before.packetsIn >= acks + events, "$after")
            assertTrue(after.bytesIn > before.bytesIn && after.bytesOut > before.bytesOut, "$after")
            val rtt = after.ackRoundTrips
            assertEquals(acks.toLong(), rtt.count)
            assertTrue(rtt.max > Duration.ZERO && rtt.p50 <= rtt.p90 && rtt.p90 <= rtt.p99 && rtt.p99 <= rtt.max, "$rtt")
            assertTrue(rtt.mean <= rtt.max, "$rtt")
            assertEquals(0L, after.reconnects)
        }
        val closed = client.stats()
        assertNull(closed.transport)
        assertEquals(acks.toLong(), closed.ackRoundTrips.count)
        assertTrue(closed.packetsOut >= after.packetsOut)
    }

    @Test
    fun `stats count a reconnection forced by the server`() = test {
        TestServer().use { own ->
            val options = ClientOptions(transports = listOf(Transport.WEBSOCKET), reconnectionDelay = 50.milliseconds, randomizationFactor = 0.0)
            Client(own.url, options).use { client ->
                val connects = Recorder()
                client.on("connect", connects)
                client.connect()
                connects.next()
                assertEquals(0L, client.stats().reconnects)
                own.acontrol("closeTransport")
                connects.next()
                val stats = client.stats()
                assertEquals(1L, stats.reconnects, "$stats")
                assertTrue(stats.reconnectAttempts >= 1, "$stats")
                assertEquals(Transport.WEBSOCKET, stats.transport)
            }
        }
    }

    @Test
    fun `stats report the upgrade and the age of the last ping`() = test {
        TestServer(mapOf("pingInterval" to 100)).use { own ->
            Client(own.url).use { client ->
                client.connect()
                until { client.stats().transport == Transport.WEBSOCKET }
                until { client.stats().sinceLastPing != null }
                assertNotNull(client.stats().sinceLastPing)
            }
        }
    }
}
