#!/usr/bin/env bash
# Builds and runs the Swift chat example (`swift-chat ARGS...`) the way an application uses
# Ferrio: examples/swift/SwiftChat is a package of its own that depends on Ferrio's Swift
# package by URL (https://github.com/ferrio/ferrio-swift) at a version.
#
#   examples/swift/run.sh http://127.0.0.1:3000 --name ada --messages 1 --timeout 20
#
# 1. Publishes this checkout's Swift package (bindings/swift/package-release.sh) to a local
#    git repository, tagged with the version of Cargo.toml, and makes SwiftPM fetch the URL
#    from there (`swift package config set-mirror`): SwiftPM clones it like any remote
#    dependency, so it would refuse unsafe flags in it as it does for users.
# 2. Linux: installs the native library as a Linux user does (install-ffi.sh:
#    libferrio_ffi.so and ferrio_ffi.pc into /usr/local, then ldconfig), in the Swift
#    toolchain root of bindings/swift, since this Debian has no Swift compiler (the root
#    shares the host's network, so a server on the host is reachable). macOS: the package
#    uses bindings/swift/FerrioFFI.xcframework (build-xcframework.sh).
# 3. `swift build` of the example, then runs it (SwiftPM's outputs in a cache, outside the
#    repository; the dependency is fetched again on every run, since its tag moves). The
#    mirror (.swiftpm/) and Package.resolved in SwiftChat are gitignored.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
swift_dir="$repo/bindings/swift"
package="$here/SwiftChat"
# The URL of the dependency in SwiftChat/Package.swift.
url=https://github.com/ferrio/ferrio-swift

fail() { echo "swift-chat: $*" >&2; exit 1; }

version="$(python3 "$repo/packaging/version.py")"

# publish DIR: the package as a release publishes it, in a new git repository at DIR whose one
# commit is tagged with the version.
publish() {
  "$swift_dir/package-release.sh" "$1" >&2
  rm -rf "$1/.git"
  git -C "$1" init -q
  git -C "$1" add -A
  GIT_AUTHOR_NAME=ferrio GIT_AUTHOR_EMAIL=ferrio@localhost \
    GIT_COMMITTER_NAME=ferrio GIT_COMMITTER_EMAIL=ferrio@localhost \
    git -C "$1" commit -q -m "Ferrio $version"
  git -C "$1" tag "$version"
  echo "swift-chat: published the Swift package to $1, tag $version" >&2
}

# build_and_run MIRROR SCRATCH ARGS...: the example against the package at file://MIRROR,
# with a fresh clone of it (the tag moves when the package changes).
build_and_run='set -euo pipefail
  package=$1 scratch=$2 url=$3 mirror=$4
  shift 4
  rm -rf "$scratch/repositories" "$scratch/checkouts" "$scratch/workspace-state.json"
  # The build plan too: SwiftPM keeps it when only the files of a dependency changed, so a
  # source file added to the package would be missing from the build ("cannot find type").
  rm -f "$scratch"/*.yaml "$scratch"/*/*/description.json
  rm -f "$package/Package.resolved"
  swift package --package-path "$package" config set-mirror --original "$url" --mirror "file://$mirror" >&2
  swift build --package-path "$package" --scratch-path "$scratch" --disable-dependency-cache \
    --product swift-chat >&2
  exec "$scratch/debug/swift-chat" "$@"'

if [ "$(uname -s)" = Darwin ]; then
  [ -d "$swift_dir/FerrioFFI.xcframework" ] \
    || fail "build the XCFramework first: bindings/swift/build-xcframework.sh"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  publish "$work/ferrio-swift"
  bash -c "$build_and_run" swift-chat "$package" "$work/build" "$url" "$work/ferrio-swift" "$@"
  exit
fi

[ "$(id -u)" = 0 ] || fail "chroot and mount need root"
root="$("$swift_dir/toolchain.sh")"
# Paths inside the root (the repository is mounted there at its own path).
# One published copy per repository: another clone checked at the same time has its own.
published="/var/cache/ferrio-swift-release/$(echo "$repo" | tr '/' '_')/ferrio-swift"
scratch="/var/cache/ferrio-swiftpm/$(echo "$package" | tr '/' '_')"
publish "$root$published"
"$swift_dir/in-root.sh" "$root" -- /bin/bash -c 'set -euo pipefail
    "$1" --lib "$2" --prefix /usr/local
    shift 2
    bash -c "$@"' \
  install-and-run "$swift_dir/install-ffi.sh" "$repo/target/debug/libferrio_ffi.so" \
  "$build_and_run" swift-chat "$package" "$scratch" "$url" "$published" "$@"
