package dev.ferrio.ffi

import com.sun.jna.Pointer
import com.sun.jna.Structure
import dev.ferrio.NativeThreads
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test

/** The generated bindings' `RustBuffer` handling as generate.sh patches it, with the native library. */
class NativeBuffersTest {
    @BeforeEach
    fun emptyThePool() {
        NativeThreads.init()
        while (true) RustBuffer.free(RecycledBuffers.take(0) ?: break)
    }

    @Test
    fun `a RustBuffer's fields are read and written where JNA's layout puts them`() {
        val written = RustBuffer.ByValue()
        written.capacity = 0x0102030405060708
        written.len = 0x1112131415161718
        written.data = Pointer(0x2122232425262728)
        for (field in listOf("capacity", "len", "data")) written.writeField(field)

        val read = RustBuffer.ByValue()
        read.pointer.write(0, written.pointer.getByteArray(0, written.size()), 0, written.size())
        read.read()
        assertEquals(listOf(written.capacity, written.len, written.data), listOf(read.capacity, read.len, read.data))

        read.capacity = 7
        read.len = 3
        read.data = Pointer(0x31)
        read.write()
        assertEquals(listOf<Any?>(7L, 3L, Pointer(0x31)), listOf("capacity", "len", "data").map(read::readField))
    }

    @Test
    fun `a buffer JNA makes from native memory copies it into memory of its own`() {
        val native = RustBuffer.ByValue()
        native.capacity = 64
        native.len = 5
        native.data = Pointer(0x41)
        native.write()

        val made = Structure.newInstance(RustBuffer.ByValue::class.java, native.pointer)

        assertEquals(listOf(64L, 5L, Pointer(0x41)), listOf(made.capacity, made.len, made.data))
        assertNotEquals(native.pointer, made.pointer)
        assertEquals(listOf<Any?>(64L, 5L, Pointer(0x41)), listOf("capacity", "len", "data").map(made::readField))
    }

    @Test
    fun `a lifted buffer large enough carries the next string argument`() {
        val lifted = RustBuffer.alloc(64u)
        RecycledBuffers.give(lifted)

        val argument = FfiConverterString.lower("hello")

        assertEquals(lifted.data, argument.data)
        assertEquals(5L, argument.len)
        assertEquals("hello", FfiConverterString.lift(argument))
    }

    @Test
    fun `a string argument larger than every kept buffer gets a buffer of its own`() {
        val kept = RustBuffer.alloc(8u)
        RecycledBuffers.give(kept)

        val argument = FfiConverterString.lower("a longer text than eight bytes")

        assertNotEquals(kept.data, argument.data)
        assertEquals("a longer text than eight bytes", FfiConverterString.lift(argument))
    }

    @Test
    fun `buffers above the kept size are freed, not kept`() {
        RecycledBuffers.give(RustBuffer.alloc(8192u))

        assertNull(RecycledBuffers.take(0))
    }
}
