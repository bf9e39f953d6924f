#!/usr/bin/env bash
# Makes an arm64 (aarch64) Debian root for running Linux arm64 programs on an x86_64 host
# under qemu-user, without binfmt_misc: `qemu-aarch64-static -L ROOT PROGRAM` loads the
# program's libraries from ROOT (and falls back to the host's files for paths ROOT lacks).
# The root is built once with mmdebstrap (packages unpacked with their dependencies, no
# maintainer scripts run: they would need binfmt_misc) and cached outside the repository.
# Prints the root's path.
#
#   packaging/arm64-root.sh PACKAGE...        # a root with these Debian packages, e.g.
#   packaging/arm64-root.sh python3 python3-venv
#   FERRIO_ARM64_ROOT=/path ...               # another cache location
#   FERRIO_ARM64_SUITE=trixie ...             # another Debian release (default: the host's)
#
# A root remembers the packages it was built with; asking for a package it lacks rebuilds it
# with the union of both lists (a minute or two; not while a program runs from it). Needs
# root (apt-get install of mmdebstrap and qemu-user-static when missing).
#
# Without binfmt_misc, a program under qemu cannot start another arm64 program (exec gives
# ENOEXEC): run each one through qemu-aarch64-static. Host programs (x86_64) start as usual.
set -euo pipefail

root="${FERRIO_ARM64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrio/arm64-root}"
# On Debian the host's release and mirror; elsewhere (an Ubuntu CI runner) Debian bookworm.
host_id="$(. /etc/os-release && echo "${ID:-}")"
host_suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ "$host_id" = debian ] && [ -n "$host_suite" ] || host_suite=bookworm
suite="${FERRIO_ARM64_SUITE:-$host_suite}"
marker="$root/.ferrio-packages"

wanted=("$@")
if [ "${#wanted[@]}" -eq 0 ]; then
  echo "arm64-root: name the Debian packages the root needs, e.g. python3 python3-venv" >&2
  exit 2
fi

# True when the root exists and was built with every wanted package.
ready() {
  [ -f "$marker" ] || return 1
  local package
  for package in "${wanted[@]}"; do
    grep -qxF "$package" "$marker" || return 1
  done
}

install_missing() {
  local missing=()
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "arm64-root: installing ${missing[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

install_missing
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

packages=("${wanted[@]}")
if [ -f "$marker" ]; then
  mapfile -t -O "${#packages[@]}" packages <"$marker"
fi
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

mirror=""
if [ "$host_id" = debian ]; then
  mirror="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"
echo "arm64-root: building a Debian $suite arm64 root with ${packages[*]} in $root" >&2
rm -rf --one-file-system "$root.partial"
# `extract` unpacks the packages and their dependencies without configuring them, which
# would run arm64 maintainer scripts (binfmt_misc); check/qemu is the binfmt_misc check.
mmdebstrap --variant=extract --architectures=arm64 --skip=check/qemu \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg --include="$(IFS=,; echo "${packages[*]}")" "$suite" "$root.partial" "$mirror" >&2
# For `chroot ROOT /usr/bin/qemu-aarch64-static PROGRAM` (a static binary: no libraries).
cp "$(command -v qemu-aarch64-static)" "$root.partial/usr/bin/"
printf '%s\n' "${packages[@]}" >"$root.partial/.ferrio-packages"
rm -rf --one-file-system "$root"
mv "$root.partial" "$root"
echo "$root"
