package dev.ferrio

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.net.HttpURLConnection
import java.net.URI
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Two socket.io nodes (Redis adapter) behind nginx, sticky by cookie. The cluster comes from
 * `ferrio-cluster` (tests/integration), which sets the FERRIO_CLUSTER_* variables
 * (`make test-cluster-bindings`); without them the test is skipped.
 */
class ClusterTest {
    private val stickyUrl: String? = System.getenv("FERRIO_CLUSTER_STICKY_URL")
    private val controls = listOf(System.getenv("FERRIO_CLUSTER_CONTROL_A"), System.getenv("FERRIO_CLUSTER_CONTROL_B"))
    private val pingInterval = (System.getenv("FERRIO_CLUSTER_PING_INTERVAL_MS")?.toLong() ?: 200L).milliseconds

    @Test
    fun `a default client stays on its node across heartbeats and gets a broadcast from the other`() = test {
        assumeTrue(stickyUrl != null && controls.all { it != null }, "no cluster: FERRIO_CLUSTER_* unset")
        val room = "kotlin-cluster"
        Client(stickyUrl!!).use { client ->             // default options: polling, then the upgrade
            val disconnects = Recorder()
            val news = Recorder()
            client.on("disconnect", disconnects)
            client.on("news", news)
            client.connect()
            until { client.manager.transport == Transport.WEBSOCKET }
            assertEquals(listOf(true), client.emitWithAck("join", room, timeout = 5.seconds))
            val sid = client.id!!
            val (node, _) = socketRecord(sid)

            // Several heartbeats through nginx: the session survives every one of them.
            delay(pingInterval * HEARTBEATS)
            assertTrue(client.connected)
            assertEquals(sid, client.id)
            assertEquals(0, disconnects.pending(), "no disconnection across the heartbeats")
            val (sameNode, record) = socketRecord(sid)
            assertEquals(node, sameNode)
            assertEquals("websocket", record.getValue("transport").text)
            assertTrue(record.getValue("rooms").jsonArray.any { it.text == room })
            // Every request of the session after the handshake carried the node's cookie.
            val engineId = record.getValue("engineId").text
            val requests = control(node, "cookies").getValue("requests").jsonArray.map { it.jsonObject }
                .filter { it.getValue("sid").text == engineId && !it.getValue("initial").jsonPrimitive.boolean }
            assertTrue(requests.isNotEmpty() && requests.all { it.getValue("carried").jsonPrimitive.boolean }, "$requests")

            // A broadcast to the room from the other node arrives through the Redis adapter.
            control(1 - node, "emitToRoom", mapOf("nsp" to "/", "room" to room, "event" to "news", "args" to listOf("from the other node")))
            assertEquals(listOf("from the other node"), news.next())
        }
    }

    /** The node (0: A, 1: B) holding socket [sid] of `/`, and that node's record of it. */
    private suspend fun socketRecord(sid: String): Pair<Int, JsonObject> {
        for (node in 0..1) {
            val sockets = control(node, "clients").getValue("namespaces").jsonObject["/"]?.jsonArray ?: continue
            sockets.map { it.jsonObject }.firstOrNull { it.getValue("id").text == sid }?.let { return node to it }
        }
        error("socket $sid is on no node")
    }

    /** Posts [action] to node [node]'s control channel; its JSON answer. */
    private suspend fun control(node: Int, action: String, body: Map<String, Any?> = emptyMap()): JsonObject =
        withContext(Dispatchers.IO) {
            val connection = URI("${controls[node]}/$action").toURL().openConnection() as HttpURLConnection
            try {
                connection.requestMethod = "POST"
                connection.doOutput = true
                connection.setRequestProperty("content-type", "application/json")
                connection.outputStream.use { it.write(Values.toJson(body).toString().toByteArray()) }
                val text = connection.inputStream.bufferedReader().use { it.readText() }
                Json.parseToJsonElement(text).jsonObject
            } finally {
                connection.disconnect()
            }
        }

    private companion object {
        const val HEARTBEATS = 8
    }
}
