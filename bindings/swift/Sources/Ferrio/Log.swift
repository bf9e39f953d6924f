import Foundation
#if canImport(os)
import os
#endif

/// The package's few log lines: the unified log on Apple platforms (subsystem `io.ferrio`),
/// standard error elsewhere.
enum Log {
    #if canImport(os)
    private static let logger = Logger(subsystem: "io.ferrio", category: "ferrio")
    #endif

    /// A recoverable oddity the user should know about.
    static func warning(_ message: String) {
        #if canImport(os)
        logger.warning("\(message, privacy: .public)")
        #else
        FileHandle.standardError.write(Data("ferrio: warning: \(message)\n".utf8))
        #endif
    }
}
