#!/usr/bin/env bash
# Builds the Ferrio (Swift) bench client in release (`make bench` runs it; idempotent, a
# second run only relinks what changed): benches/swift/FerrioBench is a SwiftPM package that
# depends on bindings/swift by path (in a directory of its own: SwiftPM names a package after
# its directory, and a second package named `swift` would clash with bindings/swift).
#
#   benches/swift/build.sh
#
# 1. The Swift toolchain root of bindings/swift (toolchain.sh; built once, cached in
#    /var/cache/ferrio). Needs root (chroot, mount), like `make test-swift`.
# 2. The release cdylib (target/release/libferrio_ffi.so) and the package's generated
#    bindings (generate.sh), a ferrio_ffi.pc for target/release (install-ffi.sh --pc-only).
# 3. `swift build -c release` inside the root (in-root.sh), SwiftPM's outputs in a cache in
#    the root (outside the repository); the executable copied to
#    target/bench/swift/ferrio-swift-bench, which client.sh runs in the root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
swift_dir="$repo/bindings/swift"

fail() { echo "swift bench: $*" >&2; exit 1; }
[ "$(uname -s)" = Linux ] || fail "this build runs on Linux (in a Debian trixie root); on macOS: swift build -c release --package-path benches/swift/FerrioBench"
[ "$(id -u)" = 0 ] || fail "chroot and mount need root"
command -v chroot >/dev/null 2>&1 || fail "chroot is missing (apt-get install coreutils)"
command -v unshare >/dev/null 2>&1 || fail "unshare is missing (apt-get install util-linux)"

root="$("$swift_dir/toolchain.sh")" || fail "the Swift toolchain root could not be built (bindings/swift/toolchain.sh)"

cargo build --release -p ferrio-ffi
"$swift_dir/generate.sh"
pkgconfig_dir="$repo/target/swift-bench-pkgconfig"
"$swift_dir/install-ffi.sh" --pc-only "$repo/target/release" "$pkgconfig_dir"

# SwiftPM's outputs: a cache inside the root, one per repository path (as test.sh's).
scratch="/var/cache/ferrio-swiftpm/$(echo "$repo" | tr '/' '_')_benches_swift"
out="$repo/target/bench/swift"
mkdir -p "$out"
"$swift_dir/in-root.sh" "$root" PKG_CONFIG_PATH="$pkgconfig_dir" -- \
  /bin/bash -c 'set -euo pipefail
    swift build -c release --package-path "$1/FerrioBench" --scratch-path "$2" --product ferrio-swift-bench
    install -m 755 "$2/release/ferrio-swift-bench" "$3/ferrio-swift-bench"' \
  swift "$here" "$scratch" "$out"
echo "swift bench: built $out/ferrio-swift-bench" >&2
