package dev.ferrio

import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import dev.ferrio.ffi.EmitRecord as FfiEmitRecord

/**
 * The emits of one manager's sockets on their way to the native layer, in emit order.
 *
 * A native call costs far more than an emit's own work (~10–45 µs, mostly JNA building
 * UniFFI's structures), so [Socket.emit] only appends here, and emits cross together: runs
 * without binary as one JSON text (`emit_batch_json`), runs with binary as records
 * (`emit_batch`). The emitting thread sends the pending emits once there are [BATCH];
 * otherwise a background flusher sends them as soon as it runs. [flush] (before an
 * acknowledged emit or a disconnect) and [close] send them at once.
 *
 * Sending happens under [sending], and pending emits are taken under it too, so emits are
 * handed over in the order they were appended, whichever thread sends them.
 */
internal class Outbox {
    /** One emit: [argsJson] is the argument array, binary nodes as placeholders. */
    private class Pending(
        val socket: Socket,
        val event: String,
        val argsJson: String,
        val attachments: List<ByteArray>,
    )

    private val lock = Any()
    private val sending = ReentrantLock()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO + CoroutineName("ferrio-flush"))

    // Guarded by `lock`.
    private var pending = ArrayList<Pending>(BATCH)
    private var flushScheduled = false
    private var closed = false

    /**
     * Appends an emit; sends the pending emits when they make a batch.
     *
     * @throws ClosedException once [close] was called.
     * @throws FerrioException the first error of the emits this call sent (the others are
     *   logged).
     */
    fun add(socket: Socket, event: String, encoded: Codec.Encoded) {
        val full: Boolean
        synchronized(lock) {
            if (closed) throw ClosedException()
            pending.add(Pending(socket, event, encoded.text, encoded.attachments))
            full = pending.size >= BATCH
            if (!full && !flushScheduled) {
                flushScheduled = true
                scope.launch { flushInBackground() }
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
        scope.cancel()
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
     * Queues [items] in order: each run of emits to one socket, all with or all without
     * binary, crosses as one batch, which queues what it can without waiting; the first emit
     * it could not queue goes through the waiting path, which waits for room or reports its
     * own error, and the rest of the run crosses again. Call with [sending] held. Returns the
     * first error, having logged the others.
     */
    private fun send(items: List<Pending>): FerrioException? {
        var first: FerrioException? = null
        var start = 0
        while (start < items.size) {
            val end = runEnd(items, start)
            start += queueRun(items, start, end)
            if (start == end) continue
            val error = queueWaiting(items[start++]) ?: continue
            if (first == null) first = error else log(error)
            if (error is ClosedException) {
                val left = items.size - start
                if (left > 0) logger.warning("$left more emits not sent: ${error.message}")
                break
            }
        }
        return first
    }

    /** The end of the run that starts at [start]: same socket, same kind (binary or not). */
    private fun runEnd(items: List<Pending>, start: Int): Int {
        val head = items[start]
        val plain = head.attachments.isEmpty()
        var end = start + 1
        while (end < items.size && items[end].socket === head.socket && items[end].attachments.isEmpty() == plain) {
            end++
        }
        return end
    }

    /** Queues the run `items[start until end]` without waiting; returns how many were queued. */
    private fun queueRun(items: List<Pending>, start: Int, end: Int): Int {
        val ffi = items[start].socket.ffi
        val run = items.subList(start, end)
        return try {
            val queued = if (run[0].attachments.isEmpty()) {
                ffi.emitBatchJson(batchJson(run))
            } else {
                ffi.emitBatch(run.map { FfiEmitRecord(it.event, it.argsJson, it.attachments) })
            }
            queued.toInt()
        } catch (_: Exception) {
            // Nothing queued (a closed client, or arguments the batch refused): the waiting
            // path of the first emit reports its error, or sends it.
            0
        }
    }

    /** Queues one emit, waiting for room; returns its error, or `null` once queued. */
    private fun queueWaiting(item: Pending): FerrioException? =
        try {
            native { item.socket.ffi.emitBlocking(item.event, item.argsJson, item.attachments) }
            null
        } catch (error: FerrioException) {
            when (error) {
                is EmitException -> EmitException("${item.socket.namespace}: `${item.event}` not sent: ${error.message}")
                else -> error
            }
        }

    /** `[[event, ...args], ...]` of a run without binary, as JSON text. */
    private fun batchJson(run: List<Pending>): String {
        val text = StringBuilder(run.sumOf { it.event.length + it.argsJson.length + 4 } + 2)
        text.append('[')
        for ((index, item) in run.withIndex()) {
            if (index > 0) text.append(',')
            text.append('[')
            Codec.writeString(text, item.event)
            // `argsJson` is `[...]`: its items follow the name, its `]` closes the entry.
            if (item.argsJson.length > 2) text.append(',').append(item.argsJson, 1, item.argsJson.length) else text.append(']')
        }
        text.append(']')
        return text.toString()
    }

    private fun log(error: FerrioException) {
        logger.warning("emit failed: ${error.message}")
    }
}
