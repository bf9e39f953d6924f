#!/usr/bin/env bash
# Builds and runs the Swift chat example (`swift run swift-chat ARGS...`) on this Debian
# machine, which has no Swift compiler: in the toolchain root of bindings/swift, through its
# in-root.sh (the root shares the host's network, so a server on the host is reachable).
#
#   examples/swift/run.sh http://127.0.0.1:3000 --name ada --messages 1 --timeout 20
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
swift_dir="$repo/bindings/swift"

[ "$(uname -s)" = Linux ] || exec swift run --package-path "$here/SwiftChat" swift-chat "$@"
[ "$(id -u)" = 0 ] || { echo "swift-chat: chroot and mount need root" >&2; exit 1; }

root="$("$swift_dir/toolchain.sh")"
"$swift_dir/generate.sh" >&2
# SwiftPM's outputs: a cache inside the root, one per package path, as test.sh does.
scratch="/var/cache/ferrio-swiftpm/$(echo "$here/SwiftChat" | tr '/' '_')"
"$swift_dir/in-root.sh" "$root" -- /bin/bash -c 'set -euo pipefail; cd "$1"; scratch=$2; shift 2
    swift build --scratch-path "$scratch" --product swift-chat >&2
    exec "$scratch/debug/swift-chat" "$@"' \
  swift-chat "$here/SwiftChat" "$scratch" "$@"
