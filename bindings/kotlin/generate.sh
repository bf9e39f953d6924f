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
# are renamed for Kotlin, whose UniFFI objects are `AutoCloseable`. One change is made to the
# generated code: the call statuses of synchronous calls are reused (see the step below).
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

# Synchronous Rust calls take their call status from dev.ferrio.ffi.CallStatuses (reused per
# thread; a new one is a JNA native block, a registry entry and a cleaner reference) and give
# it back once the call succeeded. Fails when the generated helper no longer has these lines.
kt="$out/dev/ferrio/ffi/ferrio_ffi.kt"
awk '
    $0 == "    var status = UniffiRustCallStatus()" { print "    val status = CallStatuses.take()"; next }
    { print }
    $0 == "    uniffiCheckCallStatus(errorHandler, status)" { print "    CallStatuses.give(status)" }
' "$kt" > "$kt.patched"
mv "$kt.patched" "$kt"
[ "$(grep -c '^    val status = CallStatuses.take()$' "$kt")" = 1 ] \
    && [ "$(grep -c '^    CallStatuses.give(status)$' "$kt")" = 1 ] \
    || { echo "generate.sh: uniffiRustCallWithError changed; update the CallStatuses patch" >&2; exit 1; }
touch "$stamp"
