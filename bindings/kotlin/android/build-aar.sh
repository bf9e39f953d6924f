#!/usr/bin/env bash
# Assembles Ferrio's Android library, dev.ferrio:ferrio-android:VERSION: an AAR (the Kotlin
# package's classes, the ferrio-ffi cdylib for arm64-v8a, armeabi-v7a and x86_64, a manifest,
# consumer R8/ProGuard rules) and its POM, which depends on JNA's AAR (its Android natives)
# rather than its jar.
#
#   bindings/kotlin/android/build-aar.sh [OUT_DIR]                # default: target/android
#   bindings/kotlin/android/build-aar.sh --jni-dir DIR [OUT_DIR]  # libraries built elsewhere
#   mvn install:install-file -Dfile=OUT_DIR/ferrio-android-VERSION.aar \
#       -DpomFile=OUT_DIR/ferrio-android-VERSION.pom     # then, to use it from ~/.m2
#
# Needs the Android NDK, r23 or later: ANDROID_NDK_HOME (or ANDROID_NDK_ROOT, or the newest
# of $ANDROID_HOME/ndk/*). Without one it stops at once, exit status 3, saying what to
# install. Also needs cargo and rustup (the Android targets are added when missing), Maven
# and a JDK (the classes), python3 (the version, packaging/version.py); cargo-ndk is
# installed with `cargo install` when missing. --jni-dir DIR packs DIR/<abi>/libferrio_ffi.so
# instead of building them (e.g. built by another job), and needs no NDK.
#
# The libraries are built in release with cargo-ndk for API level 21 (cargo-ndk's default
# and the oldest Rust supports). The 64-bit ones are linked with 16 KB page alignment
# (-z max-page-size=16384), which Google Play requires of 64-bit native code; the script
# checks every LOAD segment of each (llvm-readelf: the NDK's, else one on the PATH, else
# binutils' readelf) and refuses a library aligned to less. armeabi-v7a keeps 4 KB, as the
# NDK's own clang does for 32-bit ARM: 16 KB pages exist on 64-bit devices only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
kotlin=$root/bindings/kotlin
jni_dir=""
if [ "${1:-}" = --jni-dir ]; then
    [ $# -ge 2 ] || { echo "usage: $0 [--jni-dir DIR] [OUT_DIR]" >&2; exit 2; }
    jni_dir=$(cd "$2" && pwd)
    shift 2
fi
out=${1:-$root/target/android}
api=21
cargo_ndk_version=4.1.2
# Android ABI, Rust target, whether Google Play requires 16 KB pages of it, its ELF machine
# (as readelf -h names it).
abis=(
    "arm64-v8a aarch64-linux-android 16k AArch64"
    "armeabi-v7a armv7-linux-androideabi 4k ARM"
    "x86_64 x86_64-linux-android 16k X86-64"
)

die() {
    echo "build-aar.sh: $*" >&2
    exit 1
}

no_ndk() {
    cat >&2 <<EOF
build-aar.sh: $1
The Android NDK (r23 or later; r28 or later recommended) is needed to build the AAR's native
libraries. Install it with Android Studio (Settings > Languages & Frameworks > Android SDK >
SDK Tools > NDK (Side by side)), or with the SDK's command-line tools:
    sdkmanager --install "ndk;28.2.13676358"
or unpack it from https://developer.android.com/ndk/downloads, then point to it:
    export ANDROID_NDK_HOME=/path/to/android-sdk/ndk/28.2.13676358
EOF
    exit 3
}

# The NDK: ANDROID_NDK_HOME, ANDROID_NDK_ROOT, or the newest under the SDK's ndk/.
find_ndk() {
    ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
    local sdk=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}
    if [ -z "$ndk" ] && [ -n "$sdk" ] && [ -d "$sdk/ndk" ]; then
        ndk=$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
    fi
    [ -n "$ndk" ] || no_ndk "no Android NDK found: ANDROID_NDK_HOME and ANDROID_NDK_ROOT are unset and no \$ANDROID_HOME/ndk/* exists."
    [ -f "$ndk/source.properties" ] && [ -d "$ndk/toolchains/llvm/prebuilt" ] \
        || no_ndk "$ndk is not an Android NDK (it lacks source.properties or toolchains/llvm/prebuilt)."
    readelf=$(find "$ndk/toolchains/llvm/prebuilt" -mindepth 3 -maxdepth 3 -path '*/bin/llvm-readelf' | head -n 1)
    [ -n "$readelf" ] || no_ndk "$ndk has no toolchains/llvm/prebuilt/*/bin/llvm-readelf."
    export ANDROID_NDK_HOME=$ndk
    echo "build-aar.sh: NDK $(sed -n 's/^Pkg.Revision *= *//p' "$ndk/source.properties") at $ndk"
}

readelf=""
if [ -z "$jni_dir" ]; then
    find_ndk
    tools=(cargo rustup mvn jar python3)
else
    readelf=$(command -v llvm-readelf || compgen -c llvm-readelf- | sort -V | tail -n 1 || true)
    readelf=${readelf:-$(command -v readelf || true)}
    [ -n "$readelf" ] || die "no llvm-readelf or readelf to check the libraries' page alignment: install llvm or binutils"
    tools=(mvn jar python3)
fi

for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is missing: install it (cargo and rustup: https://rustup.rs; mvn: Maven; jar: a JDK 17; python3)"
done
version=$(python3 "$root/packaging/version.py")
name=ferrio-android-$version

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The native libraries, release, one per ABI, in the AAR's jni/<abi>/ layout.
build_libraries() {
    # cargo-ndk, and the Rust targets of the three ABIs.
    if [[ "$(cargo ndk --version 2>/dev/null || true)" != *"$cargo_ndk_version"* ]]; then
        echo "build-aar.sh: installing cargo-ndk $cargo_ndk_version (cargo install)"
        cargo install --locked --version "$cargo_ndk_version" cargo-ndk
    fi
    local installed abi name_abi triple pages ndk_args=()
    installed=$(rustup target list --installed)
    for abi in "${abis[@]}"; do
        read -r name_abi triple pages _ <<<"$abi"
        grep -qx "$triple" <<<"$installed" || rustup target add "$triple"
        ndk_args+=(-t "$name_abi")
        if [ "$pages" = 16k ]; then
            export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C link-arg=-Wl,-z,max-page-size=16384"
        fi
    done
    echo "build-aar.sh: cargo ndk ${ndk_args[*]} -P $api build --release -p ferrio-ffi --lib"
    (cd "$root" && cargo ndk "${ndk_args[@]}" -P "$api" -o "$stage/aar/jni" build --release -p ferrio-ffi --lib)
}

if [ -z "$jni_dir" ]; then
    build_libraries
else
    for abi in "${abis[@]}"; do
        read -r name_abi _ <<<"$abi"
        [ -f "$jni_dir/$name_abi/libferrio_ffi.so" ] || die "$jni_dir/$name_abi/libferrio_ffi.so is missing"
        mkdir -p "$stage/aar/jni/$name_abi"
        cp "$jni_dir/$name_abi/libferrio_ffi.so" "$stage/aar/jni/$name_abi/"
    done
    echo "build-aar.sh: the libraries of $jni_dir"
fi

for abi in "${abis[@]}"; do
    read -r name_abi _ pages machine <<<"$abi"
    so=$stage/aar/jni/$name_abi/libferrio_ffi.so
    [ -f "$so" ] || die "no $so"
    header=$("$readelf" -h "$so") || die "$name_abi/libferrio_ffi.so is not an ELF file"
    grep -Eq "Type: +DYN" <<<"$header" || die "$name_abi/libferrio_ffi.so is not an ELF shared object"
    grep -Eq "Machine: +.*\b$machine\$" <<<"$header" \
        || die "$name_abi/libferrio_ffi.so is not for $machine: $(grep Machine: <<<"$header")"
    if [ "$pages" = 16k ]; then
        # Every PT_LOAD's alignment (the last column of `readelf -l -W`) must be >= 16 KB.
        aligns=$("$readelf" -l -W "$so" | awk '$1 == "LOAD" { print $NF }')
        [ -n "$aligns" ] || die "$readelf found no LOAD segment in $so"
        for align in $aligns; do
            ((align >= 16384)) || die "$name_abi/libferrio_ffi.so has a LOAD segment aligned to $align, not 16 KB"
        done
        echo "build-aar.sh: $name_abi/libferrio_ffi.so: LOAD segments aligned to 16 KB or more"
    fi
done

# The classes: the Kotlin package and its generated bindings, compiled by Maven (its
# generate.sh builds this machine's cdylib to generate the bindings); the JNA resources of
# the Linux natives stay out.
echo "build-aar.sh: compiling the Kotlin package (mvn compile)"
mvn -B -q -f "$kotlin/pom.xml" compile
classes=$kotlin/target/classes
mkdir -p "$stage/classes/META-INF"
cp -R "$classes/dev" "$stage/classes/"
cp "$classes"/META-INF/*.kotlin_module "$stage/classes/META-INF/"
jar --create --file "$stage/aar/classes.jar" -C "$stage/classes" .

cat >"$stage/aar/AndroidManifest.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="dev.ferrio">

    <uses-sdk android:minSdkVersion="$api" />

    <!-- A Socket.IO client connects to its server. -->
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
EOF
# No Android resources; the file tells the build so.
: >"$stage/aar/R.txt"
# Consumer rules: R8 must keep what JNA reaches by reflection (structures, callbacks, the
# generated bindings' native methods).
cat >"$stage/aar/proguard.txt" <<'EOF'
-keep class com.sun.jna.** { *; }
-keep class * extends com.sun.jna.** { *; }
-keep class * implements com.sun.jna.** { *; }
-keep class dev.ferrio.ffi.** { *; }
-dontwarn java.awt.**
EOF

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/$name.aar"
(cd "$stage/aar" && jar --create --no-manifest --file "$out/$name.aar" AndroidManifest.xml classes.jar R.txt proguard.txt jni)

# The POM: the jar's dependencies, with JNA as its AAR.
property() { # name: a <properties> value of the Kotlin package's POM
    sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$kotlin/pom.xml" | head -n 1
}
cat >"$out/$name.pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ferrio</groupId>
  <artifactId>ferrio-android</artifactId>
  <version>$version</version>
  <packaging>aar</packaging>
  <name>ferrio-android</name>
  <description>A Socket.IO v5 client for Android: coroutines and Flow over Ferrio's Rust core.</description>
  <url>https://github.com/ferrio/ferrio</url>
  <licenses>
    <license>
      <name>MIT</name>
      <url>https://opensource.org/licenses/MIT</url>
    </license>
    <license>
      <name>Apache-2.0</name>
      <url>https://www.apache.org/licenses/LICENSE-2.0</url>
    </license>
  </licenses>
  <developers>
    <developer>
      <name>The Ferrio maintainers</name>
      <url>https://github.com/ferrio/ferrio</url>
    </developer>
  </developers>
  <scm>
    <connection>scm:git:https://github.com/ferrio/ferrio.git</connection>
    <url>https://github.com/ferrio/ferrio</url>
  </scm>
  <dependencies>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-stdlib</artifactId>
      <version>$(property kotlin.version)</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId>
      <artifactId>kotlinx-coroutines-core-jvm</artifactId>
      <version>$(property coroutines.version)</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId>
      <artifactId>kotlinx-serialization-json-jvm</artifactId>
      <version>$(property serialization.version)</version>
    </dependency>
    <dependency>
      <groupId>net.java.dev.jna</groupId>
      <artifactId>jna</artifactId>
      <version>$(property jna.version)</version>
      <type>aar</type>
    </dependency>
  </dependencies>
</project>
EOF

for abi in "${abis[@]}"; do
    read -r name_abi _ <<<"$abi"
    echo "build-aar.sh: jni/$name_abi/libferrio_ffi.so $(wc -c <"$stage/aar/jni/$name_abi/libferrio_ffi.so") bytes"
done
echo "build-aar.sh: wrote $out/$name.aar ($(wc -c <"$out/$name.aar") bytes) and $out/$name.pom"
