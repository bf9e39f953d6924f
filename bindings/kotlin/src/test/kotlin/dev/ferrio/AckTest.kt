package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.serialization.json.jsonArray
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CompletableFuture
import kotlin.time.Duration.Companion.milliseconds

/** Acknowledgements both ways. */
class AckTest {
    private val server = TestServer.shared

    @Test
    fun `emitWithAck returns the values of the server's acknowledgement`() = test {
        Client(server.url).use { client ->
            client.connect()
            assertEquals(listOf("one"), client.emitWithAck("echo", "one"))
            assertEquals(listOf("a", 2L, listOf(3L)), client.emitWithAck("echo", "a", 2, listOf(3)))
            assertEquals(emptyList<Any?>(), client.emitWithAck("echo"))
            assertEquals(listOf(client.id), client.emitWithAck("getId"))
        }
    }

    @Test
    fun `a handler answers the server's ack request through its ack`() = test {
        Client(server.url).use { client ->
            val answers = Recorder()
            client.on("answer", answers)
            client.on("question") { args, ack ->
                ack!!.send((args[0] as Long) * 2, "doubled")
            }
            client.connect()
            client.emit("askMe", 21)
            assertEquals(listOf(42L, "doubled"), answers.next())
        }
    }

    @Test
    fun `an ack is sent exactly once`() = test {
        Client(server.url).use { client ->
            val second = CompletableFuture<Throwable?>()
            val answers = Recorder()
            client.on("answer", answers)
            client.on("question") { _, ack ->
                ack!!.send(1)
                second.complete(runCatching { ack.send(2) }.exceptionOrNull())
            }
            client.connect()
            client.emit("askMe", 0)
            assertEquals(listOf(1L), answers.next())
            assertTrue(second.get() is EmitException, "${second.get()}")
        }
    }

    @Test
    fun `an event collected from the Flow can be acknowledged with binary`() = test {
        Client(server.url).use { client ->
            client.connect()
            val events = client.events()
            val pending = async {
                server.acontrol("emitWithAck", mapOf("event" to "manual", "args" to emptyList<Any>(), "timeoutMs" to 5000))
            }
            val event = events.filterIsInstance<SocketEvent.Message>().first { it.name == "manual" }
            val ack = event.ack!!
            ack.send(mapOf("by" to bytes(7)))
            assertTrue(ack.isSent)
            val responses = pending.await().getValue("responses").jsonArray
            assertEquals(json(listOf(mapOf("by" to mapOf("\$binary" to "Bw==")))), responses)
        }
    }

    @Test
    fun `an ack request without handler is answered with no values`() = test {
        Client(server.url).use { client ->
            client.connect()
            val answer = server.acontrol("emitWithAck", mapOf("event" to "nobody", "args" to emptyList<Any>(), "timeoutMs" to 5000))
            assertEquals(false, answer.containsKey("error"), "$answer")
        }
    }

    @Test
    fun `emitWithAck without a reply throws TimeoutException`() = test {
        Client(server.url).use { client ->
            client.connect()
            val error = assertThrows<TimeoutException> { client.emitWithAck("hi", timeout = 200.milliseconds) }
            assertEquals(200.milliseconds, error.timeout)
        }
    }
}
