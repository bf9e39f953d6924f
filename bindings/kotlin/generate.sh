#!/usr/bin/env bash
# Builds the ferrio-ffi cdylib and generates its UniFFI Kotlin bindings; run by Maven
# (generate-sources) and so by `make test-kotlin`.
#
#   bash bindings/kotlin/generate.sh [PROFILE] [OUT_DIR]
#
# PROFILE is the cargo profile directory, `debug` (default) or `release`. OUT_DIR defaults
# to bindings/kotlin/target/generated-sources/uniffi. Regenerates only when the library or
# uniffi.toml is newer than the last generation.
#
# Settings come from the top-level uniffi.toml: the generated code goes to package
# `dev.ferrio.ffi` (the idiomatic API owns `dev.ferrio`), and the exported `close` methods
# are renamed for Kotlin, whose UniFFI objects are `AutoCloseable`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
profile=${1:-debug}
out=${2:-$here/target/generated-sources/uniffi}

case "$profile" in
    debug) cargo_profile=dev ;;
    *) cargo_profile=$profile ;;
esac

cd "$root"
cargo build --quiet --profile "$cargo_profile" -p ferrio-ffi
lib="$root/target/$profile/libferrio_ffi.so"
bindgen="$root/target/$profile/uniffi-bindgen"
stamp="$out/.generated"

if [ -f "$stamp" ] && [ "$stamp" -nt "$lib" ] && [ "$stamp" -nt "$root/uniffi.toml" ] \
    && [ "$stamp" -nt "$0" ]; then
    exit 0
fi

rm -rf "$out"
mkdir -p "$out"
"$bindgen" generate --library "$lib" --language kotlin --config "$root/uniffi.toml" \
    --no-format --metadata-no-deps --out-dir "$out"
touch "$stamp"
