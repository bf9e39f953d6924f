package dev.ferrio

import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import dev.ferrio.ffi.EmitException as FfiEmitException

/**
 * The emits of one manager's sockets on their way to the native layer, in emit order.
 *
 * A native call costs far more than an emit's own work (~10–45 µs, mostly JNA building
 * UniFFI's structures), so [Socket.emit] only appends here, and each run of emits to one
 * socket crosses in one call (`emit_batch`: plain and binary mixed, placeholders numbered
 * across the batch). A volatile emit ([Socket.emitVolatile]) is sent at once, after the pending
 * emits, by the emitting thread: whether the connection can take it is decided when it is made. The emitting thread sends the pending emits once there are [BATCH];
 * otherwise a background flusher sends them as soon as it runs. [flush] (before an
 * acknowledged emit or a disconnect) and [close] send them at once.
 *
 * Sending happens under [sending], and pending emits are taken under it too, so emits are
 * handed over in the order they were appended, whichever thread sends them.
 */
internal class Outbox {
    /**
     * One emit: [argsJson] is the argument array, binary nodes as placeholders; [volatile]
     * when it is dropped rather than buffered while the connection cannot take it.
     */
    private class Pending(
        val socket: Socket,
        val event: String,
        val argsJson: String,
        val attachments: List<ByteArray>,
        val volatile: Boolean,
    )

    private val lock = Any()
    private val sending = ReentrantLock()
    /** The background flusher's scope, made by the first emit that needs it. */
    private val scope = lazy { CoroutineScope(SupervisorJob() + Dispatchers.IO + CoroutineName("ferrio-flush")) }

    // Guarded by `lock`. Grown by the first emits: a manager that never emits keeps no array.
    private var pending = ArrayList<Pending>()
    private var flushScheduled = false
    private var closed = false

    /**
     * Appends an emit; sends the pending emits when they make a batch, or at once with a
     * [volatile] one.
     *
     * @throws ClosedException once [close] was called.
     * @throws FerrioException the first error of the emits this call sent (the others are
     *   logged).
     */
    fun add(socket: Socket, event: String, encoded: Codec.Encoded, volatile: Boolean = false) {
        val full: Boolean
        synchronized(lock) {
            if (closed) throw ClosedException()
            pending.add(Pending(socket, event, encoded.text, encoded.attachments, volatile))
            full = pending.size >= BATCH || volatile
            if (!full && !flushScheduled) {
                flushScheduled = true
                scope.value.launch { flushInBackground() }
            }
        }
        if (full) flush()?.let { throw it }
    }

    /** Whether every emit appended so far was handed to the native layer. */
    fun isIdle(): Boolean = synchronized(lock) { pending.isEmpty() } && !sending.isLocked

    /**
     * Sends the pending emits, in order, waiting while the native queue is full; returns
     * once they are queued (or failed). Returns the first error, having logged the others.
     */
    fun flush(): FerrioException? = sending.withLock { send(synchronized(lock) { take() }) }

    /** [flush], logging every error. */
    fun flushLogged() {
        flush()?.let(::log)
    }

    /**
     * Sends the pending emits (errors logged), then refuses new ones with [ClosedException]
     * and stops the background flusher.
     */
    fun close() {
        sending.withLock {
            val items = synchronized(lock) {
                closed = true
                take()
            }
            send(items)?.let(::log)
        }
        if (scope.isInitialized()) scope.value.cancel()
    }

    private fun flushInBackground() {
        sending.withLock {
            val items = synchronized(lock) {
                flushScheduled = false
                take()
            }
            send(items)?.let(::log)
        }
    }

    /** The pending emits, leaving none. Call with `lock` held. */
    private fun take(): List<Pending> {
        if (pending.isEmpty()) return emptyList()
        val items = pending
        pending = ArrayList(BATCH)
        return items
    }

    /**
     * Queues [items] in order, a run of emits to one socket (all volatile or none) at a time.
     * Call with [sending] held. Returns the first error, having logged the others.
     */
    private fun send(items: List<Pending>): FerrioException? {
        var first: FerrioException? = null
        var start = 0
        while (start < items.size) {
            var end = start + 1
            while (end < items.size && items[end].socket === items[start].socket &&
                items[end].volatile == items[start].volatile
            ) {
                end++
            }
            val run = items.subList(start, end)
            val errors = if (run[0].volatile) queueVolatile(run) else queueRun(run)
            for ((index, error) in errors) {
                if (first == null) first = error else log(error)
                if (error is ClosedException) {
                    val left = run.size - index - 1 + items.size - end
                    if (left > 0) logger.warning("$left more emits not sent: ${error.message}")
                    return first
                }
            }
            start = end
        }
        return first
    }

    /**
     * Queues [run] (emits to one socket) as one batch, which queues what it can without
     * waiting; the rest goes through the waiting variant, which waits for room and reports
     * each emit's own error. Returns the errors, by position in [run].
     */
    private fun queueRun(run: List<Pending>): List<Pair<Int, FerrioException>> {
        val ffi = run[0].socket.ffi
        val attachments = ArrayList<ByteArray>(0)
        val text = batchJson(run, attachments)
        val queued = try {
            ffi.emitBatch(text, attachments).toInt()
        } catch (_: Exception) {
            // Nothing queued (a closed client): the waiting variant reports why.
            0
        }
        if (queued == run.size) return emptyList()
        return try {
            native { ffi.emitBatchBlocking(text, attachments, queued.toUInt()) }.map { failure ->
                val index = failure.index.toInt()
                index to notSent(run[index], ferrioError(failure.error))
            }
        } catch (error: Exception) {
            listOf(queued to notSent(run[queued], error))
        }
    }

    /**
     * Queues [run] (volatile emits to one socket) one native call each, waiting for room in
     * the outgoing queue when it is full (as the Rust core's `emit_volatile` does). Returns the
     * errors, by position in [run]; after a [ClosedException] the rest is not tried.
     */
    private fun queueVolatile(run: List<Pending>): List<Pair<Int, FerrioException>> {
        val errors = ArrayList<Pair<Int, FerrioException>>(0)
        for ((index, item) in run.withIndex()) {
            val ffi = item.socket.ffi
            try {
                try {
                    ffi.emitVolatile(item.event, item.argsJson, item.attachments)
                } catch (_: FfiEmitException.QueueFull) {
                    ffi.emitVolatileBlocking(item.event, item.argsJson, item.attachments)
                }
            } catch (error: Exception) {
                val failure = notSent(item, ferrioError(error))
                errors += index to failure
                if (failure is ClosedException) break
            }
        }
        return errors
    }

    /** [error] of [item], naming its namespace and event. */
    private fun notSent(item: Pending, error: Exception): FerrioException =
        when (error) {
            is EmitException -> EmitException("${item.socket.namespace}: `${item.event}` not sent: ${error.message}")
            is FerrioException -> error
            else -> InternalException(error.toString())
        }

    /**
     * `[[event, ...args], ...]` of [run] as JSON text, the placeholders numbered across the
     * batch into [attachments].
     */
    private fun batchJson(run: List<Pending>, attachments: MutableList<ByteArray>): String {
        val text = StringBuilder(run.sumOf { it.event.length + it.argsJson.length + 4 } + 2)
        text.append('[')
        for ((index, item) in run.withIndex()) {
            if (index > 0) text.append(',')
            text.append('[')
            Codec.writeString(text, item.event)
            val args = if (item.attachments.isEmpty() || attachments.isEmpty()) {
                item.argsJson
            } else {
                Codec.renumbered(item.argsJson, attachments.size)
            }
            attachments.addAll(item.attachments)
            // `args` is `[...]`: its items follow the name, its `]` closes the entry.
            if (args.length > 2) text.append(',').append(args, 1, args.length) else text.append(']')
        }
        text.append(']')
        return text.toString()
    }

    private fun log(error: FerrioException) {
        logger.warning("emit failed: ${error.message}")
    }
}
