#!/usr/bin/env bash
# Runs a command in the Swift toolchain root (toolchain.sh) with the repository mounted at
# its own absolute path: used by test.sh (the package's tests) and by examples/swift/run.sh.
#
#   in-root.sh ROOT [VAR=value]... -- COMMAND [ARG]...
#
# Takes the root's lock (one runner at a time: the mounts are shared), undoes mounts left by
# a killed run, mounts /proc, /dev and the repository, runs COMMAND under `env -i` with
# PATH, HOME, LANG, TERM and the given variables, then unmounts (deepest first), also on
# failure or Ctrl-C. Exits with COMMAND's status. Needs root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root=$1
shift
variables=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  variables+=("$1")
  shift
done
[ "${1:-}" = -- ] && [ $# -gt 1 ] || { echo "usage: in-root.sh ROOT [VAR=value]... -- COMMAND [ARG]..." >&2; exit 2; }
shift

exec 8>"$root.lock"
flock 8

mounted=()
unmount_all() {
  local status=$?
  set +e
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" \
      || echo "swift: could not unmount ${mounted[$i]}" >&2
  done
  exit "$status"
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

# Mounts left by a run that was killed (we hold the lock: nobody else uses them), deepest
# first.
{ grep -s " $root/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r stale; do
  echo "swift: unmounting $stale, left by an earlier run" >&2
  umount -R "$stale" 2>/dev/null || umount -R -l "$stale" 2>/dev/null || true
done

mount_in_root() { # kind source target
  mkdir -p "$3"
  case $1 in
    proc) mount -t proc proc "$3" ;;
    rbind) mount --rbind "$2" "$3" && mount --make-rslave "$3" ;;
    bind) mount --bind "$2" "$3" ;;
  esac
  mounted+=("$3")
}
fail() { echo "swift: $*" >&2; exit 1; }
mount_in_root proc proc "$root/proc" || fail "mounting /proc in $root failed"
mount_in_root rbind /dev "$root/dev" || fail "mounting /dev in $root failed"
mount_in_root bind "$repo" "$root$repo" || fail "mounting $repo in $root failed"

chroot "$root" /usr/bin/env -i \
  PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
  "${variables[@]}" "$@"
