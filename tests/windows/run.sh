#!/usr/bin/env bash
# `make test-windows`: Ferrio built for Windows (x86_64-pc-windows-gnu, mingw-w64) and its
# tests run by wine against the reference server on loopback.
#
# 1. Setup, idempotent and cached: mingw-w64 and wine64 from Debian (apt-get when missing),
#    the rustup target, and a wine prefix in ~/.cache/ferrio/wine holding
#    bcryptprimitives.dll built from bcryptprimitives.c (wine 8 has none, and every Rust
#    Windows binary imports it).
# 2. ferrio-ffi for Windows: clippy (its event pipe is Unix-only), then the DLL linked.
# 3. The tests of the core (`ferrio`), of `ferrio-ffi` and the integration tests, each
#    binary run by wine (cargo's runner). wine starts a Linux program but gives it no
#    standard streams, so the integration tests' servers come from ferrio-test-launcher,
#    a Linux process (tests/integration/src/launcher.rs), through FERRIO_TEST_LAUNCHER.
#
# Usage: tests/windows/run.sh [CARGO TEST ARGS]... (e.g. `--test events -- --nocapture`).
#        tests/windows/run.sh --check: only mingw-w64, the target and step 2's clippy
#        (`make check-windows`, part of `make test`).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target=x86_64-pc-windows-gnu
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferrio"
prefix="$cache/wine"

fail() {
  echo "test-windows: $*" >&2
  exit 1
}

check_only=0
if [ "${1:-}" = --check ]; then
  check_only=1
  shift
fi

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
if [ "$check_only" = 0 ]; then
  [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1 || missing+=(wine64)
fi
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: run \`apt-get install ${missing[*]}\` as root"
  echo "test-windows: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
if ! grep -qx "$target" <<<"$(rustup target list --installed)"; then
  rustup target add "$target"
fi
cd "$repo"
cargo clippy -p ferrio-ffi --all-targets --target "$target" -- -D warnings
[ "$check_only" = 0 ] || exit 0

wine="$(command -v wine64 || echo /usr/lib/wine/wine64)"
[ -x "$wine" ] || fail "no wine64 binary (apt-get install wine64)"
command -v node >/dev/null 2>&1 || fail "node is missing (the reference server): install Node.js"
[ -d "$repo/tests/server/node_modules" ] || fail "run \`make deps-node\` first"

export WINEPREFIX="$prefix" WINEDEBUG=-all
shim="$prefix/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$shim" ] || [ "$repo/tests/windows/bcryptprimitives.c" -nt "$shim" ]; then
  echo "test-windows: preparing the wine prefix $prefix" >&2
  mkdir -p "$prefix"
  "$wine" wineboot --init >/dev/null 2>&1 || fail "wineboot could not create $prefix"
  [ -d "$prefix/drive_c/windows/system32" ] || fail "wineboot made no system32 in $prefix"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$shim.tmp" \
    "$repo/tests/windows/bcryptprimitives.c" -ladvapi32
  mv "$shim.tmp" "$shim"
fi
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"

cargo build -p ferrio-ffi --lib --target "$target"
ls -l "target/$target/debug/ferrio_ffi.dll"
cargo build -p ferrio-integration-tests --bin ferrio-test-launcher
target/debug/ferrio-test-launcher -- cargo test --target "$target" \
  -p ferrio -p ferrio-ffi -p ferrio-integration-tests "$@"
