package dev.ferrio.ffi

/**
 * The call statuses of the generated bindings' synchronous Rust calls, reused per thread and
 * never synchronised by JNA.
 *
 * Every UniFFI call (a handle clone, a `RustBuffer` allocation or free, a method, an async
 * call's `complete`) passes a `UniffiRustCallStatus`, a JNA `Structure`: a new one is a
 * native block (`malloc`), an entry in JNA's process-wide registry of live blocks and a
 * cleaner reference freed only after a GC. `generate.sh` makes the generated
 * `uniffiRustCallWithError` take its status here and give it back after a successful call;
 * Rust writes a status only on failure, so a status given back still reads success, as a new
 * one. A failed call's status is never given back (its error buffer is lifted from it).
 *
 * JNA writes a `Structure` argument's fields to native memory before a call and reads them
 * back after it, field by field through reflection (five fields with the nested error
 * buffer). These statuses have that turned off: their memory is zeroed when made (success)
 * and written only by Rust on failure, so [readIfFailed] looks at the code byte alone and
 * reads the fields only when Rust set it.
 *
 * A thread keeps at most [KEPT] statuses (a call made while another is being lowered, such
 * as the `RustBuffer` allocation of a string argument, takes a second one); more calls in
 * flight on one thread make new ones, which are dropped as before.
 */
internal object CallStatuses {
    /** Statuses kept per thread. */
    private const val KEPT = 4

    private val kept = ThreadLocal.withInitial { ArrayDeque<UniffiRustCallStatus>(KEPT) }

    /** A status reading success, for one call on this thread. */
    fun take(): UniffiRustCallStatus =
        kept.get().removeLastOrNull() ?: UniffiRustCallStatus().apply { setAutoSynch(false) }

    /** Reads [status]'s fields from native memory when the call set its code (a failure). */
    fun readIfFailed(status: UniffiRustCallStatus) {
        if (status.pointer.getByte(0) != UNIFFI_CALL_SUCCESS) status.read()
    }

    /** Gives back the status of a call that succeeded on this thread. */
    fun give(status: UniffiRustCallStatus) {
        val statuses = kept.get()
        if (statuses.size < KEPT) statuses.addLast(status)
    }
}
