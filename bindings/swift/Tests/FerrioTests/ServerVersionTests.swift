import Foundation
import Testing
@testable import Ferrio
import FerrioUniFFI

/// ``ClientOptions/serverVersion``: its default read from the core, and a real Socket.IO 2.x
/// server (tests/server-v2, started by test.sh).
@Suite struct ServerVersionTests {
    let url = "http://localhost:3000"

    @Test("the default is the core's")
    func theDefaultIsTheCores() throws {
        let core = FerrioUniFFI.defaultClientOptions(url: url).serverVersion
        #expect(try ClientOptions().native(url: url).serverVersion == core)
        #expect(ClientOptions().serverVersion == .detect)
    }

    @Test("each version reaches the native options")
    func eachVersionReachesTheNativeOptions() throws {
        let native: [(Ferrio.ServerVersion, FerrioUniFFI.ServerVersion)] = [
            (.detect, .detect), (.v2, .v2), (.v4, .v4),
        ]
        for (version, expected) in native {
            #expect(try ClientOptions { $0.serverVersion = version }.native(url: url).serverVersion == expected)
        }
    }

    @Test(
        "a v2 server is refused when v4 is forced",
        arguments: [[Ferrio.Transport.polling], [Ferrio.Transport.websocket], []]
    )
    func aV2ServerIsRefusedWhenV4IsForced(transports: [Ferrio.Transport]) async throws {
        let options = ClientOptions {
            $0.serverVersion = .v4
            if !transports.isEmpty { $0.transports = transports }
        }
        let client = try Client(url: TestServer.v2.url, options: options)
        do {
            try await client.connect()
            Issue.record("connected to a Socket.IO 2.x server with v4 forced")
        } catch FerrioError.connect(let message, _) {
            #expect(message.contains("older Socket.IO protocol"), "\(message)")
        } catch {
            Issue.record("expected a refusal, got \(error)")
        }
        #expect(!client.isConnected)
        await client.close()
    }
}
