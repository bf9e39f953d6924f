#!/usr/bin/env bash
# Puts the ferrio-ffi cdylib of each Linux platform the jar supports into Maven's class
# directory, in JNA's resource layout (`<os>-<arch>/libferrio_ffi.so`, where JNA's
# Native.load looks on the class path). Run by Maven (bindings/kotlin/pom.xml):
#
#   bash bindings/kotlin/natives.sh host    PROFILE CLASSES_DIR              # process-resources
#   bash bindings/kotlin/natives.sh package PROFILE CLASSES_DIR [HOST_ONLY]  # prepare-package
#
# `host` copies the library generate.sh built for this machine (target/PROFILE) for the
# tests, and removes the other platforms' libraries of an earlier run. `package`
# cross-compiles ferrio-ffi for every other platform (target/<triple>/PROFILE) and copies it
# in, so the jar carries linux-x86-64 and linux-aarch64 whichever of the two builds it
# (HOST_ONLY `true` skips this: a jar for this machine only), then strips the debug
# information from every library the jar packs (a debug cdylib is ~90 MB with it, ~20 MB
# without; the symbols stay). PROFILE is a cargo profile directory: `debug` or `release`.
#
# A cross build needs the Rust target (added with rustup when missing) and a C cross
# toolchain for the target's glibc, which links the library and compiles ring's C code:
# Debian's gcc-<arch>-linux-gnu, installed with apt-get when missing and running as root,
# else named in the error. The linker and C compiler reach cargo through environment
# variables of this build only (a committed .cargo/config.toml would impose them on every
# build of the workspace, the wheels' zig-linked ones included); set
# CARGO_TARGET_<TRIPLE>_LINKER and CC_<triple> (and AR_<triple>) to use another toolchain.
set -euo pipefail

usage() {
    echo "usage: $0 host PROFILE CLASSES_DIR | package PROFILE CLASSES_DIR [HOST_ONLY]" >&2
    exit 2
}
[ $# -ge 3 ] && [ $# -le 4 ] || usage
mode=$1 profile=$2 classes=$3 host_only=${4:-false}
case "$mode" in host | package) ;; *) usage ;; esac
case "$host_only" in true | false) ;; *) usage ;; esac
case "$profile" in
    debug) cargo_profile=dev ;;
    *) cargo_profile=$profile ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
lib=libferrio_ffi.so

# The platforms the jar carries: Rust target triple, JNA resource directory, GNU triple of
# its toolchain, the Debian package of its C cross compiler.
platforms=(
    "x86_64-unknown-linux-gnu linux-x86-64 x86_64-linux-gnu gcc-x86-64-linux-gnu"
    "aarch64-unknown-linux-gnu linux-aarch64 aarch64-linux-gnu gcc-aarch64-linux-gnu"
)

die() {
    echo "natives.sh: $*" >&2
    exit 1
}

# Adds the Rust target when its standard library is missing.
ensure_rust_target() { # triple
    [ -d "$(rustc --print target-libdir --target "$1" 2>/dev/null)" ] && return
    command -v rustup >/dev/null \
        || die "the Rust standard library for $1 is missing and rustup is not on the PATH: install it for $1"
    echo "natives.sh: adding the Rust target $1 (rustup target add)"
    rustup target add "$1"
}

# Installs the Debian package that provides COMMAND when COMMAND is missing (as root, with
# apt-get), or stops saying what to install.
ensure_command() { # command debian-package why
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "natives.sh: installing $2 ($3)"
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$2" >/dev/null \
            || { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$2" >/dev/null; } \
            || die "apt-get could not install $2"
    else
        die "$1 is missing: install $2 (Debian, Ubuntu: apt-get install $2): $3"
    fi
}

# Cross-compiles ferrio-ffi for one target and copies it in.
cross_build() { # triple jna-dir gnu-triple debian-package
    local triple=$1 jna=$2 gnu=$3 package=$4
    local linker_var cc_var ar_var
    linker_var=CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_LINKER
    cc_var=CC_$(echo "$triple" | tr - _)
    ar_var=AR_$(echo "$triple" | tr - _)
    ensure_rust_target "$triple"
    if [ -z "${!linker_var:-}" ] || [ -z "${!cc_var:-}" ]; then
        ensure_command "$gnu-gcc" "$package" \
            "it links ferrio-ffi for $triple and compiles ring's C code; or set $linker_var and $cc_var to another cross compiler"
    fi
    echo "natives.sh: cargo build -p ferrio-ffi --target $triple (profile $cargo_profile)"
    env "$linker_var=${!linker_var:-$gnu-gcc}" "$cc_var=${!cc_var:-$gnu-gcc}" \
        "$ar_var=${!ar_var:-$gnu-ar}" \
        cargo build --quiet --profile "$cargo_profile" -p ferrio-ffi --lib --target "$triple" \
        --manifest-path "$root/Cargo.toml"
    install_lib "$target_dir/$triple/$profile/$lib" "$jna"
}

# Copies a built library to CLASSES_DIR/<jna-dir>/: through a temporary file renamed into
# place, so that a test JVM still running with the previous one mapped keeps its file (an
# overwrite in place would end that JVM with SIGBUS).
install_lib() { # source jna-dir
    mkdir -p "$classes/$2"
    cp "$1" "$classes/$2/$lib.tmp.$$"
    mv -f "$classes/$2/$lib.tmp.$$" "$classes/$2/$lib"
    echo "natives.sh: $2/$lib <- ${1#"$root"/}"
}

# Removes the debug information of a packed library, with the GNU toolchain of its
# platform, llvm-strip, or (this machine's library) strip; keeps it, saying so, when none
# is there.
strip_lib() { # jna-dir gnu-triple [strip]
    local file=$classes/$1/$lib tool
    for tool in "$2-strip" llvm-strip ${3:-}; do
        if command -v "$tool" >/dev/null; then
            "$tool" --strip-debug "$file"
            return
        fi
    done
    echo "natives.sh: $1/$lib keeps its debug information (no $2-strip, llvm-strip${3:+ or $3})" >&2
}

host=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$host" ] || die "cannot tell the host's Rust target from \`rustc -vV\`"
found_host=false
for platform in "${platforms[@]}"; do
    read -r triple jna gnu package <<<"$platform"
    if [ "$triple" = "$host" ]; then
        found_host=true
        if [ "$mode" = host ]; then
            [ -f "$target_dir/$profile/$lib" ] \
                || die "$target_dir/$profile/$lib is missing: generate.sh builds it (Maven runs it in generate-sources)"
            install_lib "$target_dir/$profile/$lib" "$jna"
        else
            strip_lib "$jna" "$gnu" strip
        fi
    elif [ "$mode" = host ]; then
        rm -rf "${classes:?}/$jna"
    elif [ "$host_only" = false ]; then
        cross_build "$triple" "$jna" "$gnu" "$package"
        strip_lib "$jna" "$gnu"
    fi
done
$found_host || die "this host ($host) is not one of the jar's platforms: ${platforms[*]%% *}"
