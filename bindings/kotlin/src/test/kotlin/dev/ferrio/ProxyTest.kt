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
import org.junit.jupiter.params.provider.Arguments
import org.junit.jupiter.params.provider.EnumSource
import org.junit.jupiter.params.provider.MethodSource
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files
import kotlin.time.Duration.Companion.seconds

/**
 * [ClientOptions.proxy] through a real tinyproxy (HTTP) and a real microsocks (SOCKS5),
 * Debian's (`make test-kotlin` installs them), started by the test on an ephemeral port. Both
 * connect out from 127.0.0.2 and the reference server records the address of every
 * connection it accepted, so a test sees whether the client came through the proxy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyTest {
    private lateinit var plain: LocalProxy
    private lateinit var withCredentials: LocalProxy
    private lateinit var socks: LocalProxy
    private lateinit var socksWithCredentials: LocalProxy
    private val proxyUrl get() = plain.url

    @BeforeAll
    fun startProxies() {
        plain = LocalProxy.tinyproxy(null)
        withCredentials = LocalProxy.tinyproxy("user" to "secret")
        socks = LocalProxy.microsocks(null)
        socksWithCredentials = LocalProxy.microsocks("user" to "secret")
    }

    @AfterAll
    fun stopProxies() {
        plain.close()
        withCredentials.close()
        socks.close()
        socksWithCredentials.close()
    }

    /**
     * The Debian proxy [name] on 127.0.0.1:[port], reached as `scheme://127.0.0.1:port`, run
     * with the arguments [arguments] builds from its temporary [directory].
     */
    private class LocalProxy(
        private val name: String,
        scheme: String,
        val port: Int,
        arguments: (directory: File) -> List<String>,
    ) : AutoCloseable {
        val url = "$scheme://127.0.0.1:$port"
        private val directory: File = Files.createTempDirectory("ferrio-$name-").toFile()
        private val process: Process

        init {
            val program = listOf("/usr/bin/$name", "/usr/sbin/$name").map(::File).firstOrNull { it.canExecute() }
                ?: error("$name is not installed: apt-get install $name (make test-kotlin installs it)")
            process = ProcessBuilder(listOf("sh", "-c", GUARD_SCRIPT, "sh", program.path) + arguments(directory))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start()
            waitListening()
        }

        /** Waits until the proxy accepts connections (nothing else announces it). */
        private fun waitListening() {
            val deadline = System.nanoTime() + 30_000_000_000L
            while (true) {
                check(process.isAlive) { "$name exited (${process.exitValue()})" }
                val listening = runCatching { Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 1000) } }.isSuccess
                if (listening) return
                check(System.nanoTime() < deadline) { "$name does not listen on $port" }
                Thread.sleep(20)
            }
        }

        override fun close() {
            process.outputStream.close()
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
            directory.deleteRecursively()
        }

        companion object {
            /** A tinyproxy (HTTP); with [credentials], it wants them (Basic). */
            fun tinyproxy(credentials: Pair<String, String>?): LocalProxy {
                val port = freePort()
                return LocalProxy("tinyproxy", "http", port) { directory ->
                    val config = File(directory, "tinyproxy.conf")
                    config.writeText(
                        "Port $port\nListen 127.0.0.1\nBind $PROXY_OUTGOING_ADDRESS\nTimeout 60\n" +
                            "LogFile \"${File(directory, "proxy.log")}\"\nLogLevel Info\nMaxClients 64\nAllow 127.0.0.1\n" +
                            (credentials?.let { (user, password) -> "BasicAuth $user $password\n" } ?: ""),
                    )
                    listOf("-d", "-c", config.path)
                }
            }

            /**
             * A microsocks (SOCKS5) reached as `socks5h://`: the proxy resolves the server's host
             * name; with [credentials], it wants them (username/password).
             */
            fun microsocks(credentials: Pair<String, String>?): LocalProxy {
                val port = freePort()
                return LocalProxy("microsocks", "socks5h", port) {
                    listOf("-i", "127.0.0.1", "-p", "$port", "-b", PROXY_OUTGOING_ADDRESS) +
                        (credentials?.let { (user, password) -> listOf("-u", user, "-P", password) } ?: emptyList())
                }
            }
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

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `a socks5h proxy carries each transport`(transport: Transport) = test {
        TestServer().use { server ->
            val options = ClientOptions(transports = listOf(transport), proxy = socks.url, reconnection = false)
            // By host name: the proxy, not the client, resolves localhost.
            Client("http://localhost:${server.port}", options).use { client ->
                client.connect()
                assertEquals(listOf("through socks"), client.emitWithAck("echo", "through socks"))
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
    fun `an unreachable proxy is a typed ProxyException naming it`() = test {
        val nowhere = "http://127.0.0.1:${freePort()}"
        val options = ClientOptions(
            transports = listOf(Transport.WEBSOCKET),
            proxy = nowhere,
            reconnection = false,
            timeout = 10.seconds,
        )
        Client(TestServer.shared.url, options).use { client ->
            val error = assertThrows<ProxyException> { client.connect() }
            assertTrue(error.message!!.contains("cannot reach the proxy $nowhere"), error.message)
            assertEquals(ProxyException.Kind.UNREACHABLE, error.kind)
            assertEquals(nowhere, error.proxy)
            assertTrue(error is ConnectException)
        }
    }

    /** The scheme of each proxy that wants the credentials `user:secret`, over each transport. */
    fun proxiesWithCredentials(): List<Arguments> =
        listOf("http", "socks5h").flatMap { scheme -> Transport.entries.map { Arguments.of(scheme, it) } }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("proxiesWithCredentials")
    fun `wrong proxy credentials are a typed authentication failure`(scheme: String, transport: Transport) = test {
        // A tinyproxy (HTTP Basic) or a microsocks (SOCKS5).
        val proxy = if (scheme == "http") withCredentials else socksWithCredentials
        TestServer().use { server ->
            val wrong = ClientOptions(
                transports = listOf(transport),
                proxy = "$scheme://user:wrong@127.0.0.1:${proxy.port}",
                reconnection = false,
                timeout = 10.seconds,
            )
            Client(server.url, wrong).use { client ->
                val error = assertThrows<ProxyException> { client.connect() }
                assertEquals(ProxyException.Kind.AUTHENTICATION_FAILED, error.kind)
                assertEquals(proxy.url, error.proxy) // without the credentials
            }
            val right = wrong.copy(proxy = "$scheme://user:secret@127.0.0.1:${proxy.port}")
            Client(server.url, right).use { client ->
                client.connect()
                assertEquals(listOf("authenticated"), client.emitWithAck("echo", "authenticated"))
            }
            val peers = peers(server)
            assertTrue(peers.isNotEmpty() && peers.all { it == PROXY_OUTGOING_ADDRESS }, "$peers")
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
         * Runs a proxy and kills it once its stdin, a pipe from the JVM, closes: in
         * [LocalProxy.close], and when the JVM dies, so that no proxy outlives the tests.
         */
        const val GUARD_SCRIPT =
            "exec 3<&0; \"\$@\" </dev/null & child=\$!; " +
                "(cat <&3 >/dev/null; kill -KILL \"\$child\" 2>/dev/null) & exec 3<&-; wait \"\$child\""

        fun freePort(): Int = ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")).use { it.localPort }
    }
}
