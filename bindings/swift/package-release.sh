#!/usr/bin/env bash
# Writes the Swift package as it is published for a release, ready to commit and tag: the
# package of bindings/swift with its generated sources (Sources/FerrioUniFFI, Sources/FerrioFFI:
# gitignored in the Ferrio repository) and, given the release's XCFramework zip, its URL and
# checksum in Package.swift's `releaseXCFramework`.
#
#   bindings/swift/package-release.sh OUTDIR [--xcframework-url URL --checksum SHA256]
#
# OUTDIR is emptied first except for its .git, so it can be a clone of the package's
# repository (the release workflow commits the result and tags it with the version, X.Y.Z).
# Without --xcframework-url, Package.swift keeps its local binary target for Apple platforms,
# and bindings/swift/FerrioFFI.xcframework is copied when there is one (build-xcframework.sh,
# on a Mac); Linux uses neither.
# examples/swift/run.sh publishes such a copy to a local git repository and builds the
# example against it by URL, as users do.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

fail() { echo "package-release: $*" >&2; exit 1; }

[ $# -ge 1 ] || fail "usage: package-release.sh OUTDIR [--xcframework-url URL --checksum SHA256]"
out=$1
shift
url=""
checksum=""
while [ $# -gt 0 ]; do
  case $1 in
    --xcframework-url) url=$2; shift 2 ;;
    --checksum) checksum=$2; shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done
if [ -n "$url" ] || [ -n "$checksum" ]; then
  [ -n "$url" ] && [ -n "$checksum" ] || fail "--xcframework-url and --checksum go together"
  [[ $url == https://* ]] || fail "the XCFramework's URL must be https: $url"
  [[ $checksum =~ ^[0-9a-f]{64}$ ]] || fail "the checksum must be 64 hex digits (swift package compute-checksum): $checksum"
fi

# OUTDIR is emptied: never this package, nor a Rust workspace given by mistake.
if [ -d "$out" ]; then
  [ "$(cd "$out" && pwd -P)" != "$(cd "$here" && pwd -P)" ] || fail "OUTDIR is bindings/swift itself"
  [ ! -e "$out/Cargo.toml" ] || fail "$out has a Cargo.toml: not an output directory"
fi

"$here/generate.sh"

mkdir -p "$out"
find "$out" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
cp "$here/Package.swift" "$here/README.md" "$out/"
mkdir -p "$out/Sources" "$out/Tests"
cp -R "$here/Sources/Ferrio" "$here/Sources/FerrioUniFFI" "$here/Sources/FerrioFFI" "$out/Sources/"
cp -R "$here/Tests/FerrioTests" "$out/Tests/"
printf '%s\n' /.build/ /.swiftpm/ /Package.resolved >"$out/.gitignore"

if [ -z "$url" ] && [ -d "$here/FerrioFFI.xcframework" ]; then
  cp -R "$here/FerrioFFI.xcframework" "$out/"
fi
if [ -n "$url" ]; then
  placeholder='let releaseXCFramework: (url: String, checksum: String)? = nil'
  grep -qxF "$placeholder" "$out/Package.swift" || fail "Package.swift has no line \`$placeholder\`"
  release="let releaseXCFramework: (url: String, checksum: String)? = (url: \"$url\", checksum: \"$checksum\")"
  awk -v placeholder="$placeholder" -v release="$release" \
    '$0 == placeholder { print release; next } { print }' "$out/Package.swift" >"$out/Package.swift.new"
  mv "$out/Package.swift.new" "$out/Package.swift"
fi
echo "package-release: the Swift package in $out${url:+ (XCFramework $url)}" >&2
