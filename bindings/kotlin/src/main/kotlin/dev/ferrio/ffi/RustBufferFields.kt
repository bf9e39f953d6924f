package dev.ferrio.ffi

import com.sun.jna.Pointer

/**
 * A `RustBuffer`'s fields read and written at their fixed offsets, for the generated
 * `RustBuffer`'s `read` and `write` and for the constructor JNA calls to make a buffer that
 * Rust returned or passed to a callback (`generate.sh` makes them call these).
 *
 * JNA's own `Structure.read`/`write` go field by field through reflection, with a
 * thread-local set guarding against cycles, and a `RustBuffer` crosses by value in every
 * string argument, every returned record or string and every batch handed to a listener,
 * each read or written once or twice. Without a constructor taking the native copy, JNA makes
 * such a buffer by reflection with two native blocks (`Structure.newInstance` allocates the
 * memory of a `ByValue` a second time) and copies the fields through a byte array into the
 * second. Rust's `RustBuffer` is `#[repr(C)]` `{ capacity: u64, len: u64, data: *mut u8 }`:
 * the offsets below on every platform (the test compares them with JNA's layout).
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

    /** Sets [buffer]'s fields from [source] (none from a null pointer) and writes them to its own memory. */
    fun copy(source: Pointer, buffer: RustBuffer) {
        if (Pointer.nativeValue(source) == 0L) return
        buffer.capacity = source.getLong(CAPACITY)
        buffer.len = source.getLong(LEN)
        buffer.data = source.getPointer(DATA)
        write(buffer)
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
