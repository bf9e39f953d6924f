#!/usr/bin/env bash
# Makes a Swift 6 toolchain available on Debian 12, which has none: a Debian trixie root
# with `swiftlang` (and git, which SwiftPM runs to fetch a package by URL), built once with
# mmdebstrap and cached outside the repository (shared/reference/swift-on-linux.md). Prints
# the root's path.
#
#   bindings/swift/toolchain.sh            # build the root if missing, print its path
#   FERRIO_SWIFT_ROOT=/path ...            # use another cache location
set -euo pipefail

root="${FERRIO_SWIFT_ROOT:-/var/cache/ferrio/swift-trixie}"

# `usr/bin/swift` is an absolute symlink (/usr/libexec/swift/bin/swift) that only resolves
# inside the root: test the relative `swiftc` link and the marker written after a full build.
# A root built before git was in the list is built again.
ready() {
  [ -f "$root/.ferrio-ready" ] && [ -x "$root/usr/bin/swiftc" ] \
    && [ -x "$root/usr/libexec/swift/bin/swift-build" ] && [ -x "$root/usr/bin/git" ]
}

if ready; then
  echo "$root"
  exit 0
fi

mkdir -p "$(dirname "$root")"
# One build at a time; a concurrent caller waits and then finds the root ready.
exec 9>"$root.build.lock"
flock 9
if ready; then
  echo "$root"
  exit 0
fi

# Never delete a root something is mounted in (a repository bind-mounted by an interrupted
# test run would be deleted with it).
if grep -qs " ${root}[/ ]" /proc/mounts || grep -qs " ${root}.partial[/ ]" /proc/mounts; then
  echo "swift: $root (or $root.partial) still has mounts; unmount them first:" >&2
  grep -s " $root" /proc/mounts | awk '{print "  " $2}' >&2
  exit 1
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "swift: installing mmdebstrap" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
fi

mirror="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
  | grep -v security | grep -oE 'https?://[^ ]+' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
echo "swift: building a Debian trixie root with swiftlang in $root (about a minute, ~560 MB download)" >&2
rm -rf --one-file-system "$root.partial"
mmdebstrap --variant=apt --include=swiftlang,libc6-dev,ca-certificates,git trixie "$root.partial" "$mirror" >&2
touch "$root.partial/.ferrio-ready"
rm -rf --one-file-system "$root"
mv "$root.partial" "$root"
echo "$root"
