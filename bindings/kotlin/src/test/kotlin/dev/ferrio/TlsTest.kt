package dev.ferrio

import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.EnumSource
import java.io.File
import java.nio.file.Files

/**
 * TLS options against the reference server over HTTPS/WSS: certificate pins (the server's
 * key, the CA's, a mismatch), mutual TLS, and trusting every certificate. The certificates
 * come from tests/server/test-certs.sh (openssl).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsTest {
    private val certs: File = Files.createTempDirectory("ferrio-kotlin-certs").toFile().also { dir ->
        val script = File(System.getProperty("ferrio.root") ?: "../..", "tests/server/test-certs.sh").canonicalFile
        val process = ProcessBuilder("bash", script.path, dir.path).inheritIO().start()
        check(process.waitFor() == 0) { "test-certs.sh failed" }
    }

    private fun pem(name: String): String = File(certs, name).readText()
    private fun pin(name: String): String = File(certs, "$name.pin").readText().trim()

    private fun tls(mutual: Boolean): Map<String, Any?> {
        val tls = mutableMapOf<String, Any?>(
            "cert" to File(certs, "server.pem").path,
            "key" to File(certs, "server-key.pem").path,
        )
        if (mutual) tls["clientCa"] = File(certs, "ca.pem").path
        return mapOf("tls" to tls)
    }

    private val server = TestServer(tls(mutual = false))
    private val mutualServer = TestServer(tls(mutual = true))
    private val url = "https://localhost:${server.port}"
    private val mutualUrl = "https://localhost:${mutualServer.port}"

    @AfterAll
    fun stop() {
        server.stop()
        mutualServer.stop()
        certs.deleteRecursively()
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `a pin of the server's key or of the CA's connects`(transport: Transport) = test {
        for (pinned in listOf("server", "ca")) {
            val options = ClientOptions(
                transports = listOf(transport),
                caCertPem = pem("ca.pem"),
                certificatePins = listOf(pin("other"), pin(pinned)),
            )
            Client(url, options).use { client ->
                client.connect()
                assertEquals(listOf("pinned"), client.emitWithAck("echo", "pinned"))
            }
        }
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `a wrong pin throws CertificatePinException with the chain's keys`(transport: Transport) = test {
        val options = ClientOptions(
            transports = listOf(transport),
            reconnection = false,
            caCertPem = pem("ca.pem"),
            certificatePins = listOf(pin("other")),
        )
        Client(url, options).use { client ->
            val error = assertThrows<CertificatePinException> { client.connect() }
            assertEquals(listOf(pin("server"), pin("ca")), error.seen)
            assertTrue(pin("server") in error.message.orEmpty(), error.message)
        }
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport::class)
    fun `mutual TLS connects with the client certificate and fails without it`(transport: Transport) = test {
        val options = ClientOptions(
            transports = listOf(transport),
            reconnection = false,
            caCertPem = pem("ca.pem"),
            clientCertPem = pem("client.pem"),
            clientKeyPem = pem("client-key.pem"),
        )
        Client(mutualUrl, options).use { client ->
            client.connect()
            assertEquals(listOf("mutual"), client.emitWithAck("echo", "mutual"))
        }
        Client(mutualUrl, options.copy(clientCertPem = null, clientKeyPem = null)).use { client ->
            val error = assertThrows<ConnectException> { client.connect() }
            assertTrue("TLS" in error.message.orEmpty(), error.message)
        }
    }

    @Test
    fun `insecureTrustAllCertificates connects without the CA`() = test {
        val untrusted = ClientOptions(transports = listOf(Transport.WEBSOCKET), reconnection = false)
        Client(url, untrusted).use { client ->
            assertThrows<ConnectException> { client.connect() }
        }
        Client(url, untrusted.copy(insecureTrustAllCertificates = true)).use { client ->
            client.connect()
            assertEquals(listOf("unverified"), client.emitWithAck("echo", "unverified"))
        }
    }
}
