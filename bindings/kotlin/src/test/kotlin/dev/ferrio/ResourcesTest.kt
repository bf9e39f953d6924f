package dev.ferrio

import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotSame
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import dev.ferrio.ffi.liveDeliveryThreads
import dev.ferrio.ffi.liveRuntimeTasks

/** Deterministic release: no thread outlives a closed client; delivery threads stay attached. */
class ResourcesTest {
    private val server = TestServer.shared

    private fun jvmThreads(): Set<Thread> = Thread.getAllStackTraces().keys.filter { it.isAlive }.toSet()

    private suspend fun session() = coroutineScope {
        Manager(server.url).use { manager ->
            val main = manager.socket("/")
            val custom = manager.socket("/custom")
            main.on("message-back", Recorder())
            main.connect()
            custom.connect()
            val flow = main.events()
            val collected = async { flow.toList() }
            yield()
            assertEquals(listOf(1L), main.emitWithAck("echo", 1))
            assertEquals(listOf(2L), custom.emitWithAck("echo", 2))
            manager.close()
            collected.await()
        }
    }

    @Test
    fun `no thread is left running after close`() = test {
        session() // loads the library and starts its process-wide cleaner
        val before = jvmThreads()
        repeat(3) { session() }
        // The process-wide runtime's workers stay attached once they woke a coroutine: at
        // most its worker threads, whichever sessions they served.
        val runtime = { jvmThreads().filter { it.name == NativeThreads.RUNTIME_THREAD } }
        val left = { jvmThreads() - before - runtime().toSet() }
        runCatching { until { left().isEmpty() } }
        assertTrue(left().isEmpty(), "threads left: ${left().map { it.name }}")
        assertTrue(runtime().size <= NativeThreads.RUNTIME_THREADS, "runtime threads: ${runtime().size}")
        assertEquals(0u, liveDeliveryThreads())
        until { liveRuntimeTasks() == 0uL }
    }

    @Test
    fun `handlers run on a delivery thread that stays attached between batches`() = test {
        Client(server.url).use { client ->
            val connects = Recorder()
            val back = Recorder()
            client.on("connect", connects)
            client.on("message-back", back)
            client.connect()
            client.emit("message", 1)
            back.next()
            client.emit("message", 2)
            back.next()
            val threads = connects.threads + back.threads
            val delivery = threads.first()
            threads.forEach { assertSame(delivery, it, "one JVM thread, attached once, for every batch") }
            assertNotSame(Thread.currentThread(), delivery)
            assertTrue(delivery.isDaemon)
            assertTrue(delivery.name.startsWith("ferrio-delivery"), delivery.name)
            assertEquals(1u, liveDeliveryThreads())
            assertTrue(delivery in jvmThreads())
        }
        assertEquals(0u, liveDeliveryThreads())
    }

    @Test
    fun `a closed manager refuses work with ClosedException`() = test {
        val manager = Manager(server.url)
        val socket = manager.socket("/")
        manager.close()
        assertTrue(manager.isClosed)
        assertEquals(ConnectionState.Closed, socket.state.value)
        org.junit.jupiter.api.assertThrows<ClosedException> { socket.emit("x") }
        org.junit.jupiter.api.assertThrows<ClosedException> { socket.connect() }
        assertEquals(emptyList<SocketEvent>(), socket.events().toList())
    }

    @Test
    fun `a resource the system refuses is a ConnectException, not an internal one`() {
        val error = ferrioError(dev.ferrio.ffi.CallException.Resource("could not start a delivery thread: EAGAIN"))
        assertTrue(error is ConnectException, error.toString())
        assertTrue("EAGAIN" in (error.message ?: ""))
    }
}
