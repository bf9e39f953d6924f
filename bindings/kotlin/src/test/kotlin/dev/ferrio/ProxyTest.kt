package dev.ferrio

import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files
import kotlin.time.Duration.Companion.seconds

/**
 * [ClientOptions.proxy] through a real tinyproxy (Debian's; `make test-kotlin` installs it)
 * started by the test on an ephemeral port. tinyproxy connects out from 127.0.0.2 and the
 * reference server records the address of every connection it accepted, so a test sees
 * whether the client came through the proxy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyTest {
    private lateinit var proxy: Process
    private lateinit var proxyUrl: String
    private lateinit var directory: File

    @BeforeAll
    fun startTinyproxy() {
        val program = listOf("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy").map(::File).firstOrNull { it.canExecute() }
            ?: error("tinyproxy is not installed: apt-get install tinyproxy (make test-kotlin installs it)")
        directory = Files.createTempDirectory("ferrio-tinyproxy-").toFile()
        val port = freePort()
        val config = File(directory, "tinyproxy.conf")
        config.writeText(
            "Port $port\nListen 127.0.0.1\nBind $PROXY_OUTGOING_ADDRESS\nTimeout 60\n" +
                "LogFile \"${File(directory, "proxy.log")}\"\nLogLevel Info\nMaxClients 64\nAllow 127.0.0.1\n",
        )
        proxy = ProcessBuilder("sh", "-c", GUARD_SCRIPT, "sh", program.path, "-d", "-c", config.path)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        proxyUrl = "http://127.0.0.1:$port"
        waitListening(port)
    }

    @AfterAll
    fun stopTinyproxy() {
        proxy.outputStream.close()
        if (!proxy.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) proxy.destroyForcibly().waitFor()
        directory.deleteRecursively()
    }

    /** Waits until tinyproxy accepts connections (nothing else announces it). */
    private fun waitListening(port: Int) {
        val deadline = System.nanoTime() + 30_000_000_000L
        while (true) {
            check(proxy.isAlive) { "tinyproxy exited (${proxy.exitValue()})" }
            val listening = runCatching { Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 1000) } }.isSuccess
            if (listening) return
            check(System.nanoTime() < deadline) { "tinyproxy does not listen on $port" }
            Thread.sleep(20)
        }
    }

    private fun peers(server: TestServer): List<String> =
        server.control("peers").getValue("peers").jsonArray.map { it.jsonPrimitive.content }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `a proxy carries each transport`(transport: Transport) = test {
        TestServer().use { server ->
            val options = ClientOptions(transports = listOf(transport), proxy = proxyUrl, reconnection = false)
            Client(server.url, options).use { client ->
                client.connect()
                assertEquals(listOf("proxied"), client.emitWithAck("echo", "proxied"))
            }
            val peers = peers(server)
            assertTrue(peers.isNotEmpty() && peers.all { it == PROXY_OUTGOING_ADDRESS }, "$peers")
        }
    }

    @Test
    fun `a proxy carries the upgrade`() = test {
        TestServer().use { server ->
            val options = ClientOptions(proxy = proxyUrl)
            Client(server.url, options).use { client ->
                client.connect()
                until { client.manager.transport == Transport.WEBSOCKET }
                assertEquals(listOf("upgraded"), client.emitWithAck("echo", "upgraded"))
            }
            val peers = peers(server)
            assertTrue(peers.isNotEmpty() && peers.all { it == PROXY_OUTGOING_ADDRESS }, "$peers")
        }
    }

    @Test
    fun `an unreachable proxy is a ConnectException naming it`() = test {
        val nowhere = "http://127.0.0.1:${freePort()}"
        val options = ClientOptions(
            transports = listOf(Transport.WEBSOCKET),
            proxy = nowhere,
            reconnection = false,
            timeout = 10.seconds,
        )
        Client(TestServer.shared.url, options).use { client ->
            val error = assertThrows<ConnectException> { client.connect() }
            assertTrue(error.message!!.contains("cannot reach the proxy $nowhere"), error.message)
        }
    }

    @Test
    fun `the environment's proxy is on by default and can be turned off`() {
        assertTrue(ClientOptions().proxyFromEnvironment)
        assertEquals(null, ClientOptions().proxy)
        assertEquals(false, ClientOptions(proxyFromEnvironment = false).toFfi("http://x").proxyFromEnvironment)
    }

    private companion object {
        const val PROXY_OUTGOING_ADDRESS = "127.0.0.2"

        /**
         * Runs tinyproxy and kills it once its stdin, a pipe from the JVM, closes: in
         * [stopTinyproxy], and when the JVM dies, so that no proxy outlives the tests.
         */
        const val GUARD_SCRIPT =
            "exec 3<&0; \"\$@\" </dev/null & child=\$!; " +
                "(cat <&3 >/dev/null; kill -KILL \"\$child\" 2>/dev/null) & exec 3<&-; wait \"\$child\""

        fun freePort(): Int = ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")).use { it.localPort }
    }
}
