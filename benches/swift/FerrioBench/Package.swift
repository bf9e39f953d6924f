// swift-tools-version:6.0
// Ferrio (Swift) bench client (benches/README.md): one executable that depends on the Swift
// package of this repository by path. Built in release by build.sh inside the Swift toolchain
// root of bindings/swift, run by client.sh.
import PackageDescription

let package = Package(
    name: "FerrioBench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ferrio-swift-bench", targets: ["FerrioBench"]),
    ],
    dependencies: [
        .package(path: "../../../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "FerrioBench",
            dependencies: [.product(name: "Ferrio", package: "swift")],
            path: "Sources/FerrioBench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
