#!/usr/bin/env bash
# Builds FerrioFFI.xcframework, the native library of the Swift package on Apple platforms,
# and its zip for a release. Needs macOS with Xcode (xcodebuild, lipo, the iOS and macOS
# SDKs) and rustup; anywhere else it stops at once, saying so.
#
#   bindings/swift/build-xcframework.sh
#
# Slices (release static libraries of ferrio-ffi, each with the generated C header and
# module map in Headers/FerrioFFI/):
#   ios-arm64                  aarch64-apple-ios
#   ios-arm64_x86_64-simulator aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#   macos-arm64_x86_64         aarch64-apple-darwin + x86_64-apple-darwin (lipo)
# Outputs:
#   bindings/swift/FerrioFFI.xcframework     what Package.swift's local binary target uses
#   target/xcframework/FerrioFFI.xcframework.zip           the release asset
#   target/xcframework/FerrioFFI.xcframework.zip.checksum  `swift package compute-checksum`
# The binary target's name must be the XCFramework's name, and `Ferrio` is the Swift
# module's: hence FerrioFFI. package-release.sh puts the zip's URL and checksum into the
# published Package.swift.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() { echo "build-xcframework: $*" >&2; exit 1; }

[ "$(uname -s)" = Darwin ] || fail "needs macOS with Xcode (xcodebuild, lipo and the \
iOS/macOS SDKs), and this is $(uname -s): it cannot be built here. On Linux the Swift \
package links libferrio_ffi.so through pkg-config instead (bindings/swift/install-ffi.sh)."
command -v xcodebuild >/dev/null 2>&1 && xcrun --sdk iphoneos --show-sdk-path >/dev/null 2>&1 \
  || fail "Xcode with the iOS SDK is missing: install Xcode, then \`sudo xcode-select -s /Applications/Xcode.app\`"
command -v rustup >/dev/null 2>&1 || fail "rustup is missing (https://rustup.rs)"
command -v swift >/dev/null 2>&1 || fail "swift is missing (it comes with Xcode)"

device=aarch64-apple-ios
simulator=(aarch64-apple-ios-sim x86_64-apple-ios)
macos=(aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "$device" "${simulator[@]}" "${macos[@]}"

cd "$repo"
# The deployment targets of Package.swift's `platforms`.
export IPHONEOS_DEPLOYMENT_TARGET=16.0 MACOSX_DEPLOYMENT_TARGET=13.0
for target in "$device" "${simulator[@]}" "${macos[@]}"; do
  echo "build-xcframework: ferrio-ffi for $target" >&2
  # ferrio-ffi is a cdylib: ask for a static library. rustc prints what it must be linked
  # with (compare with Package.swift's appleSystemLibraries).
  cargo rustc -p ferrio-ffi --lib --release --target "$target" --crate-type staticlib \
    -- --print native-static-libs
done

# The C header and module map, in a directory of their own so that two XCFrameworks in one
# app do not both claim include/module.modulemap.
"$here/generate.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/headers/FerrioFFI" "$work/ios-simulator" "$work/macos"
cp "$here/Sources/FerrioFFI/FerrioFFI.h" "$here/Sources/FerrioFFI/module.modulemap" \
  "$work/headers/FerrioFFI/"

lib() { echo "target/$1/release/libferrio_ffi.a"; }
lipo -create "$(lib "${simulator[0]}")" "$(lib "${simulator[1]}")" \
  -output "$work/ios-simulator/libferrio_ffi.a"
lipo -create "$(lib "${macos[0]}")" "$(lib "${macos[1]}")" -output "$work/macos/libferrio_ffi.a"

xcframework="$here/FerrioFFI.xcframework"
rm -rf "$xcframework"
xcodebuild -create-xcframework \
  -library "$(lib "$device")" -headers "$work/headers" \
  -library "$work/ios-simulator/libferrio_ffi.a" -headers "$work/headers" \
  -library "$work/macos/libferrio_ffi.a" -headers "$work/headers" \
  -output "$xcframework"

out="$repo/target/xcframework"
zip="$out/FerrioFFI.xcframework.zip"
mkdir -p "$out"
rm -f "$zip"
# The archive holds FerrioFFI.xcframework at its top, as SwiftPM expects.
ditto -c -k --sequesterRsrc --keepParent "$xcframework" "$zip"
checksum="$(swift package compute-checksum "$zip")"
echo "$checksum" >"$zip.checksum"
echo "build-xcframework: $xcframework" >&2
echo "build-xcframework: $zip ($(du -h "$zip" | cut -f1)), checksum:" >&2
echo "$checksum"
