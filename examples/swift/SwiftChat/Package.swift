// swift-tools-version:6.0
// Example: a Ferrio chat client in Swift, depending on the package in bindings/swift by path.
//
//   swift run --package-path examples/swift/SwiftChat swift-chat http://127.0.0.1:3000 --name ada
//   examples/swift/run.sh http://127.0.0.1:3000 --name ada   (Linux: in test.sh's Swift root)
//
// A package's identity is its directory's name: this one is not in a directory named `swift`,
// which is the identity of bindings/swift.
//
// Generate the bindings first (bindings/swift/generate.sh): run.sh does.
import PackageDescription

let package = Package(
    name: "SwiftChat",
    platforms: [.macOS(.v13), .iOS(.v16)],
    dependencies: [
        .package(path: "../../../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "swift-chat",
            dependencies: [.product(name: "Ferrio", package: "swift")],
            path: "Sources/SwiftChat",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
