package dev.ferrio.ffi

import java.util.concurrent.atomic.AtomicReferenceArray

/**
 * Rust's byte buffers kept between calls: a `RustBuffer` that Kotlin lifted and no longer
 * reads (a returned record or string, a listener's batch) becomes a later string argument's
 * buffer instead of being freed, when it is large enough.
 *
 * A string argument crosses in a `RustBuffer` that Rust allocates for it (`rustbuffer_alloc`:
 * a native call and a `RustBuffer` structure made by JNA through reflection), and a lifted
 * buffer is freed by another call (`rustbuffer_free`). Both are `Vec<u8>`s of Rust's
 * allocator, rebuilt by Rust from their pointer, length and capacity: an argument hands its
 * buffer to Rust as the free would, so an acknowledgement's round trip (the reply of one
 * is the argument of the next) makes neither call. `generate.sh` makes the generated string
 * lowering take its buffer here and the generated lifting give it back.
 *
 * Bounds: at most [SLOTS] buffers of at most [MAX_CAPACITY] bytes each are kept, process-wide
 * (16 KiB); a larger buffer, or one finding no free slot, is freed at once as before.
 */
internal object RecycledBuffers {
    /** Buffers kept at most. */
    private const val SLOTS = 4

    /** The largest capacity kept, in bytes. */
    private const val MAX_CAPACITY = 4096L

    private val slots = AtomicReferenceArray<RustBuffer.ByValue?>(SLOTS)

    /** A kept buffer of at least [size] bytes with its length set to [size], or null. */
    fun take(size: Int): RustBuffer.ByValue? {
        for (i in 0 until SLOTS) {
            val buffer = slots.get(i) ?: continue
            if (buffer.capacity >= size && slots.compareAndSet(i, buffer, null)) {
                buffer.len = size.toLong()
                return buffer
            }
        }
        return null
    }

    /** Keeps [buffer], which nothing reads any more, for a later [take], or frees it. */
    fun give(buffer: RustBuffer.ByValue) {
        if (buffer.data != null && buffer.capacity in 1..MAX_CAPACITY) {
            for (i in 0 until SLOTS) {
                if (slots.compareAndSet(i, null, buffer)) return
            }
        }
        RustBuffer.free(buffer)
    }
}
