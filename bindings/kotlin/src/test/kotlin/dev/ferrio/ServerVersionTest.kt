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

/**
 * [ClientOptions.serverVersion]: its default read from the core, and a real Socket.IO 2.x server
 * (tests/server-v2): found out by itself by default (events, acks and binary both ways), refused
 * with [ServerVersion.V4].
 */
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
    fun `a v2 server is found out by itself`(mode: String) = test {
        val server = TestServer.v2
        Client(server.url, ClientOptions(transports = transports(mode))).use { client ->
            val pushed = Recorder()
            client.on("push", pushed)
            client.on("question") { args, ack -> ack!!.send("answer", (args[0] as Long) + 1, bytes(4, 2)) }
            client.connect()
            val expected = if (mode == "polling") Transport.POLLING else Transport.WEBSOCKET
            until { client.manager.transport == expected }
            assertEquals(listOf("over v2", bin(0, 255)), plain(client.emitWithAck("echo", "over v2", bytes(0, 255))))
            val push = mapOf("nsp" to "/", "event" to "push", "args" to listOf("news", mapOf("\$binary" to "CQgH")))
            assertEquals(json(1), server.acontrol("emit", push).getValue("sockets"))
            assertEquals(listOf("news", bin(9, 8, 7)), plain(pushed.next()))
            val question = mapOf("nsp" to "/", "event" to "question", "args" to listOf(41), "timeoutMs" to 10_000)
            val answer = server.acontrol("emitWithAck", question)
            assertEquals(json(listOf(listOf("answer", 42L, mapOf("\$binary" to "BAI=")))), answer.getValue("responses"))
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
