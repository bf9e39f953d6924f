package dev.ferrio

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.seconds

/** The outgoing catch-all: `onAnyOutgoing`/`offAnyOutgoing`. */
class OutgoingTest {
    private val server = TestServer.shared

    @Test
    fun `onAnyOutgoing sees every emit in order, and not the room intents`() = test {
        Client(server.url, ClientOptions(transports = listOf(Transport.WEBSOCKET))).use { client ->
            val seen = Channel<String>(Channel.UNLIMITED)
            client.onAnyOutgoing { event, args -> seen.trySend("$event ${plain(args)}") }
            client.connect()
            client.emit("message", 1)
            client.joinRoom("lobby")
            client.emitVolatile("message", 2)
            client.emit("message", mapOf("data" to bytes(1, 2)))
            assertEquals(listOf(3L), client.emitWithAck("echo", 3))
            repeat(50) { client.emit("countMe", it) }
            val expected = listOf("message [1]", "message [2]", "message [{data=${bin(1, 2)}}]", "echo [3]") +
                List(50) { "countMe [$it]" }
            assertEquals(expected, withTimeout(10.seconds) { List(expected.size) { seen.receive() } })
        }
    }

    @Test
    fun `a closed registration and offAnyOutgoing stop the handlers`() = test {
        Client(server.url).use { client ->
            val first = Channel<String>(Channel.UNLIMITED)
            val second = Channel<String>(Channel.UNLIMITED)
            val registration = client.onAnyOutgoing { event, _ -> first.trySend(event) }
            client.onAnyOutgoing { event, _ -> second.trySend(event) }
            client.connect()
            client.emit("one")
            assertEquals("one", withTimeout(10.seconds) { second.receive() })
            registration.close()
            client.emit("two")
            // Both handlers run for each event, the first before the second.
            assertEquals("two", withTimeout(10.seconds) { second.receive() })
            assertEquals("one", first.tryReceive().getOrNull())
            assertEquals(null, first.tryReceive().getOrNull())

            client.offAnyOutgoing()
            // Acknowledged: it went out before the next handler exists.
            client.emitWithAck("echo", "unseen")
            val third = Channel<String>(Channel.UNLIMITED)
            client.onAnyOutgoing { event, args -> third.trySend("$event $args") }
            client.emit("message", "seen")
            assertEquals("message [seen]", withTimeout(10.seconds) { third.receive() })
            assertEquals(null, second.tryReceive().getOrNull())
        }
    }

    @Test
    fun `a failing outgoing handler does not stop the others`() = test {
        Client(server.url).use { client ->
            val seen = Channel<String>(Channel.UNLIMITED)
            client.onAnyOutgoing { _, _ -> error("boom") }
            client.onAnyOutgoing { event, _ -> seen.trySend(event) }
            client.connect()
            client.emit("one")
            client.emit("two")
            assertEquals(listOf("one", "two"), withTimeout(10.seconds) { List(2) { seen.receive() } })
        }
    }
}
