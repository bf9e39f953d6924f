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

/// The port of a tinyproxy that wants Basic credentials `user:secret` (test.sh starts it).
private let authProxyPort: String = {
    guard let port = ProcessInfo.processInfo.environment["FERRIO_TEST_AUTH_PROXY_PORT"] else {
        fatalError("FERRIO_TEST_AUTH_PROXY_PORT is not set: run bindings/swift/test.sh (make test-swift)")
    }
    return port
}()

/// The port of a microsocks (SOCKS5) test.sh starts, and of one that wants the
/// username/password `user:secret`.
private let socksProxyPort = environmentPort("FERRIO_TEST_SOCKS_PROXY_PORT")
private let socksAuthProxyPort = environmentPort("FERRIO_TEST_SOCKS_AUTH_PROXY_PORT")

private func environmentPort(_ name: String) -> String {
    guard let port = ProcessInfo.processInfo.environment[name] else {
        fatalError("\(name) is not set: run bindings/swift/test.sh (make test-swift)")
    }
    return port
}

/// tinyproxy and microsocks connect out from this address; a direct connection comes from 127.0.0.1.
private let proxyOutgoingAddress = "127.0.0.2"

/// `ClientOptions.proxy` through a real tinyproxy or microsocks to ``TestServer/proxied``, which only these
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

    @Test(
        "a socks5h proxy carries each transport and the upgrade",
        arguments: [[Transport.polling], [Transport.websocket], [Transport.polling, Transport.websocket]])
    func aSocks5hProxyCarriesEachTransport(transports: [Transport]) async throws {
        let options = ClientOptions {
            $0.transports = transports
            $0.proxy = "socks5h://127.0.0.1:\(socksProxyPort)"
            $0.reconnection = false
        }
        // By host name: the proxy (socks5h), not the client, resolves localhost.
        let url = TestServer.proxied.url.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let client = try Client(url: url, options: options)
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "through socks")
        #expect(reply.values == [.string("through socks")])
        await client.close()
        let peers = try await peers()
        #expect(!peers.isEmpty)
        #expect(peers.allSatisfy { $0 == proxyOutgoingAddress }, "\(peers)")
    }

    @Test("an unreachable proxy is a typed proxy error naming it")
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
        } catch FerrioError.proxy(let kind, let proxy, let message) {
            #expect(kind == .unreachable)
            #expect(proxy == nowhere)
            #expect(message.contains("cannot reach the proxy"), "\(message)")
        }
        await client.close()
    }

    @Test(
        "wrong proxy credentials are a typed authentication failure",
        arguments: ["http", "socks5h"],
        [[Transport.polling], [Transport.websocket], [Transport.polling, Transport.websocket]])
    func wrongProxyCredentialsAreAnAuthenticationFailure(scheme: String, transports: [Transport]) async throws {
        // A tinyproxy (HTTP Basic) or a microsocks (SOCKS5) that wants `user:secret`.
        let port = scheme == "http" ? authProxyPort : socksAuthProxyPort
        func options(password: String) -> ClientOptions {
            ClientOptions {
                $0.transports = transports
                $0.proxy = "\(scheme)://user:\(password)@127.0.0.1:\(port)"
                $0.reconnection = false
            }
        }
        let refused = try Client(url: TestServer.proxied.url, options: options(password: "wrong"))
        do {
            try await refused.connect()
            Issue.record("connected with wrong \(scheme) proxy credentials")
        } catch FerrioError.proxy(let kind, let proxy, _) {
            #expect(kind == .authenticationFailed)
            #expect(proxy == "\(scheme)://127.0.0.1:\(port)")  // without the credentials
        }
        await refused.close()
        let client = try Client(url: TestServer.proxied.url, options: options(password: "secret"))
        try await client.connect()
        let reply = try await client.socket.emitWithAck("echo", "authenticated")
        #expect(reply.values == [.string("authenticated")])
        await client.close()
        let peers = try await peers()
        #expect(peers.allSatisfy { $0 == proxyOutgoingAddress }, "\(peers)")
    }

    @Test("the environment's proxy is on by default and can be turned off")
    func theEnvironmentsProxyCanBeTurnedOff() {
        #expect(ClientOptions().proxyFromEnvironment)
        #expect(ClientOptions().proxy == nil)
        #expect(!ClientOptions { $0.proxyFromEnvironment = false }.proxyFromEnvironment)
    }
}
