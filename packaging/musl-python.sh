#!/usr/bin/env bash
# Makes a CPython linked against musl (not glibc) on this Debian x86_64 host, to install and
# test musllinux wheels: Debian ships musl (`musl`, `musl-tools`: musl-gcc and the loader
# /lib/ld-musl-x86_64.so.1) but no musl Python. Builds Debian's own CPython source
# (python3.11), with libffi (ctypes) and zlib (pip unpacks wheels) from their Debian
# sources too, all with musl-gcc; built once (about 5 minutes on 2 cores) and cached outside
# the repository. The sources come through apt-get source from Debian's signed archive,
# with an apt state of its own (no change to the system's apt configuration).
# Prints the path of the interpreter.
#
#   packaging/musl-python.sh                  # build if missing, print .../bin/python3
#   FERRIO_MUSL_PYTHON=/path ...              # another cache location
#
# A test interpreter: upstream CPython without Debian's patches, no ssl, sqlite, readline.
set -euo pipefail

cache="${FERRIO_MUSL_PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrio/musl-python}"
prefix="$cache/prefix"
python="$prefix/bin/python3"
# On Debian the host's release and mirror; elsewhere (an Ubuntu CI runner) Debian bookworm.
host_id="$(. /etc/os-release && echo "${ID:-}")"
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ "$host_id" = debian ] && [ -n "$suite" ] || suite=bookworm

ready() {
  [ -f "$cache/.ferrio-ready" ] && [ -x "$python" ]
}

if ready; then
  echo "$python"
  exit 0
fi

mkdir -p "$cache"
# One build at a time; a concurrent caller waits and then finds the interpreter ready.
exec 9>"$cache.build.lock"
flock 9
if ready; then
  echo "$python"
  exit 0
fi

missing=()
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools musl-dev)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -d /usr/include/linux ] || missing+=(linux-libc-dev)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "musl-python: installing ${missing[*]}" >&2
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The sources: a deb-src list and apt state of our own, verified against the archive's key.
mirror=""
if [ "$host_id" = debian ]; then
  mirror="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"
apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
  >"$apt_dir/sources.list"
apt_opts=(-o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
echo "musl-python: fetching the Debian sources of python3.11, libffi and zlib" >&2
apt-get "${apt_opts[@]}" -qq update >&2
(cd "$cache/src" && apt-get "${apt_opts[@]}" -qq source --download-only python3.11 libffi zlib >&2)

build="$cache/build"
deps="$cache/deps"
rm -rf "$build" "$deps" "$prefix"
mkdir -p "$build/include"
# musl-gcc sees only musl's headers; CPython's socket and file modules also want the
# kernel's (the same for glibc and musl).
ln -s /usr/include/linux /usr/include/asm-generic /usr/include/x86_64-linux-gnu/asm "$build/include/"
# musl-gcc passes -print-multiarch to gcc, which answers x86_64-linux-gnu: CPython's
# configure then stops on the mismatch with the musl triplet it detects, and its setup.py
# would add glibc's /usr/include/x86_64-linux-gnu to the extension modules' include path.
cat >"$build/musl-cc" <<'WRAPPER'
#!/bin/sh
case "$*" in
  -print-multiarch | --print-multiarch) echo x86_64-linux-musl ;;
  *) exec musl-gcc "$@" ;;
esac
WRAPPER
chmod +x "$build/musl-cc"
jobs="$(nproc)"
export CC="$build/musl-cc"
export CFLAGS="-O2 -fPIC -I$build/include"
log="$build/build.log"
echo "musl-python: building zlib, libffi and CPython with musl-gcc (log: $log)" >&2

unpack() { # unpack NAME: extracts the orig tarball of source package NAME into $build/NAME
  mkdir -p "$build/$1"
  tar -xf "$(ls "$cache/src/$1"_*.orig.tar.*)" -C "$build/$1" --strip-components=1
}

if ! {
  unpack zlib \
    && (cd "$build/zlib" && ./configure --static --prefix="$deps" && make -j"$jobs" && make install) \
    && unpack libffi \
    && (cd "$build/libffi" && ./configure --disable-shared --enable-static --with-pic \
      --disable-docs --prefix="$deps" --libdir="$deps/lib" && make -j"$jobs" && make install) \
    && unpack python3.11 \
    && (cd "$build/python3.11" \
      && PKG_CONFIG_LIBDIR="$deps/lib/pkgconfig" PKG_CONFIG_PATH="$deps/lib/pkgconfig" \
        CPPFLAGS="-I$deps/include -I$build/include" LDFLAGS="-L$deps/lib" \
        LIBFFI_CFLAGS="-I$deps/include" LIBFFI_LIBS="-L$deps/lib -lffi" \
        ZLIB_CFLAGS="-I$deps/include" ZLIB_LIBS="-L$deps/lib -lz" \
        ./configure --prefix="$prefix" --without-ensurepip \
      && make -j"$jobs" && make install)
} >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "musl-python: the build failed (full log: $log)" >&2
  exit 1
fi

# The interpreter must be musl's, with the modules a wheel's install and tests need.
if ! "$python" -c 'import ctypes, zlib, asyncio, _socket, select, json
assert "musl" in open("/proc/self/maps").read(), "not linked against musl"'; then
  echo "musl-python: $python lacks ctypes/zlib/asyncio or is not linked against musl" >&2
  exit 1
fi
rm -rf "$build" "$deps"
touch "$cache/.ferrio-ready"
echo "$python"
