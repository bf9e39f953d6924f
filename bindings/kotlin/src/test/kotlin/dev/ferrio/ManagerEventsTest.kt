package dev.ferrio

import dev.ferrio.ffi.EventKind as FfiEventKind
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
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
    fun `the disconnect and connect_error queued before reconnection gives up are handled before it is seen to`() = test {
        // A backlog of events, the connection lost and reconnection given up while a delivery
        // thread is held by the backlog's first handler: the disconnect and the failed
        // attempt's connect_error were queued before the core announced giving up, so their
        // handlers run before the manager's flow says ReconnectFailed and before the state
        // stops saying it reconnects, however many events wait before them.
        TestServer().use { server ->
            val backlog = 10_000
            val options = fast.copy(reconnectionAttempts = 1, incomingCapacity = 2L * backlog)
            Manager(server.url, options).use { manager ->
                val socket = manager.socket()
                val seen = Collections.synchronizedList(mutableListOf<String>())
                val attemptFailed = connectErrorQueued(socket)
                socket.on("n") { args, _ ->
                    seen += "n"
                    if ((args[0] as Number).toInt() == 0) {
                        server.control("refuseConnections", mapOf("refuse" to true))
                        server.control("closeTransport")
                        attemptFailed.await(30, TimeUnit.SECONDS)
                    }
                }
                fun reconnecting() = when (val state = socket.state.value) {
                    is ConnectionState.Disconnected -> state.reconnecting
                    is ConnectionState.Failed -> state.reconnecting
                    else -> null
                }
                socket.on("disconnect") { _, _ -> seen += "disconnect, reconnecting ${reconnecting()}" }
                socket.on("connect_error") { _, _ -> seen += "connect_error, reconnecting ${reconnecting()}" }
                val flowGaveUp = CompletableDeferred<Unit>()
                val flow = manager.events()
                launch(Dispatchers.IO) {
                    flow.collect {
                        if (it == ManagerEvent.ReconnectFailed) {
                            seen += "reconnect_failed"
                            flowGaveUp.complete(Unit)
                        }
                    }
                }
                socket.connect()
                server.acontrol("emitMany", mapOf("event" to "n", "count" to backlog))
                flowGaveUp.await()
                socket.state.first { it is ConnectionState.Failed && !it.reconnecting }
                assertEquals(0L, attemptFailed.count)
                val tail = synchronized(seen) { seen.toList() }
                assertEquals(backlog, tail.count { it == "n" })
                assertEquals(
                    listOf("disconnect, reconnecting true", "connect_error, reconnecting true", "reconnect_failed"),
                    tail.drop(backlog),
                )
            }
        }
    }

    @Test
    fun `a connect made while giving up waits for the handlers is not ended by that give-up`() = test {
        // The last attempt's connect_error handler holds the delivery thread, so the manager
        // waits before marking the sockets given up; connect() is called meanwhile, and its
        // handshake is held by the server until the give-up has been seen. The mark belongs to
        // the attempt given up, not to the one connect() began: the state stops saying it
        // reconnects only after a failure of the new attempt.
        TestServer().use { server ->
            // A session to stall: while one is stalled, the server holds new handshakes.
            val other = Manager(server.url, fast)
            other.socket().connect()
            Manager(server.url, fast.copy(reconnectionAttempts = 1)).use { manager ->
                val socket = manager.socket()
                val attemptFailed = connectErrorQueued(socket)
                val flowGaveUp = CompletableDeferred<Unit>()
                val flow = manager.events()
                launch(Dispatchers.IO) {
                    flow.collect { if (it == ManagerEvent.ReconnectFailed) flowGaveUp.complete(Unit) }
                }
                val held = CountDownLatch(1)
                val release = CountDownLatch(1)
                socket.on("connect_error") { _, _ ->
                    if (held.count > 0L) {
                        held.countDown()
                        release.await(30, TimeUnit.SECONDS)
                    }
                }
                socket.connect()
                server.control("refuseConnections", mapOf("refuse" to true))
                server.control("closeTransport", mapOf("id" to socket.id))
                assertTrue(held.await(30, TimeUnit.SECONDS))
                assertTrue(attemptFailed.await(30, TimeUnit.SECONDS))
                val givenUp = socket.state.value as ConnectionState.Failed
                assertTrue(givenUp.reconnecting, "$givenUp")
                server.control("stall")
                // Runs up to its native call here: the new attempt has begun when launch returns.
                val again = launch(start = CoroutineStart.UNDISPATCHED) {
                    runCatching { socket.connect() }
                }
                release.countDown()
                flowGaveUp.await()
                server.control("thaw")
                val ended = socket.state.first { it is ConnectionState.Failed && !it.reconnecting }
                assertTrue((ended as ConnectionState.Failed).error !== givenUp.error, "$ended")
                again.cancel()
            }
            other.close()
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

    /**
     * Counted down once the core queued a `connect_error` for [socket]: the failed
     * reconnection attempt's, queued in the step where the core gives up, before it handles
     * any other call. Read on a second native stream of the socket's events, apart from the
     * API under test, and closed then: an open stream nobody reads would hold back the
     * manager's events. (A second stream of the manager's events would wait for the handlers
     * under test: each manager event comes once those before it ran.)
     */
    private fun CoroutineScope.connectErrorQueued(socket: Socket): CountDownLatch {
        val events = native { socket.ffi.events() }
        val queued = CountDownLatch(1)
        launch(Dispatchers.IO) {
            try {
                while (queued.count > 0L) {
                    val batch = native { events.nextBatch(1024u) }
                    if (batch.isEmpty()) break
                    if (batch.any { it.kind == FfiEventKind.CONNECT_ERROR }) queued.countDown()
                }
            } finally {
                events.cancel()
                events.destroy()
            }
        }
        return queued
    }
}
