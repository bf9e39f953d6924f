#!/usr/bin/env bash
# Builds ferrio-ffi (debug) on the host and generates its UniFFI Swift bindings into the package
# (gitignored, never committed):
#   Sources/FerrioFFI/     FerrioFFI.h + module.modulemap  (the C module, a system library)
#   Sources/FerrioUniFFI/  Ferrio.swift                   (the generated Swift layer)
# Settings come from the repository's top-level uniffi.toml (module names).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

cargo build -p ferrio-ffi
case "$(uname -s)" in
  Darwin) library=target/debug/libferrio_ffi.dylib ;;
  *) library=target/debug/libferrio_ffi.so ;;
esac
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run --quiet -p ferrio-ffi --bin uniffi-bindgen -- generate --library "$library" \
  --language swift --config uniffi.toml --out-dir "$out" | { grep -v 'swift-format' || true; }

mkdir -p "$here/Sources/FerrioFFI" "$here/Sources/FerrioUniFFI"
# SwiftPM wants a system library's module map named module.modulemap.
install -m 644 "$out/FerrioFFI.h" "$here/Sources/FerrioFFI/FerrioFFI.h"
install -m 644 "$out/FerrioFFI.modulemap" "$here/Sources/FerrioFFI/module.modulemap"
# Rewritten only when changed, so SwiftPM's incremental build stays warm.
if ! cmp -s "$out/Ferrio.swift" "$here/Sources/FerrioUniFFI/Ferrio.swift"; then
  install -m 644 "$out/Ferrio.swift" "$here/Sources/FerrioUniFFI/Ferrio.swift"
fi
echo "swift: bindings generated in bindings/swift/Sources/{FerrioFFI,FerrioUniFFI}" >&2
