#!/usr/bin/env bash
# What this machine can prove about the Android build without the Android NDK
# (`make check-android`, part of `make test`):
#
#   1. `cargo check -p ferrio-ffi --target T` passes for each Android Rust target T given
#      (default: aarch64-linux-android armv7-linux-androideabi): the Rust code and its build
#      scripts compile for Android, 64-bit and 32-bit. ring's build script compiles C code,
#      so cc-rs gets Debian's clang aimed at Android (--target=<T>21) with the glibc headers
#      of a Debian cross libc (bionic's come only with the NDK): a check, which links nothing,
#      not a build.
#   2. build-aar.sh, without an NDK, stops with exit status 3 and says what to install.
#
#   bindings/kotlin/android/check.sh [TARGET...]
#
# Installs what is missing: the Rust targets (rustup), clang, llvm (llvm-ar) and the cross
# libc headers (apt-get, as root). A second run is fast (cargo's incremental check).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
api=21
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-linux-android armv7-linux-androideabi)

die() {
    echo "check-android: $*" >&2
    exit 1
}

# Rust target, clang target, the Debian package and directory of the headers it borrows.
headers_of() { # rust-target
    case "$1" in
        aarch64-linux-android) echo "aarch64-linux-android$api libc6-dev-arm64-cross /usr/aarch64-linux-gnu/include" ;;
        armv7-linux-androideabi) echo "armv7a-linux-androideabi$api libc6-dev-armhf-cross /usr/arm-linux-gnueabihf/include" ;;
        x86_64-linux-android) echo "x86_64-linux-android$api libc6-dev-amd64-cross /usr/x86_64-linux-gnu/include" ;;
        *) die "no recipe for $1 (known: aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)" ;;
    esac
}

llvm_ar() {
    command -v llvm-ar && return
    compgen -c llvm-ar- | sort -V | tail -n 1
}

# Debian packages.
packages=()
command -v clang >/dev/null || packages+=(clang)
[ -n "$(llvm_ar)" ] || packages+=(llvm)
for target in "${targets[@]}"; do
    read -r _ package include <<<"$(headers_of "$target")"
    [ -d "$include" ] || packages+=("$package")
done
if [ ${#packages[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        || die "missing: ${packages[*]} (Debian packages: apt-get install ${packages[*]})"
    echo "check-android: installing ${packages[*]} (apt-get)"
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${packages[@]}" >/dev/null \
        || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${packages[@]}" >/dev/null; } \
        || die "apt-get could not install ${packages[*]}"
fi
ar=$(llvm_ar)

# Rust targets.
installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    grep -qx "$target" <<<"$installed" || rustup target add "$target"
done

# glibc's armhf headers include gnu/stubs-soft.h for the soft-float calling convention of
# 32-bit Android (they ship only stubs-hard.h): an empty one, in a fixed place so that the
# flags, and so cargo's fingerprints, stay the same from run to run.
shim=${XDG_CACHE_HOME:-$HOME/.cache}/ferrio/android-check/include
mkdir -p "$shim/gnu"
[ -f "$shim/gnu/stubs-soft.h" ] || echo "/* No glibc stubs: for a compile check only. */" >"$shim/gnu/stubs-soft.h"

# 1. cargo check, per target.
for target in "${targets[@]}"; do
    read -r clang_target _ include <<<"$(headers_of "$target")"
    var=$(echo "$target" | tr - _)
    cflags="-isystem $include"
    # cc-rs adds --target=arm-none-linux-android after ours: the architecture and float ABI
    # of 32-bit Android (the NDK's armv7a defaults) must be explicit.
    [ "$target" != armv7-linux-androideabi ] \
        || cflags="$cflags -isystem $shim -march=armv7-a -mfloat-abi=softfp -mfpu=vfpv3-d16"
    start=$SECONDS
    env "CC_$var=clang --target=$clang_target" "CFLAGS_$var=$cflags" "AR_$var=$ar" \
        cargo check --quiet -p ferrio-ffi --target "$target" --manifest-path "$root/Cargo.toml"
    echo "check-android: cargo check -p ferrio-ffi --target $target passed ($((SECONDS - start)) s)"
done

# 2. build-aar.sh without an NDK: exit status 3, and the message names what to install.
set +e
message=$(env -u ANDROID_NDK_HOME -u ANDROID_NDK_ROOT -u ANDROID_HOME -u ANDROID_SDK_ROOT \
    "$here/build-aar.sh" 2>&1 >/dev/null)
status=$?
set -e
[ "$status" = 3 ] || die "build-aar.sh without an NDK exited with $status, not 3: $message"
for words in "no Android NDK found" "ANDROID_NDK_HOME" "sdkmanager --install"; do
    grep -qF "$words" <<<"$message" || die "build-aar.sh's message without an NDK lacks \"$words\": $message"
done
echo "check-android: build-aar.sh without an NDK stops (exit 3) and says what to install"
