package dev.ferrio

import dev.ferrio.ffi.defaultClientOptions
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
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

    @Test
    fun `the size limits reach the native options, and zero where it refuses everything is refused`() {
        val options = ClientOptions.builder()
            .maxIncomingBytes(4096)
            .maxPayloadPackets(20)
            .maxPreconnectEvents(0)
            .tryAllTransports(false)
            .build()
        assertEquals(
            defaultClientOptions(url).copy(
                maxIncomingBytes = 4096u,
                maxPayloadPackets = 20u,
                maxPreconnectEvents = 0u,
                tryAllTransports = false,
            ),
            options.toFfi(url),
        )
        val error = assertThrows<ConnectException> { Manager(url, ClientOptions(maxIncomingBytes = 0)) }
        assertEquals("invalid option: max_incoming_bytes must be at least 1, not 0", error.message)
        assertThrows<IllegalArgumentException> { ClientOptions(maxPayloadPackets = -1).toFfi(url) }
    }
}
