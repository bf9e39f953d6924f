package dev.ferrio

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.launch
import kotlinx.serialization.json.JsonObject
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import java.util.logging.Level
import dev.ferrio.ffi.Manager as FfiManager
import dev.ferrio.ffi.ManagerEvent as FfiManagerEvent
import dev.ferrio.ffi.ManagerEventStream as FfiManagerEventStream

/**
 * One Engine.IO connection to [url], shared by the namespaces ([Socket]s) made from it.
 *
 * The connection opens when the first socket connects and reconnects by itself. [close]
 * (or `use { }`) disconnects every namespace, closes the connection and stops every thread
 * made for it.
 *
 * ```
 * Manager("https://chat.example", ClientOptions(reconnectionDelay = 500.milliseconds)).use { manager ->
 *     val chat = manager.socket("/chat")
 *     chat.on("message") { args, _ -> println(args) }
 *     chat.connect()
 * }
 * ```
 *
 * @throws ConnectException for an invalid URL or option.
 */
public class Manager @JvmOverloads constructor(
    /** The server's `http(s)://` or `ws(s)://` URL (its path is ignored; see [socket]). */
    public val url: String,
    options: ClientOptions = ClientOptions(),
) : AutoCloseable {
    /** The native manager (internal: tests read its connection events directly). */
    internal val ffi: FfiManager
    private val sockets = ConcurrentHashMap<String, Socket>()
    private val closed = AtomicBoolean(false)
    private val outbox = Outbox()
    private val reconnection = options.reconnection
    private val ackTimeout = options.ackTimeout

    init {
        NativeThreads.init()
        val hook = options.beforeReconnect
        ffi = native {
            if (hook == null) {
                FfiManager(options.toFfi(url))
            } else {
                FfiManager.withReconnectHook(options.toFfi(url), ReconnectHookBridge(hook))
            }
        }
        // Without reconnection there is nothing to give up: no stream, task or coroutine.
        if (reconnection) watch(native { ffi.events() })
    }

    /**
     * Follows the connection for the sockets' state: when reconnection gives up, they stop
     * saying they reconnect (once their handlers ran for the events before: the native
     * stream gives each event after the sockets' events queued before it). It waits without
     * a thread, and resumes on `Dispatchers.IO` (not on the native thread that completes the
     * wait, which must not call into the library); it ends when the manager closes (`next`
     * gives `null`). A pending wait holds a native stream, its buffer and a task on the
     * native runtime.
     */
    private fun watch(stream: FfiManagerEventStream) {
        CoroutineScope(Dispatchers.IO).launch {
            try {
                while (true) {
                    val event = native { stream.next() } ?: break
                    if (event is FfiManagerEvent.ReconnectFailed) {
                        sockets.values.forEach { it.reconnectionFailed() }
                    }
                }
            } catch (error: FerrioException) {
                logger.log(Level.WARNING, "the manager's connection events stopped", error)
            } finally {
                stream.destroy()
            }
        }
    }

    /**
     * The connection's events from this call on, in order: [ManagerEvent.Open],
     * [ManagerEvent.Close], and the reconnection's attempts, errors and outcome. Collect it
     * once; the flow completes when the manager closes, and stops receiving when its collector
     * stops (cancelled or done). A collector slower than the core's bounded backlog gets
     * [ManagerEvent.Lagged].
     *
     * Each event comes once the sockets' handlers, and the collectors of their
     * [Socket.events] flows, took the events that happened before it (e.g.
     * [ManagerEvent.ReconnectFailed] after the last attempt's `disconnect` and
     * `connect_error` handlers ran), so busy handlers delay it: do not wait for this flow
     * inside a handler or such a collector.
     */
    public fun events(): Flow<ManagerEvent> {
        if (closed.get()) return flow { }
        val stream = native { ffi.events() }
        val collected = AtomicBoolean(false)
        return flow {
            check(collected.compareAndSet(false, true)) { "events() flows can be collected once" }
            try {
                while (true) {
                    val event = native { stream.next() } ?: break
                    emit(event.toEvent())
                }
            } finally {
                stream.cancel()
                stream.destroy()
            }
        }
    }

    /**
     * The socket of [namespace], made on first use with [auth] (the options' auth when
     * `null`); later calls return the same socket. Call [Socket.connect] on it.
     *
     * @throws ClosedException once closed.
     */
    @JvmOverloads
    public fun socket(namespace: String = "/", auth: JsonObject? = null): Socket {
        if (closed.get()) throw ClosedException()
        // As the native layer names it: `/` and the name without its outer slashes.
        val name = "/" + namespace.trim('/')
        return sockets.computeIfAbsent(name) {
            Socket(name, outbox, reconnection, ackTimeout) { listener ->
                ffi.socketWithListener(name, auth?.toString(), listener, DELIVERY_BATCH.toUInt())
            }
        }
    }

    /**
     * [socket] with [auth] as plain values (see [Values]), e.g. a `Map` from Java.
     *
     * @throws IllegalArgumentException for a value that has no JSON form (binary included).
     */
    public fun socket(namespace: String, auth: Map<String, Any?>?): Socket =
        socket(namespace, auth?.let { Values.toJson(it) as JsonObject })

    /** The transport in use, while connected. */
    public val transport: Transport?
        get() = if (closed.get()) null else native { ffi.transport() }?.toTransport()

    /**
     * The connection statistics now: bytes and packets in and out, reconnections, the
     * transport, the age of the last ping and the ack round trips. After [close], those
     * counted until then.
     */
    public fun stats(): ConnectionStats = native { ffi.stats() }.toStats()

    /**
     * Skips the remaining reconnection delay and tries at once, e.g. from Android's
     * `ConnectivityManager.NetworkCallback.onAvailable` when the network is back. Does
     * nothing when no reconnection is pending, or once closed.
     */
    public suspend fun reconnectNow() {
        if (closed.get()) return
        native { ffi.reconnectNow() }
    }

    /** [reconnectNow] without coroutines (Java): the future completes once it is asked. */
    public fun reconnectNowAsync(): CompletableFuture<Void?> = Futures.of {
        reconnectNow()
        null
    }

    /** Whether [close] was called. */
    public val isClosed: Boolean get() = closed.get()

    /**
     * Hands the pending [Socket.emit]s to the native layer (errors logged), then disconnects
     * every namespace, closes the connection and waits (briefly: at most one batch of
     * handlers) for the delivery threads to stop. Pending acknowledgements fail with
     * [ClosedException]; [Socket.events] flows complete. Idempotent.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        try {
            outbox.close()
            native { ffi.closeBlocking() }
        } finally {
            // The native objects stay (closed, answering ClosedException) until the GC
            // frees them: no call racing with close meets a destroyed handle.
            sockets.values.forEach { it.release() }
        }
    }
}
