package dev.ferrio

import dev.ferrio.ffi.defaultClientOptions
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.milliseconds

/** The options' defaults are the Rust core's, read through the native library. */
class DefaultsTest {
    private val url = "http://localhost:3000"

    @Test
    fun `options given nothing are the core's defaults`() {
        assertEquals(defaultClientOptions(url), ClientOptions().toFfi(url))
    }

    @Test
    fun `a given option replaces its default and leaves the others`() {
        val options = ClientOptions(reconnectionDelay = 250.milliseconds, reconnectionAttempts = 3).toFfi(url)
        assertEquals(defaultClientOptions(url).copy(reconnectionDelayMs = 250u, reconnectionAttempts = 3u), options)
    }
}
