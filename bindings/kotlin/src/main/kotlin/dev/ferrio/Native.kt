package dev.ferrio

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import dev.ferrio.ffi.uniffiCallbackInterfaceEventListener
import dev.ferrio.ffi.uniffiRustFutureContinuationCallbackImpl

/**
 * How native threads enter the JVM, set once before the library is first used.
 *
 * - The listener callback comes from each socket's delivery thread (one Rust thread per
 *   socket): it stays attached for its life (attaching costs ~23 µs per call otherwise) as a
 *   daemon thread named `ferrio-delivery`, and is detached when it ends, on close.
 * - Async completions come from the runtime's worker threads, once per await (a batch, an
 *   ack, a connect): they attach as daemons for the call only, so no JVM thread of ferrio
 *   outlives a closed manager.
 */
internal object NativeThreads {
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
                uniffiRustFutureContinuationCallbackImpl,
                CallbackThreadInitializer(true, true, "ferrio-runtime"),
            )
            ready = true
        }
    }

    /** Keeps the calling (native) thread attached after the current callback returns. */
    fun stayAttached() {
        Native.detach(false)
    }
}
