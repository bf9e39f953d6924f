import Foundation
import Testing
@testable import Ferrio

/// The HTTPS servers and certificates test.sh started and wrote (tests/server/test-certs.sh).
private struct TLSFixture {
    let url: String
    let mutualURL: String
    let directory: URL

    init() {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["FERRIO_TEST_TLS_URL"],
            let mutualURL = environment["FERRIO_TEST_MTLS_URL"],
            let directory = environment["FERRIO_TEST_TLS_DIR"]
        else {
            fatalError("FERRIO_TEST_TLS_* are not set: run bindings/swift/test.sh (make test-swift)")
        }
        self.url = url
        self.mutualURL = mutualURL
        self.directory = URL(fileURLWithPath: directory)
    }

    func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    func pin(_ name: String) throws -> String {
        try text("\(name).pin").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("TLS: certificate pins, mutual TLS, trusting every certificate")
struct TLSTests {
    private let tls = TLSFixture()

    @Test(
        "a pin of the server's key or of the CA's connects",
        arguments: [Transport.polling, Transport.websocket])
    func aPinnedKeyConnects(transport: Transport) async throws {
        let ca = try tls.text("ca.pem")
        for pinned in ["server", "ca"] {
            let pins = [try tls.pin("other"), try tls.pin(pinned)]
            let options = ClientOptions {
                $0.transports = [transport]
                $0.caCertificatePEM = ca
                $0.certificatePins = pins
            }
            let client = try Client(url: tls.url, options: options)
            try await client.connect()
            let reply = try await client.socket.emitWithAck("echo", "pinned")
            #expect(reply.values == [.string("pinned")])
            await client.close()
        }
    }

    @Test(
        "a wrong pin throws certificatePinMismatch with the chain's keys",
        arguments: [Transport.polling, Transport.websocket])
    func aWrongPinThrows(transport: Transport) async throws {
        let ca = try tls.text("ca.pem")
        let wrong = try tls.pin("other")
        let options = ClientOptions {
            $0.transports = [transport]
            $0.reconnection = false
            $0.caCertificatePEM = ca
            $0.certificatePins = [wrong]
        }
        let client = try Client(url: tls.url, options: options)
        let expected = FerrioError.certificatePinMismatch(seen: [try tls.pin("server"), try tls.pin("ca")])
        await #expect(throws: expected) { try await client.connect() }
        await client.close()
    }

    @Test(
        "mutual TLS connects with the client certificate and fails without it",
        arguments: [Transport.polling, Transport.websocket])
    func mutualTLS(transport: Transport) async throws {
        let (ca, cert, key) = (try tls.text("ca.pem"), try tls.text("client.pem"), try tls.text("client-key.pem"))
        var options = ClientOptions {
            $0.transports = [transport]
            $0.reconnection = false
            $0.caCertificatePEM = ca
            $0.clientCertificatePEM = cert
            $0.clientKeyPEM = key
        }
        let client = try Client(url: tls.mutualURL, options: options)
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "mutual")
        #expect(reply.values == [.string("mutual")])
        await client.close()

        options.clientCertificatePEM = nil
        options.clientKeyPEM = nil
        let refused = try Client(url: tls.mutualURL, options: options)
        do {
            try await refused.connect()
            Issue.record("connected without a client certificate")
        } catch FerrioError.connectionFailed(let detail) {
            #expect(detail.contains("TLS"))
        }
        await refused.close()
    }

    @Test("insecureTrustAllCertificates connects without the CA")
    func insecureTrustAllCertificates() async throws {
        var options = ClientOptions {
            $0.transports = [.websocket]
            $0.reconnection = false
        }
        let untrusted = try Client(url: tls.url, options: options)
        await #expect(throws: FerrioError.self) { try await untrusted.connect() }
        await untrusted.close()

        options.insecureTrustAllCertificates = true
        let client = try Client(url: tls.url, options: options)
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "unverified")
        #expect(reply.values == [.string("unverified")])
        await client.close()
    }
}
