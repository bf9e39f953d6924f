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
#   3. build-aar.sh assembles the AAR and its POM (what it does after cargo-ndk) from
#      stand-in libraries (`--jni-dir`): tiny ELF shared objects that clang and lld link for
#      each ABI with -nostdlib, since no Android libc is here; they stand for ferrio-ffi in
#      this check only. The AAR's layout, classes, manifest and POM are checked, and the
#      POM's dependencies (the JNA AAR included) resolve from Maven Central. build-aar.sh
#      must refuse a 64-bit library aligned to 4 KB pages and one for the wrong ABI.
#
#   bindings/kotlin/android/check.sh [TARGET...]
#
# Installs what is missing: the Rust targets (rustup), clang, lld, llvm (llvm-ar) and the
# cross libc headers (apt-get, as root). A second run is fast (cargo's incremental check).
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
command -v ld.lld >/dev/null || packages+=(lld)
[ -n "$(llvm_ar)" ] || packages+=(llvm)
for target in "${targets[@]}"; do
    read -r _ package include <<<"$(headers_of "$target")"
    [ -d "$include" ] || packages+=("$package")
done
if [ ${#packages[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "missing: ${packages[*]} (Debian packages: apt-get install ${packages[*]})"
    fi
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
        cargo check --quiet -p ferrio-ffi --lib --target "$target" --manifest-path "$root/Cargo.toml"
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

# 3. The assembly, from stand-in libraries.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "int ferrio_stand_in(void) { return 0; }" >"$work/stand-in.c"
stand_in() { # dir abi clang-target [linker flag]
    mkdir -p "$1/$2"
    clang --target="$3" -shared -nostdlib -fuse-ld=lld ${4:+"-Wl,$4"} -o "$1/$2/libferrio_ffi.so" "$work/stand-in.c"
}
page16k=-z,max-page-size=16384
stand_in "$work/jni" arm64-v8a aarch64-linux-android$api "$page16k"
stand_in "$work/jni" armeabi-v7a armv7a-linux-androideabi$api
stand_in "$work/jni" x86_64 x86_64-linux-android$api "$page16k"

# Refusals first (they stop before Maven): a 64-bit library with 4 KB pages, a wrong ABI.
refused() { # what expected-message
    local message
    if message=$("$here/build-aar.sh" --jni-dir "$work/bad" "$work/bad-out" 2>&1); then
        die "build-aar.sh packed $1"
    fi
    grep -qF "$2" <<<"$message" || die "build-aar.sh refused $1 without saying \"$2\": $message"
    echo "check-android: build-aar.sh refuses $1"
}
cp -R "$work/jni" "$work/bad"
stand_in "$work/bad" x86_64 x86_64-linux-android$api
refused "an x86_64 library aligned to 4 KB pages" "x86_64/libferrio_ffi.so has a LOAD segment aligned to 0x1000, not 16 KB"
cp "$work/jni/arm64-v8a/libferrio_ffi.so" "$work/bad/x86_64/"
refused "an arm64 library as x86_64's" "x86_64/libferrio_ffi.so is not for X86-64"

start=$SECONDS
"$here/build-aar.sh" --jni-dir "$work/jni" "$work/out" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; die "build-aar.sh --jni-dir failed"; }
version=$(python3 "$root/packaging/version.py")
aar=$work/out/ferrio-android-$version.aar
pom=$work/out/ferrio-android-$version.pom
mkdir "$work/aar"
(cd "$work/aar" && jar xf "$aar")
for entry in AndroidManifest.xml classes.jar R.txt proguard.txt \
    jni/arm64-v8a/libferrio_ffi.so jni/armeabi-v7a/libferrio_ffi.so jni/x86_64/libferrio_ffi.so; do
    [ -f "$work/aar/$entry" ] || die "the AAR lacks $entry"
done
cmp -s "$work/aar/jni/x86_64/libferrio_ffi.so" "$work/jni/x86_64/libferrio_ffi.so" \
    || die "the AAR's jni/x86_64/libferrio_ffi.so is not the one given"
classes=$(jar tf "$work/aar/classes.jar")
for entry in dev/ferrio/Manager.class dev/ferrio/ffi/Manager.class META-INF/ferrio.kotlin_module; do
    grep -qx "$entry" <<<"$classes" || die "the AAR's classes.jar lacks $entry"
done
! grep -q '\.so$' <<<"$classes" || die "the AAR's classes.jar carries a native library"
grep -q "android:minSdkVersion=\"$api\"" "$work/aar/AndroidManifest.xml" || die "the manifest lacks minSdk $api"
jna=$(sed -n 's:.*<jna.version>\(.*\)</jna.version>.*:\1:p' "$root/bindings/kotlin/pom.xml")
grep -q "<artifactId>jna</artifactId><version>$jna</version><type>aar</type>" <<<"$(tr -d ' \n' <"$pom")" \
    || die "the POM does not depend on net.java.dev.jna:jna:$jna@aar"
grep -q "<version>$version</version>" "$pom" || die "the POM is not version $version"
# Maven has no `aar` packaging of its own: resolve the same dependencies under `pom`.
sed 's:<packaging>aar</packaging>:<packaging>pom</packaging>:' "$pom" >"$work/resolve.pom"
mvn -B -q -f "$work/resolve.pom" dependency:resolve >"$work/resolve.log" 2>&1 \
    || { cat "$work/resolve.log" >&2; die "the POM's dependencies do not resolve"; }
echo "check-android: build-aar.sh --jni-dir assembled ferrio-android-$version.aar ($(wc -c <"$aar") bytes) and its POM, whose dependencies resolve ($((SECONDS - start)) s)"
