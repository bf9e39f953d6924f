package dev.ferrio

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.seconds

/** `once`, `off`, and the catch-all `onAny`/`offAny`. */
class HandlersTest {
    private val server = TestServer.shared

    @Test
    fun `a once handler runs for the next event only`() = test {
        Client(server.url).use { client ->
            val first = Recorder()
            val every = Recorder()
            // Registered first: for each event it runs before `every`, so once `every` has
            // seen the second event, a second call of `first` would have been recorded.
            client.once("message-back", first)
            client.on("message-back", every)
            client.connect()
            client.emit("message", 1)
            client.emit("message", 2)
            assertEquals(listOf(1L), every.next())
            assertEquals(listOf(2L), every.next())
            assertEquals(listOf(1L), first.next())
            assertEquals(0, first.pending())
        }
    }

    @Test
    fun `a once handler closed or turned off before its event never runs`() = test {
        Client(server.url).use { client ->
            val closed = Recorder()
            val turnedOff = Recorder()
            val kept = Recorder()
            client.once("message-back", closed).close()
            client.once("hi", turnedOff)
            client.off("hi")
            client.on("hi", kept)
            client.on("message-back", kept)
            client.connect()
            client.emit("hi")
            client.emit("message", 3)
            assertEquals(emptyList<Any?>(), kept.next())
            assertEquals(listOf(3L), kept.next())
            assertEquals(0, closed.pending())
            assertEquals(0, turnedOff.pending())
        }
    }

    @Test
    fun `onAny sees every server event before its own handlers, and no lifecycle event`() = test {
        Client(server.url).use { client ->
            val seen = Channel<String>(Channel.UNLIMITED)
            client.onAny { event, args, _ -> seen.trySend("any $event $args") }
            client.on("message-back") { args, _ -> seen.trySend("own $args") }
            client.connect()
            client.emit("message", "x")
            client.emit("hi")
            val order = withTimeout(10.seconds) { List(3) { seen.receive() } }
            assertEquals(listOf("any message-back [x]", "own [x]", "any hi []"), order)
            client.disconnect()
            assertEquals(null, seen.tryReceive().getOrNull())
        }
    }

    @Test
    fun `an onAny handler can answer the server's ack request`() = test {
        Client(server.url).use { client ->
            val answers = Recorder()
            client.on("answer", answers)
            client.onAny { event, args, ack ->
                if (event == "question") ack!!.send((args[0] as Long) + 1)
            }
            client.connect()
            client.emit("askMe", 41)
            assertEquals(listOf(42L), answers.next())
        }
    }

    @Test
    fun `onAny handlers are removed by their registration and by offAny`() = test {
        Client(server.url).use { client ->
            val closed = Channel<String>(Channel.UNLIMITED)
            val kept = Channel<String>(Channel.UNLIMITED)
            val own = Recorder()
            client.onAny { event, _, _ -> closed.trySend(event) }.close()
            client.onAny { event, _, _ -> kept.trySend(event) }
            client.on("message-back", own)
            client.connect()
            client.emit("message", 1)
            assertEquals(listOf(1L), own.next())
            // The catch-all handlers run before the event's own, on the same thread.
            assertEquals("message-back", kept.tryReceive().getOrNull())
            client.offAny()
            client.emit("message", 2)
            assertEquals(listOf(2L), own.next())
            assertEquals(null, kept.tryReceive().getOrNull())
            assertEquals(null, closed.tryReceive().getOrNull())
        }
    }
}
