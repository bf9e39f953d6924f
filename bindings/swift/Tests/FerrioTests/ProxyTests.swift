import Foundation
import Testing
@testable import Ferrio

/// tinyproxy, started by test.sh on the host (`make test-swift` installs it).
private let proxyURL: String = {
    guard let url = ProcessInfo.processInfo.environment["FERRIO_TEST_PROXY_URL"] else {
        fatalError("FERRIO_TEST_PROXY_URL is not set: run bindings/swift/test.sh (make test-swift)")
    }
    return url
}()

/// tinyproxy connects out from this address; a direct connection comes from 127.0.0.1.
private let proxyOutgoingAddress = "127.0.0.2"

/// `ClientOptions.proxy` through a real tinyproxy to ``TestServer/proxied``, which only these
/// tests use: its record of the addresses it accepted shows whether they came through it.
@Suite("Proxies", .serialized)
struct ProxyTests {
    private func peers() async throws -> [String] {
        let answer = try await TestServer.proxied.control("peers")
        return answer["peers"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    @Test(
        "a proxy carries each transport and the upgrade",
        arguments: [[Transport.polling], [Transport.websocket], [Transport.polling, Transport.websocket]])
    func aProxyCarriesEachTransport(transports: [Transport]) async throws {
        let options = ClientOptions {
            $0.transports = transports
            $0.proxy = proxyURL
            $0.reconnection = false
        }
        let client = try Client(url: TestServer.proxied.url, options: options)
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "proxied")
        #expect(reply.values == [.string("proxied")])
        await client.close()
        let peers = try await peers()
        #expect(!peers.isEmpty)
        #expect(peers.allSatisfy { $0 == proxyOutgoingAddress }, "\(peers)")
    }

    @Test("an unreachable proxy is a connection failure naming it")
    func anUnreachableProxyIsAConnectionFailure() async throws {
        // Nothing can listen on port 0: connecting to it is refused.
        let nowhere = "http://127.0.0.1:0"
        let options = ClientOptions {
            $0.transports = [.websocket]
            $0.proxy = nowhere
            $0.reconnection = false
        }
        let client = try Client(url: TestServer.shared.url, options: options)
        do {
            try await client.connect()
            Issue.record("connected through a proxy that is not there")
        } catch FerrioError.connectionFailed(let message) {
            #expect(message.contains("cannot reach the proxy"), "\(message)")
        }
        await client.close()
    }

    @Test("the environment's proxy is on by default and can be turned off")
    func theEnvironmentsProxyCanBeTurnedOff() {
        #expect(ClientOptions().proxyFromEnvironment)
        #expect(ClientOptions().proxy == nil)
        #expect(!ClientOptions { $0.proxyFromEnvironment = false }.proxyFromEnvironment)
    }
}
