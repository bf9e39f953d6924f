#!/usr/bin/env bash
# Installs the native library of the Swift package on Linux, where `Package.swift` finds it
# as a system library through pkg-config: libferrio_ffi.so and ferrio_ffi.pc (the header and
# module map ship in the package itself, Sources/FerrioFFI).
#
#   bindings/swift/install-ffi.sh                      # target/release/libferrio_ffi.so into /usr/local
#   bindings/swift/install-ffi.sh --lib PATH --prefix DIR [--destdir STAGE]
#   bindings/swift/install-ffi.sh --pc-only LIBDIR OUTDIR   # only a ferrio_ffi.pc for LIBDIR
#
# --prefix (default /usr/local) is where the files live when in use: DIR/lib/libferrio_ffi.so
# and DIR/lib/pkgconfig/ferrio_ffi.pc. --destdir stages them under STAGE instead (for a
# tarball); without it, ldconfig runs when DIR/lib is one of the loader's directories. A
# prefix outside them needs PKG_CONFIG_PATH=DIR/lib/pkgconfig when building and
# LD_LIBRARY_PATH=DIR/lib when running (pkg-config flags cannot carry an rpath into SwiftPM).
# --pc-only writes just the .pc for a library left where it is (test.sh uses it for
# target/debug). Build the library first: `cargo build --release -p ferrio-ffi`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() { echo "install-ffi: $*" >&2; exit 1; }

# The version under [workspace.package] of the top-level Cargo.toml (the one place it is set).
version="$(awk '/^\[workspace\.package\]/ { section = 1; next } /^\[/ { section = 0 }
  section && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' "$repo/Cargo.toml")"
[ -n "$version" ] || fail "no version under [workspace.package] in $repo/Cargo.toml"

# write_pc LIBDIR FILE: a ferrio_ffi.pc whose Libs point at LIBDIR. SwiftPM reads .pc files
# itself and accepts only -L/-l (and -F/-framework) in Libs, so no rpath here.
write_pc() {
  mkdir -p "$(dirname "$2")"
  cat >"$2" <<EOF
# The native library of Ferrio's Swift package (bindings/swift/install-ffi.sh).
libdir=$1

Name: ferrio_ffi
Description: Ferrio Socket.IO client, the C ABI of its UniFFI bindings
Version: $version
Libs: -L\${libdir} -lferrio_ffi
Cflags:
EOF
}

if [ "${1:-}" = --pc-only ]; then
  [ $# = 3 ] || fail "usage: install-ffi.sh --pc-only LIBDIR OUTDIR"
  [ -f "$2/libferrio_ffi.so" ] || fail "$2/libferrio_ffi.so is missing (cargo build -p ferrio-ffi)"
  write_pc "$2" "$3/ferrio_ffi.pc"
  exit 0
fi

lib="$repo/target/release/libferrio_ffi.so"
prefix=/usr/local
destdir=""
while [ $# -gt 0 ]; do
  case $1 in
    --lib) lib=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    *) fail "unknown argument $1 (see the header of this script)" ;;
  esac
done
[ -f "$lib" ] || fail "$lib is missing: build it with \`cargo build --release -p ferrio-ffi\` (or pass --lib)"
case $prefix in /*) ;; *) fail "--prefix must be an absolute path" ;; esac

libdir="$prefix/lib"
install -D -m 755 "$lib" "$destdir$libdir/libferrio_ffi.so"
write_pc "$libdir" "$destdir$libdir/pkgconfig/ferrio_ffi.pc"
echo "install-ffi: $destdir$libdir/libferrio_ffi.so and $destdir$libdir/pkgconfig/ferrio_ffi.pc (version $version)" >&2

if [ -z "$destdir" ]; then
  # ldconfig lives in sbin, which a plain user's PATH may lack; `ldconfig -v -N` lists the
  # loader's directories ("DIR: (from FILE)") without changing anything. Its listing is
  # read whole before it is searched: `ldconfig ... | grep -q` under pipefail fails when grep
  # exits at the first match while ldconfig still writes (SIGPIPE, status 141).
  ldconfig="$(PATH="$PATH:/usr/sbin:/sbin" command -v ldconfig || true)"
  loader_dirs="$([ -z "$ldconfig" ] || "$ldconfig" -v -N 2>/dev/null || true)"
  if [ -n "$ldconfig" ] && grep -q "^$libdir:" <<<"$loader_dirs"; then
    "$ldconfig"
  else
    echo "install-ffi: $libdir is not a directory of the dynamic loader: run programs with LD_LIBRARY_PATH=$libdir" >&2
  fi
  case ":${PKG_CONFIG_PATH:-}:/usr/local/lib/pkgconfig:/usr/lib/pkgconfig:" in
    *":$libdir/pkgconfig:"*) ;;
    *) echo "install-ffi: build with PKG_CONFIG_PATH=$libdir/pkgconfig (not a default pkg-config directory)" >&2 ;;
  esac
fi
