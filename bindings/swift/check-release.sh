#!/usr/bin/env bash
# Checks the Swift package as a release publishes it (package-release.sh), on Linux in the
# Swift toolchain root (toolchain.sh, in-root.sh), in `make test-swift`:
# - `swift package compute-checksum` of a zip is its SHA-256 (what the release records);
# - the published Package.swift, given that zip's URL and checksum, has no unsafe flags, and
#   SwiftPM loads it: on Linux FerrioFFI is the system library with pkg-config `ferrio_ffi`,
#   and with its Apple branch forced on (`#if canImport(Darwin)` made true, as on a Mac),
#   FerrioFFI is the binary target with exactly that URL and checksum.
# Building and linking the XCFramework itself needs a Mac (build-xcframework.sh).
# FERRIO_SKIP_SWIFT=1 skips it, as it skips test.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "check-release: FAILED: $*" >&2; exit 1; }

if [ "${FERRIO_SKIP_SWIFT:-0}" = 1 ]; then
  echo "check-release: SKIPPED (FERRIO_SKIP_SWIFT=1): the published Swift package was not checked" >&2
  exit 0
fi
[ "$(uname -s)" = Linux ] || fail "this check runs in the Linux Swift root (on a Mac, build-xcframework.sh and swift test check more)"
[ "$(id -u)" = 0 ] || fail "chroot and mount need root"
root="$("$here/toolchain.sh")"

# A directory of this run's own: two checks at once (two clones on one machine) share the root.
mkdir -p "$root/tmp"
work="$(mktemp -d "$root/tmp/ferrio-check-release.XXXXXX")"
trap 'rm -rf "$work"' EXIT
inside="${work#"$root"}"

# A stand-in for the release asset: any zip does for the checksum.
python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("FerrioFFI.xcframework/Info.plist", "stand-in")' "$work/FerrioFFI.xcframework.zip"
sha256="$(sha256sum "$work/FerrioFFI.xcframework.zip" | cut -d' ' -f1)"
url=https://github.com/ferrio/ferrio/releases/download/v0.0.0/FerrioFFI.xcframework.zip

"$here/package-release.sh" "$work/linux" --xcframework-url "$url" --checksum "$sha256"
if grep -n unsafeFlags "$work/linux/Package.swift"; then
  fail "the published Package.swift has unsafe flags: SwiftPM refuses them in a dependency"
fi
cp -R "$work/linux" "$work/apple"
sed -i 's/^#if canImport(Darwin)$/#if true/' "$work/apple/Package.swift"
grep -qx '#if true' "$work/apple/Package.swift" || fail "Package.swift has no \`#if canImport(Darwin)\` line"

"$here/in-root.sh" "$root" -- /bin/bash -c 'set -euo pipefail; cd "$1"
    swift package compute-checksum FerrioFFI.xcframework.zip >checksum
    swift package --package-path linux dump-package >linux.json
    swift package --package-path apple dump-package >apple.json' \
  check-release "$inside"

[ "$(cat "$work/checksum")" = "$sha256" ] \
  || fail "swift package compute-checksum gave $(cat "$work/checksum"), sha256sum $sha256"
python3 - "$work/linux.json" "$work/apple.json" "$url" "$sha256" <<'EOF'
import json, sys

def ffi(path):
    targets = json.load(open(path))["targets"]
    return next(t for t in targets if t["name"] == "FerrioFFI")

linux, apple = ffi(sys.argv[1]), ffi(sys.argv[2])
url, checksum = sys.argv[3], sys.argv[4]
if (linux["type"], linux.get("pkgConfig")) != ("system", "ferrio_ffi"):
    sys.exit(f"check-release: FAILED: FerrioFFI on Linux: {linux}")
if (apple["type"], apple.get("url"), apple.get("checksum")) != ("binary", url, checksum):
    sys.exit(f"check-release: FAILED: FerrioFFI on Apple platforms: {apple}")
EOF
echo "check-release: the published package loads (Linux: pkg-config ferrio_ffi; Apple: the release's XCFramework by URL, checksum $sha256)" >&2
