package dev.ferrio

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.serializer
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import java.util.logging.Level
import java.util.logging.Logger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toKotlinDuration
import dev.ferrio.ffi.EventKind as FfiEventKind
import dev.ferrio.ffi.EventListener as FfiEventListener
import dev.ferrio.ffi.EventRecord as FfiEventRecord
import dev.ferrio.ffi.JsonBatch as FfiJsonBatch
import dev.ferrio.ffi.JsonEventListener as FfiJsonEventListener
import dev.ferrio.ffi.Socket as FfiSocket
import dev.ferrio.ffi.Subscription as FfiSubscription

/** Events per native call: the per-call cost stops falling past 64 (ffi-costs.md). */
internal const val BATCH = 64

/**
 * Most events per batch handed to [Socket]'s handlers (the native maximum): a batch takes
 * what is queued, never waiting for more, and each batch's callback costs JNA's structures
 * and a buffer's lifting and freeing whatever its size.
 */
internal const val DELIVERY_BATCH = 1024

/** Event names Socket.IO reserves; emitting one is an [EmitException]. */
private val RESERVED_EVENTS = setOf("connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener")

/** How long [Socket.connect] and [Socket.disconnect] wait for their handlers to have run. */
private val HANDLER_WAIT = 5.seconds

internal val logger: Logger = Logger.getLogger("dev.ferrio")

/**
 * Handles one event: its [args][SocketEvent.Message.args] and, when the server asked for an
 * acknowledgement, the [Ack] to answer it with (once).
 *
 * Handlers run on a delivery thread, one batch of events after the other: return quickly,
 * and launch a coroutine for long work (the delivery threads are shared by every socket; one
 * more starts when a batch waits 100 ms behind a blocked handler). From Java, a lambda:
 * `socket.on("chat", (args, ack) -> System.out.println(args))`.
 */
public fun interface EventHandler {
    public fun handle(args: @JvmSuppressWildcards List<Any?>, ack: Ack?)
}

/**
 * Handles every event from the server ([Socket.onAny]): its [event] name, [args] and, when the
 * server asked for an acknowledgement, the [Ack] to answer it with (once, shared with the
 * event's own handlers).
 */
public fun interface AnyHandler {
    public fun handle(event: String, args: @JvmSuppressWildcards List<Any?>, ack: Ack?)
}

/**
 * Handles every event the socket emits ([Socket.onAnyOutgoing]): its [event] name and [args]
 * (as the receiving side decodes them: [ByteArray]s for binary). From Java, a lambda:
 * `socket.onAnyOutgoing((event, args) -> log(event))`.
 */
public fun interface OutgoingHandler {
    public fun handle(event: String, args: @JvmSuppressWildcards List<Any?>)
}

/**
 * A handler registered with [Socket.on], [Socket.once], [Socket.onAny] or
 * [Socket.onAnyOutgoing]; [close] removes it.
 */
public class Registration internal constructor(private val remove: () -> Unit) : AutoCloseable {
    override fun close(): Unit = remove()
}

/**
 * A namespace on a [Manager]'s connection.
 *
 * ```
 * socket.on("chat") { args, ack -> println(args) }
 * socket.connect()
 * socket.emit("chat", "hello", mapOf("room" to "lobby"))
 * val reply = socket.emitWithAck("join", "lobby", timeout = 5.seconds)
 * ```
 */
public class Socket internal constructor(
    /** The namespace, e.g. `/` or `/admin`. */
    public val namespace: String,
    private val outbox: Outbox,
    /** Whether the manager reconnects by itself ([ClientOptions.reconnection]). */
    private val reconnection: Boolean,
    /** The manager's [ClientOptions.ackTimeout], for [emitWithAck] without a timeout. */
    private val ackTimeout: Duration,
    /** Makes the native socket with the given listener subscribed to its events. */
    open: (FfiJsonEventListener) -> FfiSocket,
) {
    private val handlers = ConcurrentHashMap<String, CopyOnWriteArrayList<EventHandler>>()
    private val anyHandlers = CopyOnWriteArrayList<AnyHandler>()
    private val outgoingHandlers = CopyOnWriteArrayList<OutgoingHandler>()

    private val outgoingLock = Any()

    /** The native feed of the outgoing handlers, while there are some. Guarded by [outgoingLock]. */
    private var outgoing: FfiSubscription? = null
    private val mutableState = MutableStateFlow<ConnectionState>(ConnectionState.Idle)
    private val connects = MutableStateFlow(0L)
    private val failures = MutableStateFlow(0L)
    private val disconnects = MutableStateFlow(0L)
    private val isClosed = AtomicBoolean(false)
    /** Set when reconnection gave up, until the next [connect] or connection. */
    private val gaveUp = AtomicBoolean(false)
    /**
     * Held while a state that depends on [gaveUp] is made and stored: giving up (the
     * manager's watcher) and the last attempt's record (the delivery thread) come at the
     * same moment, and a state made before the flag was set must not be stored after.
     */
    private val gaveUpLock = Any()
    /** How many times [connect] was called (past its early return). Guarded by [gaveUpLock]. */
    private var connectCalls = 0L
    /**
     * [connectCalls] when the last `disconnect` or `connect_error` record was delivered: the
     * attempt that reconnection gives up on. Guarded by [gaveUpLock].
     */
    private var lostAttempt = 0L

    /** The connection state, updated before the handlers of each change run. */
    public val state: StateFlow<ConnectionState> = mutableState.asStateFlow()

    // Last: the delivery thread may call back as soon as it exists.
    internal val ffi: FfiSocket = native { open(Delivery(this)) }

    /** The session id given by the server, while connected. */
    public val id: String? get() = if (isClosed.get()) null else native { ffi.id() }

    /** Whether the namespace is connected. */
    public val connected: Boolean get() = !isClosed.get() && native { ffi.connected() }

    /**
     * Whether connection state recovery restored the previous session (missed events
     * replayed, rooms kept) on the last connect; `false` while disconnected. Also on
     * [SocketEvent.Connected] and [ConnectionState.Connected].
     */
    public val recovered: Boolean get() = !isClosed.get() && native { ffi.recovered() }

    /**
     * Connects the namespace (opening the connection if needed) and returns once the server
     * accepted it and the `connect` handlers have run. Emits made before are sent, in order,
     * once connected.
     *
     * @throws ConnectException with the server's message and data when it refuses the
     *   namespace ([ConnectException.refused]), or when it cannot be reached in time.
     */
    public suspend fun connect() {
        // Read first: a connection delivered from here on counts.
        val connectsBefore = connects.value
        val failuresBefore = failures.value
        // Asks the native layer only when the state says connected (two native calls fewer
        // for a socket's first connect).
        if (mutableState.value is ConnectionState.Connected && connected) return
        synchronized(gaveUpLock) {
            connectCalls++
            gaveUp.set(false)
        }
        mutableState.compareAndSet(ConnectionState.Idle, ConnectionState.Connecting)
        try {
            native { ffi.connect() }
        } catch (error: ConnectException) {
            // The connect_error handlers run before connect() throws.
            withTimeoutOrNull(HANDLER_WAIT) { failures.first { it > failuresBefore } }
            throw error
        }
        withTimeoutOrNull(HANDLER_WAIT) { connects.first { it > connectsBefore } }
    }

    /**
     * Disconnects the namespace (`io client disconnect`, no reconnection) and returns once its
     * `disconnect` handlers have run. [connect] connects it again.
     */
    public suspend fun disconnect() {
        if (isClosed.get()) return
        flushLogged()
        val wasConnected = connected
        val disconnectsBefore = disconnects.value
        native { ffi.disconnect() }
        if (wasConnected) {
            withTimeoutOrNull(HANDLER_WAIT) { disconnects.first { it > disconnectsBefore } }
        }
        mutableState.update { if (it is ConnectionState.Connecting) ConnectionState.Idle else it }
    }

    /**
     * Sends [event] with [args] (see [Values]; [ByteArray]s anywhere travel as binary)
     * without waiting. Buffered while the namespace is connecting or reconnecting, and sent in
     * order once connected.
     *
     * Emits cross to the native layer in batches (one native call per batch instead of one
     * per emit): this call checks the event name and encodes [args], then appends the emit
     * to the manager's pending emits, which the emit completing a batch of 64 sends, and a
     * background flusher otherwise sends as soon as it runs (on `Dispatchers.IO`).
     * [emitWithAck], [disconnect] and [Manager.close] send the pending emits first. Emits of
     * one manager (all its namespaces) reach the native layer in the order of their `emit`
     * calls; when its outgoing queue is full, the sender waits for room, so an emit that
     * completes a batch may wait.
     *
     * An error found while sending (e.g. a full offline buffer, a packet larger than the
     * server's `maxPayload`) is thrown by the emit that sent the batch (the batch's first
     * such error), else logged as a warning on the `dev.ferrio` logger (java.util.logging),
     * naming the namespace and event: no emit is dropped silently.
     *
     * @throws EmitException for a reserved event name, or an error found while sending the
     *   batch this call completed.
     * @throws IllegalArgumentException for arguments of a type that cannot be sent.
     * @throws ClosedException once the manager is closed.
     */
    public fun emit(event: String, vararg args: Any?): Unit = emitList(event, args.asList())

    /** [emit] of the arguments [args]. */
    @PublishedApi
    internal fun emitList(event: String, args: List<Any?>) {
        if (isClosed.get()) throw ClosedException()
        if (event in RESERVED_EVENTS) throw EmitException("`$event` is a reserved event name")
        outbox.add(this, event, Codec.encode(args))
    }

    /**
     * Sends [event] with [args] as a volatile event (the JavaScript client's
     * `socket.volatile.emit`): sent only if the connection can take it now, dropped otherwise
     * (while connecting or reconnecting, or during the upgrade from polling to WebSocket),
     * never buffered nor retried. For values that are worthless once stale, such as a
     * position. Unlike [emit] it crosses to the native layer at once, on the calling thread,
     * after this manager's pending emits (so in order with them), waiting for room when the
     * outgoing queue is full; its errors are thrown as [emit]'s are.
     *
     * @throws EmitException for a reserved event name.
     * @throws IllegalArgumentException for arguments of a type that cannot be sent.
     * @throws ClosedException once the manager is closed.
     */
    public fun emitVolatile(event: String, vararg args: Any?) {
        if (isClosed.get()) throw ClosedException()
        if (event in RESERVED_EVENTS) throw EmitException("`$event` is a reserved event name")
        outbox.add(this, event, Codec.encode(args.asList()), volatile = true)
    }

    /**
     * Sends [event] with one argument, [value]: a `@Serializable` value (or a collection of
     * them) goes in its kotlinx.serialization JSON form; any value the other [emit] takes goes
     * as it is (so [ByteArray]s in it stay binary). Otherwise the same as the other [emit].
     *
     * ```
     * @Serializable data class Chat(val room: String, val text: String)
     * socket.emit("chat", Chat("lobby", "hello"))
     * ```
     *
     * @throws kotlinx.serialization.SerializationException (an [IllegalArgumentException])
     *   when [T] is not serializable.
     */
    @JvmSynthetic
    public inline fun <reified T> emit(event: String, value: T): Unit =
        emitList(event, listOf(Payloads.encode(value) { serializer<T>() }))

    /**
     * Sends [event] with [args] and returns the values the server acknowledged it with. The
     * pending [emit]s are sent first, so the server receives them before this event.
     *
     * @param timeout how long to wait; the manager's [ClientOptions.ackTimeout] when `null`.
     * @throws TimeoutException when no acknowledgement came in time.
     * @throws DisconnectedException when the connection dropped before it came.
     * @throws EmitException for a reserved event name or arguments that cannot be sent.
     */
    public suspend fun emitWithAck(event: String, vararg args: Any?, timeout: Duration? = null): List<Any?> {
        val encoded = Codec.encode(args.asList())
        flushLogged()
        // Without binary, one string and one integer cross (the fewest JNA allocations).
        val reply = if (encoded.attachments.isEmpty()) {
            val data = Codec.named(event, encoded.text)
            native { ffi.emitNamedWithAck(data, (timeout ?: ackTimeout).millis()) }
        } else {
            native { ffi.emitWithAck(event, encoded.text, encoded.attachments, timeout?.millis()) }
        }
        return Codec.decode(reply.argsJson, reply.attachments)
    }

    /**
     * [emitWithAck] with one `@Serializable` (or plain, see [emit]) [value], decoding the
     * acknowledgement's first value as [R] (`null` when it had none, for a nullable [R]).
     *
     * ```
     * val room: Room = socket.emitWithAckAs("join", Join("lobby"))
     * ```
     *
     * @throws kotlinx.serialization.SerializationException when the answer does not fit [R].
     */
    @JvmSynthetic
    public suspend inline fun <reified T, reified R> emitWithAckAs(event: String, value: T, timeout: Duration? = null): R {
        val reply = emitWithAck(event, *arrayOf(Payloads.encode(value) { serializer<T>() }), timeout = timeout)
        return Payloads.decode(reply.firstOrNull(), serializer<R>())
    }

    /**
     * [connect] without coroutines (Java): the future completes once connected, or fails with
     * the [ConnectException]; the call returns at once.
     */
    public fun connectAsync(): CompletableFuture<Void?> = Futures.of {
        connect()
        null
    }

    /** [disconnect] without coroutines (Java): the future completes once disconnected. */
    public fun disconnectAsync(): CompletableFuture<Void?> = Futures.of {
        disconnect()
        null
    }

    /**
     * [emitWithAck] without coroutines (Java), with the manager's [ClientOptions.ackTimeout]:
     * the future completes with the acknowledgement's values, or fails with the exception
     * [emitWithAck] throws. Cancelling the future stops waiting for the answer.
     */
    public fun emitWithAckAsync(event: String, vararg args: Any?): CompletableFuture<List<Any?>> =
        Futures.of { emitWithAck(event, *args) }

    /** [emitWithAckAsync] waiting [timeout] for the acknowledgement. */
    public fun emitWithAckAsync(event: String, timeout: java.time.Duration, vararg args: Any?): CompletableFuture<List<Any?>> =
        Futures.of { emitWithAck(event, *args, timeout = timeout.toKotlinDuration()) }

    /**
     * What waits in the offline buffer: the emits made while the namespace is not connected,
     * sent in order once it is (this socket's pending [emit]s are handed over first). Counted
     * as the native core takes emits in: one just made may show a moment later.
     */
    public suspend fun buffered(): BufferedEmits {
        if (isClosed.get()) return BufferedEmits(0, 0)
        flushLogged()
        val native = native { ffi.buffered() }
        return BufferedEmits(native.emits.toLong(), native.bytes.toLong())
    }

    /**
     * Discards the offline buffer: those emits are never sent, and the [emitWithAck]s among
     * them fail.
     */
    public suspend fun clearBuffer() {
        if (isClosed.get()) return
        flushLogged()
        native { ffi.clearBuffer() }
    }

    /**
     * Joins [room]: emits [ClientOptions.roomJoinEvent] (`join` by default) with the room's
     * name now when connected, else once connected, and again after every reconnection that
     * did not recover the session (the server forgot its rooms then). The server's handler of
     * that event does the joining: Socket.IO has no room packet. This socket's pending [emit]s
     * are handed over first, so the server gets them before the join.
     */
    public suspend fun joinRoom(room: String) {
        if (isClosed.get()) return
        flushLogged()
        native { ffi.joinRoom(room) }
    }

    /**
     * Leaves [room]: forgets it (no join after a reconnection) and emits
     * [ClientOptions.roomLeaveEvent] (`leave` by default) with its name when connected.
     */
    public suspend fun leaveRoom(room: String) {
        if (isClosed.get()) return
        flushLogged()
        native { ffi.leaveRoom(room) }
    }

    /** [joinRoom] without coroutines (Java): the future completes once the intent is taken. */
    public fun joinRoomAsync(room: String): CompletableFuture<Void?> = Futures.of {
        joinRoom(room)
        null
    }

    /** [leaveRoom] without coroutines (Java): the future completes once the intent is taken. */
    public fun leaveRoomAsync(room: String): CompletableFuture<Void?> = Futures.of {
        leaveRoom(room)
        null
    }

    /** [buffered] without coroutines (Java). */
    public fun bufferedAsync(): CompletableFuture<BufferedEmits> = Futures.of { buffered() }

    /** [clearBuffer] without coroutines (Java): the future completes once it is cleared. */
    public fun clearBufferAsync(): CompletableFuture<Void?> = Futures.of {
        clearBuffer()
        null
    }

    /** Sends the pending emits (waiting for room off the caller's thread), logging errors. */
    private suspend fun flushLogged() {
        if (outbox.isIdle()) return
        withContext(Dispatchers.IO) { outbox.flushLogged() }
    }

    /**
     * Calls [handler] with each [event] from the server; `connect`, `disconnect` (the reason's
     * description) and `connect_error` (`{message, data}`) report the namespace's changes.
     * Several handlers of one event run in registration order.
     *
     * An acknowledgement request that no handler or [events] collector answers is answered
     * with no values once every [Ack] of it is gone (at once when nobody receives the event,
     * else when its [Ack]s are garbage collected).
     */
    public fun on(event: String, handler: EventHandler): Registration {
        handlers.computeIfAbsent(event) { CopyOnWriteArrayList() }.add(handler)
        return Registration { handlers[event]?.remove(handler) }
    }

    /**
     * Calls [handler] with the first argument of each [event], decoded as [T] (see
     * [Values.decode]), e.g. a `@Serializable` class. An argument that does not fit [T] is
     * logged as a warning (the handler's failure) and skipped. Use the other [on] for the
     * acknowledgement or more arguments.
     *
     * ```
     * socket.on<Chat>("chat") { chat -> println(chat.text) }
     * ```
     */
    @JvmSynthetic
    public inline fun <reified T> on(event: String, crossinline handler: (T) -> Unit): Registration {
        val deserializer = serializer<T>()
        return on(event, EventHandler { args, _ -> handler(Payloads.decode(args.firstOrNull(), deserializer)) })
    }

    /**
     * Like [on], but [handler] runs for the next [event] only and is then removed (before it
     * runs, so it runs once even if it throws). Closing the [Registration] first removes it
     * without it having run.
     */
    public fun once(event: String, handler: EventHandler): Registration {
        val fired = AtomicBoolean(false)
        lateinit var registration: Registration
        val wrapper = EventHandler { args, ack ->
            if (fired.compareAndSet(false, true)) {
                registration.close()
                handler.handle(args, ack)
            }
        }
        registration = on(event, wrapper)
        return registration
    }

    /** Removes every handler of [event] (of [on] and [once]). */
    public fun off(event: String) {
        handlers.remove(event)
    }

    /**
     * Calls [handler] with every event from the server, before the event's own handlers and
     * whether or not it has some: the JavaScript client's `onAny`. The lifecycle events
     * (`connect`, `disconnect`, `connect_error`) do not reach it. When the server asked for an
     * acknowledgement, [handler] gets the same [Ack] as the event's handlers: the first
     * answer counts. Several catch-all handlers run in registration order; [Registration.close]
     * removes one, [offAny] all.
     */
    public fun onAny(handler: AnyHandler): Registration {
        anyHandlers.add(handler)
        return Registration { anyHandlers.remove(handler) }
    }

    /** Removes every [onAny] handler. */
    public fun offAny() {
        anyHandlers.clear()
    }

    /**
     * Calls [handler] with every event this socket emits from now on ([emit], [emitVolatile],
     * [emitWithAck], each once even with [ClientOptions.retries]; not [joinRoom]'s), in the
     * order the native layer takes them: the JavaScript client's `onAnyOutgoing`. Handlers run
     * on a delivery thread (in a subscription of their own, apart from [on]'s), one batch after the other, in
     * registration order. They run as the emits reach the native layer, after [emit] returned
     * (emits cross in batches). The events wait in a bounded queue (1024): when the handlers
     * fall that far behind, the emits are still sent but not shown to them, and a warning on
     * the `dev.ferrio` logger says how many were not. [Registration.close] removes one,
     * [offAnyOutgoing] all; with none left, emits take their fast path again.
     */
    public fun onAnyOutgoing(handler: OutgoingHandler): Registration {
        synchronized(outgoingLock) {
            outgoingHandlers.add(handler)
            if (outgoing == null && !isClosed.get()) {
                try {
                    outgoing = native { ffi.subscribeOutgoing(OutgoingDelivery(this), BATCH.toUInt()) }
                } catch (error: Exception) {
                    outgoingHandlers.remove(handler)
                    throw error
                }
            }
        }
        return Registration {
            outgoingHandlers.remove(handler)
            stopOutgoingIfUnused()
        }
    }

    /** Removes every [onAnyOutgoing] handler. */
    public fun offAnyOutgoing() {
        outgoingHandlers.clear()
        stopOutgoingIfUnused()
    }

    /** Stops the native feed of the outgoing handlers once none is left. */
    private fun stopOutgoingIfUnused() {
        val stopped = synchronized(outgoingLock) {
            if (outgoingHandlers.isNotEmpty()) return
            outgoing.also { outgoing = null }
        } ?: return
        // Cancelling waits for the delivery thread (at most one batch of handlers), except
        // when called from one of those handlers.
        runCatching { stopped.cancel() }.onFailure { logger.log(Level.WARNING, "$namespace: stopping onAnyOutgoing failed", it) }
        stopped.destroy()
    }

    /**
     * Everything this socket observes from this call on, in order, delivered from the native
     * layer in drained batches. Collect it once; the flow completes when the manager closes,
     * and stops receiving when its collector stops (cancelled or done).
     */
    public fun events(): Flow<SocketEvent> {
        if (isClosed.get()) return flow { }
        val stream = native { ffi.events() }
        val collected = AtomicBoolean(false)
        return flow {
            check(collected.compareAndSet(false, true)) { "events() flows can be collected once" }
            try {
                while (true) {
                    val batch = native { stream.nextBatch(BATCH.toUInt()) }
                    if (batch.isEmpty()) break
                    for (record in batch) {
                        emit(toEvent(record) ?: continue)
                    }
                }
            } finally {
                stream.cancel()
                stream.destroy()
            }
        }
    }

    /**
     * Called once the manager is closed (its delivery threads have stopped). The native
     * socket stays usable and answers [ClosedException]; its small remains go with the GC.
     */
    internal fun release() {
        if (!isClosed.compareAndSet(false, true)) return
        mutableState.value = ConnectionState.Closed
        synchronized(outgoingLock) { outgoing.also { outgoing = null } }?.destroy()
    }

    /**
     * Called by the manager when reconnection gave up, once the records before it were
     * delivered: the state stops saying it reconnects (also for a `disconnect` record
     * delivered after this). Unless [connect] was called since the last `disconnect` or
     * `connect_error`: that call began an attempt of its own, which this does not end.
     */
    internal fun reconnectionFailed() {
        synchronized(gaveUpLock) {
            if (connectCalls != lostAttempt) return
            gaveUp.set(true)
            mutableState.update {
                when (it) {
                    is ConnectionState.Disconnected -> it.copy(reconnecting = false)
                    is ConnectionState.Failed -> it.copy(reconnecting = false)
                    else -> it
                }
            }
        }
    }

    /** Whether the manager still reconnects by itself after a drop or failed attempt. */
    private fun reconnecting(): Boolean = reconnection && !gaveUp.get()

    private fun toEvent(record: FfiEventRecord): SocketEvent? = when (record.kind) {
        FfiEventKind.EVENT -> SocketEvent.Message(
            record.namespace,
            record.name,
            Codec.decode(record.argsJson, record.attachments),
            record.ack?.let(::Ack),
        )
        FfiEventKind.CONNECT -> SocketEvent.Connected(record.namespace, record.sid.orEmpty(), record.recovered)
        FfiEventKind.DISCONNECT -> SocketEvent.Disconnected(record.namespace, reason(record))
        FfiEventKind.CONNECT_ERROR -> SocketEvent.ConnectFailed(record.namespace, connectError(record))
        FfiEventKind.LAGGED -> SocketEvent.Lagged(record.namespace, record.dropped.toLong())
    }

    /** On the delivery thread: runs the handlers of a plain event (no binary, no ack request). */
    private fun dispatchPlain(name: String, args: List<Any?>) {
        val registered = handlers[name]
        for (handler in anyHandlers) runAny(name, handler, args, null)
        registered?.forEach { run(name, it, args, null) }
    }

    /** On the delivery thread: updates the state and runs the handlers. */
    private fun dispatch(record: FfiEventRecord) {
        when (record.kind) {
            FfiEventKind.EVENT -> {
                val registered = handlers[record.name]
                if (registered.isNullOrEmpty() && anyHandlers.isEmpty()) {
                    // Nobody here can answer: the core answers once the flows' copies are gone.
                    record.ack?.destroy()
                    return
                }
                val ack = record.ack?.let(::Ack)
                val args = Codec.decode(record.argsJson, record.attachments)
                for (handler in anyHandlers) runAny(record.name, handler, args, ack)
                registered?.forEach { run(record.name, it, args, ack) }
            }
            FfiEventKind.CONNECT -> {
                gaveUp.set(false)
                mutableState.value = ConnectionState.Connected(record.sid.orEmpty(), record.recovered)
                runBuiltin("connect", emptyList())
                connects.update { it + 1 }
            }
            FfiEventKind.DISCONNECT -> {
                val reason = reason(record)
                synchronized(gaveUpLock) {
                    lostAttempt = connectCalls
                    mutableState.value = ConnectionState.Disconnected(reason, reason.reconnects && reconnecting())
                }
                runBuiltin("disconnect", listOf(reason.description))
                disconnects.update { it + 1 }
            }
            FfiEventKind.CONNECT_ERROR -> {
                val error = connectError(record)
                synchronized(gaveUpLock) {
                    lostAttempt = connectCalls
                    mutableState.value = ConnectionState.Failed(error, !error.refused && reconnecting())
                }
                runBuiltin("connect_error", Codec.decode(record.argsJson, record.attachments))
                failures.update { it + 1 }
            }
            FfiEventKind.LAGGED ->
                logger.warning("$namespace: ${record.dropped} events dropped (handlers too slow)")
        }
    }

    private fun runBuiltin(name: String, args: List<Any?>) {
        handlers[name]?.forEach { run(name, it, args, null) }
    }

    private fun run(name: String, handler: EventHandler, args: List<Any?>, ack: Ack?) {
        try {
            handler.handle(args, ack)
        } catch (error: Exception) {
            logger.log(Level.WARNING, "$namespace: the handler of `$name` failed", error)
        }
    }

    private fun runAny(name: String, handler: AnyHandler, args: List<Any?>, ack: Ack?) {
        try {
            handler.handle(name, args, ack)
        } catch (error: Exception) {
            logger.log(Level.WARNING, "$namespace: the catch-all handler failed on `$name`", error)
        }
    }

    /** On the outgoing delivery thread: runs the [onAnyOutgoing] handlers. */
    private fun dispatchOutgoing(record: FfiEventRecord) {
        when (record.kind) {
            FfiEventKind.EVENT -> {
                if (outgoingHandlers.isEmpty()) return
                val args = Codec.decode(record.argsJson, record.attachments)
                for (handler in outgoingHandlers) {
                    try {
                        handler.handle(record.name, args)
                    } catch (error: Exception) {
                        logger.log(Level.WARNING, "$namespace: the outgoing catch-all handler failed on `${record.name}`", error)
                    }
                }
            }
            FfiEventKind.LAGGED ->
                logger.warning("$namespace: ${record.dropped} emits not shown to onAnyOutgoing (handlers too slow)")
            else -> Unit
        }
    }

    /** The native listener of the outgoing events: batches arrive on a delivery thread. */
    private class OutgoingDelivery(private val socket: Socket) : FfiEventListener {
        override fun onEvents(batch: List<FfiEventRecord>) {
            NativeThreads.stayAttached()
            for (record in batch) {
                try {
                    socket.dispatchOutgoing(record)
                } catch (error: Exception) {
                    logger.log(Level.WARNING, "${socket.namespace}: dispatching outgoing `${record.name}` failed", error)
                }
            }
        }
    }

    /**
     * The native listener: batches arrive on a delivery thread, one after the other, packed:
     * the plain events (no binary, no ack request) as one JSON text `[[name, ...args], K, ...]`
     * read at once, where K stands for the record `others[K]` (the other events).
     */
    private class Delivery(private val socket: Socket) : FfiJsonEventListener {
        override fun onJsonEvents(batch: FfiJsonBatch) {
            NativeThreads.stayAttached()
            val items = JsonValues.arguments(batch.json, emptyList())
            for (item in items) {
                if (item is ArrayList<*>) {
                    @Suppress("UNCHECKED_CAST")
                    val event = item as ArrayList<Any?>
                    val name = event.removeAt(0) as String
                    try {
                        socket.dispatchPlain(name, event)
                    } catch (error: Exception) {
                        logger.log(Level.WARNING, "${socket.namespace}: dispatching `$name` failed", error)
                    }
                } else {
                    val record = batch.others[(item as Long).toInt()]
                    try {
                        socket.dispatch(record)
                    } catch (error: Exception) {
                        logger.log(Level.WARNING, "${socket.namespace}: dispatching `${record.name}` failed", error)
                    }
                }
            }
        }
    }
}

private fun reason(record: FfiEventRecord): DisconnectReason =
    record.reason?.toReason() ?: DisconnectReason.TransportClose

/** The `connect_error` record's `[{message, data}]` as an exception. */
private fun connectError(record: FfiEventRecord): ConnectException {
    val detail = Codec.decode(record.argsJson, record.attachments).firstOrNull() as? Map<*, *>
    val message = detail?.get("message") as? String ?: record.error.orEmpty()
    // The FFI record says "refused" only in its error text (see the Kotlin README).
    val refused = record.error == "the server refused the connection: $message"
    return ConnectException(message, detail?.get("data"), refused)
}
