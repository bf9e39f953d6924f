package dev.ferrio.ffi

import com.sun.jna.Pointer

/**
 * A `RustBuffer`'s fields read and written at their fixed offsets, for the generated
 * `RustBuffer`'s `read` and `write` (`generate.sh` makes them call these).
 *
 * JNA's own `Structure.read`/`write` go field by field through reflection, with a
 * thread-local set guarding against cycles, and a `RustBuffer` crosses by value in every
 * string argument, every returned record or string and every batch handed to a listener,
 * each read or written once or twice. Rust's `RustBuffer` is `#[repr(C)]` `{ capacity: u64,
 * len: u64, data: *mut u8 }`: the offsets below on every platform (the test compares them with
 * JNA's layout).
 */
internal object RustBufferFields {
    /** Offset of `capacity` (u64). */
    const val CAPACITY = 0L

    /** Offset of `len` (u64). */
    const val LEN = 8L

    /** Offset of `data` (a pointer). */
    const val DATA = 16L

    /** Sets [buffer]'s fields from its memory (none for JNA's placeholder of a null struct). */
    fun read(buffer: RustBuffer) {
        val memory = buffer.pointer
        if (Pointer.nativeValue(memory) == 0L) return
        buffer.capacity = memory.getLong(CAPACITY)
        buffer.len = memory.getLong(LEN)
        buffer.data = memory.getPointer(DATA)
    }

    /** Writes [buffer]'s fields to its memory (none for JNA's placeholder of a null struct). */
    fun write(buffer: RustBuffer) {
        val memory = buffer.pointer
        if (Pointer.nativeValue(memory) == 0L) return
        memory.setLong(CAPACITY, buffer.capacity)
        memory.setLong(LEN, buffer.len)
        memory.setPointer(DATA, buffer.data)
    }
}
