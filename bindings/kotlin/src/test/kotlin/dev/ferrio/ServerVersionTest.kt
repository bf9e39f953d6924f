package dev.ferrio

import dev.ferrio.ffi.defaultClientOptions
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource
import dev.ferrio.ffi.ServerVersion as FfiServerVersion

/** [ClientOptions.serverVersion]: its default read from the core, and a real Socket.IO 2.x server. */
class ServerVersionTest {
    private val url = "http://localhost:3000"

    private fun transports(mode: String): List<Transport> = when (mode) {
        "polling" -> listOf(Transport.POLLING)
        "websocket" -> listOf(Transport.WEBSOCKET)
        else -> emptyList()
    }

    @Test
    fun `the default is the core's`() {
        assertEquals(defaultClientOptions(url).serverVersion, ClientOptions().toFfi(url).serverVersion)
        assertEquals(ServerVersion.DETECT, ClientOptions().serverVersion)
    }

    @Test
    fun `each version reaches the native options, from Kotlin and from the builder`() {
        val native = mapOf(
            ServerVersion.DETECT to FfiServerVersion.DETECT,
            ServerVersion.V2 to FfiServerVersion.V2,
            ServerVersion.V4 to FfiServerVersion.V4,
        )
        for ((version, ffi) in native) {
            assertEquals(ffi, ClientOptions(serverVersion = version).toFfi(url).serverVersion)
            assertEquals(version, ClientOptions.builder().serverVersion(version).build().serverVersion)
        }
    }

    @ParameterizedTest(name = "over {0}")
    @ValueSource(strings = ["polling", "websocket", "upgrade"])
    fun `a v2 server is refused when V4 is forced`(mode: String) = test {
        val options = ClientOptions(transports = transports(mode), serverVersion = ServerVersion.V4)
        Client(TestServer.v2.url, options).use { client ->
            val error = assertThrows<ConnectException> { client.connect() }
            assertTrue(error.refused)
            assertTrue("older Socket.IO protocol" in error.message.orEmpty(), error.message)
            assertFalse(client.connected)
        }
    }
}
