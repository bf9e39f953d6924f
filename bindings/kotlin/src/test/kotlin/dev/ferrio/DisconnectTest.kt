package dev.ferrio

import dev.ferrio.ffi.DisconnectReason as FfiDisconnectReason
import kotlinx.coroutines.flow.first
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.time.Duration.Companion.milliseconds

/** Disconnect reasons and what follows them. */
class DisconnectTest {
    private val server = TestServer.shared
    private val fast = ClientOptions(reconnectionDelay = 50.milliseconds, reconnectionDelayMax = 200.milliseconds)

    @Test
    fun `a server disconnect reports io server disconnect and does not reconnect`() = test {
        Client(server.url, fast).use { client ->
            val reasons = Recorder()
            client.on("disconnect", reasons)
            client.connect()
            client.emit("disconnectMe")
            assertEquals(listOf("io server disconnect"), reasons.next())
            val state = client.state.value as ConnectionState.Disconnected
            assertEquals(DisconnectReason.IoServerDisconnect, state.reason)
            assertFalse(state.reason.reconnects)
            assertFalse(client.connected)
        }
    }

    @Test
    fun `a closed transport reports transport close and reconnects`() = test {
        Manager(server.url, fast).use { manager ->
            val main = manager.socket("/")
            val custom = manager.socket("/custom")
            val reasons = Recorder()
            val connects = Recorder()
            custom.on("disconnect", reasons)
            main.on("connect", connects)
            main.connect()
            custom.connect()
            connects.next()
            val firstSid = main.id
            main.emit("closeTransport")
            assertEquals(listOf("transport close"), reasons.next())
            connects.next()
            assertTrue(DisconnectReason.TransportClose.reconnects)
            assertTrue(main.connected)
            assertTrue(firstSid != main.id)
            assertEquals(listOf("back"), main.emitWithAck("echo", "back"))
            custom.state.first { it is ConnectionState.Connected }
        }
    }

    @Test
    fun `a client disconnect reports io client disconnect and connect connects again`() = test {
        Client(server.url).use { client ->
            val reasons = Recorder()
            client.on("disconnect", reasons)
            client.connect()
            client.disconnect()
            assertEquals(1, reasons.pending(), "the disconnect handler ran before disconnect returned")
            assertEquals(ConnectionState.Disconnected(DisconnectReason.IoClientDisconnect), client.state.value)
            client.connect()
            assertEquals(listOf("again"), client.emitWithAck("echo", "again"))
        }
    }

    @Test
    fun `text that is not UTF-8 reports invalid utf-8 and reconnects`() = test {
        Client(server.url, fast.copy(transports = listOf(Transport.WEBSOCKET))).use { client ->
            val reasons = Recorder()
            val connects = Recorder()
            client.on("disconnect", reasons)
            client.on("connect", connects)
            client.connect()
            connects.next()
            // A WebSocket text frame of the bytes 0xff 0xfe, written past the server's framing.
            server.acontrol("rawFrame", mapOf("nsp" to "/", "id" to client.id, "bytes" to "gQL//g=="))
            assertEquals(listOf("invalid utf-8"), reasons.next())
            connects.next()
            assertEquals(listOf("back"), client.emitWithAck("echo", "back"))
        }
    }

    @Test
    fun `every native reason has a reason of its own`() {
        val reasons = FfiDisconnectReason.values().map { it.toReason() }
        assertEquals(reasons.size, reasons.map { it.description }.toSet().size)
        assertEquals(DisconnectReason.MessageTooLarge, FfiDisconnectReason.MESSAGE_TOO_LARGE.toReason())
        assertEquals(DisconnectReason.ProtocolViolation, FfiDisconnectReason.PROTOCOL_VIOLATION.toReason())
        assertEquals(DisconnectReason.InvalidUtf8, FfiDisconnectReason.INVALID_UTF8.toReason())
        assertEquals(DisconnectReason.WriteStalled, FfiDisconnectReason.WRITE_STALLED.toReason())
        assertEquals(
            listOf(
                "io server disconnect", "io client disconnect", "ping timeout", "transport close",
                "transport error", "parse error", "message too large", "protocol violation",
                "invalid utf-8", "write stalled",
            ),
            FfiDisconnectReason.entries.map { it.toReason().description },
        )
        assertTrue(DisconnectReason.WriteStalled.reconnects)
    }
}
