import Foundation
import Testing
@testable import Ferrio
import FerrioUniFFI

/// The options' defaults are the Rust core's, read through the native library.
@Suite struct DefaultsTests {
    let url = "http://localhost:3000"

    @Test("options given nothing are the core's defaults")
    func optionsGivenNothingAreTheCoresDefaults() throws {
        #expect(try ClientOptions().native(url: url) == FerrioUniFFI.defaultClientOptions(url: url))
    }

    @Test("a given option replaces its default and leaves the others")
    func aGivenOptionReplacesItsDefault() throws {
        var expected = FerrioUniFFI.defaultClientOptions(url: url)
        expected.reconnectionDelayMs = 250
        expected.reconnectionAttempts = 3
        let options = ClientOptions {
            $0.reconnectionDelay = .milliseconds(250)
            $0.reconnectionAttempts = 3
        }
        #expect(try options.native(url: url) == expected)
    }

    @Test("the size limits reach the native options; zero where it refuses everything is refused")
    func theSizeLimitsReachTheNativeOptions() throws {
        var expected = FerrioUniFFI.defaultClientOptions(url: url)
        expected.maxIncomingBytes = 4096
        expected.maxPayloadPackets = 20
        expected.maxPreconnectEvents = 0
        expected.tryAllTransports = false
        let options = ClientOptions {
            $0.maxIncomingBytes = 4096
            $0.maxPayloadPackets = 20
            $0.maxPreconnectEvents = 0
            $0.tryAllTransports = false
        }
        #expect(try options.native(url: url) == expected)
        #expect(throws: FerrioError.invalidOption("max_incoming_bytes must be at least 1, not 0")) {
            _ = try Manager(url: url, options: ClientOptions { $0.maxIncomingBytes = 0 })
        }
    }
}

