package dev.ferrio

import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource
import java.net.InetSocketAddress
import java.nio.channels.SocketChannel
import kotlin.time.Duration.Companion.seconds

/** Fallback URLs (a first server that is down), compressed polling responses and permessage-deflate. */
class NetworksTest {
    private val server = TestServer.shared

    /** Runs [body] with the URL of a server that is down: a port bound but not listening. */
    private inline fun <T> withDownUrl(body: (String) -> T): T =
        SocketChannel.open().use { bound ->
            bound.bind(InetSocketAddress("127.0.0.1", 0))
            body("http://127.0.0.1:${(bound.localAddress as InetSocketAddress).port}")
        }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `connect uses a fallback URL when the first server is down`(transport: Transport) = test {
        withDownUrl { down ->
            val options = ClientOptions(transports = listOf(transport), fallbackUrls = listOf(server.url))
            Client(down, options).use { client ->
                client.connect()
                assertEquals(listOf("via the fallback"), client.emitWithAck("echo", "via the fallback"))
            }
        }
    }

    @Test
    fun `connect fails with a ConnectException when no server is reachable`() = test {
        withDownUrl { down ->
            val options = ClientOptions(
                transports = listOf(Transport.WEBSOCKET),
                fallbackUrls = listOf(down),
                reconnection = false,
                timeout = 5.seconds,
            )
            Client(down, options).use { client ->
                assertThrows<ConnectException> { client.connect() }
            }
        }
    }

    /** The `Accept-Encoding` the server saw on the handshake of a polling client. */
    private suspend fun acceptEncodingOfAPollingHandshake(compression: Boolean): String? =
        Client(server.url, ClientOptions(transports = listOf(Transport.POLLING), compression = compression)).use { client ->
            client.connect()
            val handshakes = server.acontrol("handshakes").getValue("handshakes").jsonArray
            val mine = handshakes.map { it.jsonObject }.single { it.getValue("id").text == client.id }
            (mine.getValue("headers").jsonObject["accept-encoding"] as JsonPrimitive?)?.content
        }

    @Test
    fun `polling asks for compressed responses by default`() = test {
        assertTrue(ClientOptions().compression)
        val encoding = acceptEncodingOfAPollingHandshake(compression = true)
        assertTrue(encoding?.contains("gzip") == true, "$encoding")
    }

    @Test
    fun `polling asks for no compression when it is off`() = test {
        assertNull(acceptEncodingOfAPollingHandshake(compression = false))
    }

    /** 400 chat messages: about 36 KB of repetitive JSON. */
    private fun chatHistory(): List<Map<String, Any?>> = (0 until 400).map { n ->
        mapOf(
            "id" to n,
            "room" to "general",
            "user" to listOf("alice", "bob", "carol")[n % 3],
            "text" to "hello everyone, is the build green again?",
            "sentAt" to 1_765_000_000_000L + n * 1000L,
        )
    }

    /**
     * Echoes the chat history with an ack over WebSocket to a server with permessage-deflate
     * and checks that it comes back intact; returns the `Sec-WebSocket-Extensions` the upgrade
     * request offered and the extensions the server accepted.
     */
    private suspend fun websocketEchoOfChatHistory(compression: Boolean): Pair<String?, String> =
        TestServer(mapOf("transports" to listOf("websocket"), "perMessageDeflate" to true)).use { deflating ->
            val options = ClientOptions(transports = listOf(Transport.WEBSOCKET), compression = compression)
            Client(deflating.url, options).use { client ->
                client.connect()
                val history = chatHistory()
                assertEquals(json(listOf(history)), json(client.emitWithAck("echo", history)))
                val seen = deflating.acontrol("clients").getValue("namespaces").jsonObject
                    .getValue("/").jsonArray.single().jsonObject
                val handshake = deflating.acontrol("handshakes").getValue("handshakes").jsonArray.single().jsonObject
                val offered = handshake.getValue("headers").jsonObject["sec-websocket-extensions"] as JsonPrimitive?
                Pair(offered?.content, seen.getValue("extensions").text)
            }
        }

    @Test
    fun `websocket negotiates permessage-deflate by default`() = test {
        val (offered, accepted) = websocketEchoOfChatHistory(compression = true)
        assertEquals("permessage-deflate; client_max_window_bits", offered)
        assertEquals("permessage-deflate", accepted)
    }

    @Test
    fun `websocket offers no extension when compression is off`() = test {
        val (offered, accepted) = websocketEchoOfChatHistory(compression = false)
        assertNull(offered)
        assertEquals("", accepted)
    }
}
