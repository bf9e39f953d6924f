package dev.ferrio

import kotlinx.serialization.json.JsonObject
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import dev.ferrio.ffi.Manager as FfiManager

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
public class Manager(
    /** The server's `http(s)://` or `ws(s)://` URL (its path is ignored; see [socket]). */
    public val url: String,
    options: ClientOptions = ClientOptions(),
) : AutoCloseable {
    private val ffi: FfiManager
    private val sockets = ConcurrentHashMap<String, Socket>()
    private val closed = AtomicBoolean(false)
    private val outbox = Outbox()

    init {
        NativeThreads.init()
        ffi = native { FfiManager(options.toFfi(url)) }
    }

    /**
     * The socket of [namespace], made on first use with [auth] (the options' auth when
     * `null`); later calls return the same socket. Call [Socket.connect] on it.
     *
     * @throws ClosedException once closed.
     */
    public fun socket(namespace: String = "/", auth: JsonObject? = null): Socket {
        if (closed.get()) throw ClosedException()
        val name = if (namespace.startsWith("/")) namespace else "/$namespace"
        return sockets.computeIfAbsent(name) { Socket(native { ffi.socket(name, auth?.toString()) }, outbox) }
    }

    /** The transport in use, while connected. */
    public val transport: Transport?
        get() = if (closed.get()) null else native { ffi.transport() }?.toTransport()

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
