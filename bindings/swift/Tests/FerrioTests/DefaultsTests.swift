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
}
