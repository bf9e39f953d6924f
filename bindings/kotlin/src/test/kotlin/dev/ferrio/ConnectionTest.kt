package dev.ferrio

import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.CsvSource

/** Transports, the connect contract, auth and its rejection, namespaces, `use { }`. */
class ConnectionTest {
    private val server = TestServer.shared

    @ParameterizedTest(name = "over {0}")
    @CsvSource("polling, polling", "websocket, websocket", "upgrade, websocket")
    fun `connects over each transport`(mode: String, expected: String) = test {
        val transports = when (mode) {
            "polling" -> listOf(Transport.POLLING)
            "websocket" -> listOf(Transport.WEBSOCKET)
            else -> emptyList()
        }
        Client(server.url, ClientOptions(transports = transports)).use { client ->
            client.connect()
            assertTrue(client.connected)
            until { client.manager.transport?.name?.lowercase() == expected }
            assertEquals(listOf("over $expected"), client.emitWithAck("echo", "over $expected"))
            val clients = server.acontrol("clients").getValue("namespaces").jsonObject.getValue("/").jsonArray
            val mine = clients.map { it.jsonObject }.single { it.getValue("id").text == client.id }
            assertEquals(expected, mine.getValue("transport").text)
        }
    }

    @Test
    fun `the connect handler has run and the state is Connected when connect returns`() = test {
        Client(server.url).use { client ->
            val connects = Recorder()
            client.on("connect", connects)
            assertEquals(ConnectionState.Idle, client.state.value)
            client.connect()
            assertEquals(1, connects.pending())
            val state = client.state.value
            assertTrue(state is ConnectionState.Connected, "$state")
            assertEquals(client.id, (state as ConnectionState.Connected).sid)
            assertNotNull(client.id)
        }
    }

    @Test
    fun `an auth rejection throws ConnectException with the server's message and data`() = test {
        Manager(server.url).use { manager ->
            val socket = manager.socket("/no")
            val errors = Recorder()
            socket.on("connect_error", errors)
            val error = assertThrows<ConnectException> { socket.connect() }
            assertEquals("Auth failed (custom namespace)", error.message)
            assertEquals(mapOf("reason" to "denied", "code" to 42L), error.data)
            assertTrue(error.refused)
            assertTrue((error as Any) is FerrioException)
            assertEquals(1, errors.pending(), "the connect_error handler ran before connect threw")
            val state = socket.state.value as ConnectionState.Failed
            assertEquals("Auth failed (custom namespace)", state.error.message)
            assertEquals(mapOf("reason" to "denied", "code" to 42L), state.error.data)
            assertTrue(state.error.refused)
            assertFalse(socket.connected)
        }
    }

    @Test
    fun `an unreachable server throws ConnectException`() = test {
        val port = TestServer().use { it.port }
        val options = ClientOptions(reconnection = false, timeout = kotlin.time.Duration.parse("5s"))
        Client("http://127.0.0.1:$port", options).use { client ->
            val error = assertThrows<ConnectException> { client.connect() }
            assertFalse(error.refused)
        }
    }

    @Test
    fun `namespaces share one connection with their own auth and sids`() = test {
        Manager(server.url).use { manager ->
            val main = manager.socket("/")
            val custom = manager.socket("/custom", JsonObject(mapOf("token" to JsonPrimitive("abc"))))
            val auth = Recorder()
            custom.on("auth", auth)
            main.connect()
            custom.connect()
            assertEquals(listOf(mapOf("token" to "abc")), auth.next())
            assertNotEquals(main.id, custom.id)
            assertEquals(listOf(custom.id), custom.emitWithAck("getId"))
            assertEquals(listOf(main.id), main.emitWithAck("getId"))
            assertTrue(manager.socket("/custom") === custom, "one socket per namespace")
            val clients = server.acontrol("clients").getValue("namespaces").jsonObject
            val engineOf = { nsp: String, id: String? ->
                clients.getValue(nsp).jsonArray.map { it.jsonObject }.single { it.getValue("id").text == id }
                    .getValue("engineId").text
            }
            assertEquals(engineOf("/", main.id), engineOf("/custom", custom.id))
        }
    }

    @Test
    fun `the URL's path is the client's namespace`() = test {
        Client("${server.url}/abc").use { client ->
            val handshakes = Recorder()
            client.on("handshake", handshakes)
            client.connect()
            assertEquals("/abc", client.socket.namespace)
            assertNotNull(handshakes.next())
        }
    }

    @Test
    fun `use closes the client and further work throws ClosedException`() = test {
        val client = Client(server.url)
        client.use {
            it.connect()
            assertEquals(listOf(1L), it.emitWithAck("echo", 1))
        }
        assertEquals(ConnectionState.Closed, client.state.value)
        assertTrue(client.manager.isClosed)
        assertFalse(client.connected)
        assertNull(client.manager.transport)
        assertThrows<ClosedException> { client.emit("x") }
        assertThrows<ClosedException> { client.emitWithAck("echo") }
        assertThrows<ClosedException> { client.manager.socket("/other") }
        client.close() // idempotent
    }

    @Test
    fun `received values keep JSON types`() = test {
        Client(server.url).use { client ->
            client.connect()
            val sent = listOf("s", 1, 2.5, true, null, listOf(1, "x"), mapOf("k" to mapOf("n" to -7)))
            val back = client.emitWithAck("echo", *sent.toTypedArray())
            assertEquals(listOf("s", 1L, 2.5, true, null, listOf(1L, "x"), mapOf("k" to mapOf("n" to -7L))), back)
            val element = JsonArray(listOf(JsonPrimitive("a"), JsonObject(mapOf("b" to JsonPrimitive(2)))))
            assertEquals(listOf(listOf("a", mapOf("b" to 2L))), client.emitWithAck("echo", element))
        }
    }
}
