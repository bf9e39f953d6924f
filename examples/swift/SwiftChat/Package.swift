// swift-tools-version:6.0
// Example: a Ferrio chat client in Swift, an application package of its own that depends on
// Ferrio's Swift package by URL at a version, as users do.
//
//   examples/swift/run.sh http://127.0.0.1:3000 --name ada
//
// run.sh publishes this checkout's Swift package (bindings/swift/package-release.sh) to a
// local git repository tagged with the version and makes SwiftPM fetch the URL below from
// there (a mirror): SwiftPM clones it as a remote dependency, so it would refuse unsafe flags
// in it just as it does for users. On Linux it installs the native library first
// (bindings/swift/install-ffi.sh), as a Linux user does.
import PackageDescription

let package = Package(
    name: "SwiftChat",
    platforms: [.macOS(.v13), .iOS(.v16)],
    dependencies: [
        .package(url: "https://github.com/ferrio/ferrio-swift", from: "0.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "swift-chat",
            dependencies: [.product(name: "Ferrio", package: "ferrio-swift")],
            path: "Sources/SwiftChat",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
