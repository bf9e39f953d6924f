#!/usr/bin/env bash
# Runs the Ferrio (Swift) bench client (build.sh builds it) as run.py runs every client:
#
#   benches/swift/client.sh <scenario> <url> <n>
#
# The client needs trixie's glibc and Swift runtime, so it runs in the Swift toolchain root of
# bindings/swift (chroot), which shares the host's network (the bench server listens on the
# host's 127.0.0.1). /proc (VmHWM), /dev and the repository (the client and
# target/release/libferrio_ffi.so, at the same absolute path) are mounted in a mount namespace
# of its own (unshare), so they vanish with the process and no lock is shared with
# bindings/swift/in-root.sh. Every step execs the next: the client is this very process, which
# the driver's wait4 measures.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
client="$repo/target/bench/swift/ferrio-swift-bench"
root="${FERRIO_SWIFT_ROOT:-/var/cache/ferrio/swift-trixie}"

fail() { echo "swift bench: $*" >&2; exit 1; }
[ -x "$client" ] || fail "$client is missing: run benches/swift/build.sh"
[ -f "$root/.ferrio-ready" ] || fail "no Swift toolchain root at $root: run benches/swift/build.sh"
[ "$(id -u)" = 0 ] || fail "chroot and mount need root"
mkdir -p "$root$repo"

exec unshare --mount --propagation private -- /bin/bash -c 'set -euo pipefail
  root=$1 repo=$2 client=$3
  shift 3
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --bind "$repo" "$root$repo"
  exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    LD_LIBRARY_PATH="$repo/target/release" "$client" "$@"' \
  swift-bench "$root" "$repo" "$client" "$@"
