package dev.ferrio

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import dev.ferrio.ffi.uniffiCallbackInterfaceEventListener
import dev.ferrio.ffi.uniffiCallbackInterfaceJsonEventListener
import dev.ferrio.ffi.uniffiRustFutureContinuationCallbackImpl

/**
 * How native threads enter the JVM, set once before the library is first used.
 *
 * - The listener callbacks (records for the outgoing catch-all, packed batches for the
 *   events) come from the process's delivery threads (Rust threads shared by
 *   every socket: one while any socket lives, more only while a handler blocks): each stays
 *   attached for its life (attaching costs ~23 µs per call otherwise) as a daemon thread
 *   named `ferrio-delivery`, and is detached when it ends, once the last manager closed.
 * - Async completions come from the runtime's worker threads, once per await (a batch, an
 *   ack, a connect): they stay attached too, as daemon threads named `ferrio-runtime`.
 *   Attaching and detaching on every await cost a third of an acknowledgement's round trip
 *   (p50 ~340 → ~240 µs, CPU per call ~820 → ~530 µs in `make bench`'s ack scenario on a
 *   loaded 2-core machine). They are the process-wide runtime's own threads, two of them,
 *   which live as long as the process whether attached or not; no thread per manager or
 *   socket is kept.
 */
internal object NativeThreads {
    /** The name of the runtime's worker threads once attached to the JVM. */
    const val RUNTIME_THREAD = "ferrio-runtime"

    /** How many worker threads the native runtime has (`WORKER_THREADS` in runtime.rs). */
    const val RUNTIME_THREADS = 2

    @Volatile
    private var ready = false

    fun init() {
        if (ready) return
        synchronized(this) {
            if (ready) return
            // Must precede the library's loading, which hands these callbacks to Rust.
            Native.setCallbackThreadInitializer(
                uniffiCallbackInterfaceEventListener.onEvents,
                CallbackThreadInitializer(true, false, "ferrio-delivery"),
            )
            Native.setCallbackThreadInitializer(
                uniffiCallbackInterfaceJsonEventListener.onJsonEvents,
                CallbackThreadInitializer(true, false, "ferrio-delivery"),
            )
            Native.setCallbackThreadInitializer(
                uniffiRustFutureContinuationCallbackImpl,
                CallbackThreadInitializer(true, false, RUNTIME_THREAD),
            )
            ready = true
        }
    }

    /** Keeps the calling (native) thread attached after the current callback returns. */
    fun stayAttached() {
        Native.detach(false)
    }
}
