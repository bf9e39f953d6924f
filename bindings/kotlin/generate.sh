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
# are renamed for Kotlin, whose UniFFI objects are `AutoCloseable`. Two changes are made to the
# generated code (see the step below): the call statuses of synchronous calls are reused and
# not synchronised by JNA, `RustBuffer`s are read and written without JNA's reflection, and
# lifted buffers are recycled as string arguments' buffers.
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
# thread; a new one is a JNA native block, a registry entry and a cleaner reference; JNA does
# not write and read it around the call) and give it back once the call succeeded; its fields
# are read only when Rust set its code. RustBuffer's read and write use
# dev.ferrio.ffi.RustBufferFields (fixed offsets) instead of JNA's reflective field loops, and
# RustBuffer.ByValue gets the constructor from a pointer that JNA uses for a returned buffer.
# A string argument's buffer comes from dev.ferrio.ffi.RecycledBuffers when it holds one large
# enough (else rustbuffer_alloc, as before), and a lifted buffer goes there (else
# rustbuffer_free). Fails when the generated code no longer has these lines.
kt="$out/dev/ferrio/ffi/ferrio_ffi.kt"
awk '
    function emit(line) { print line; prev = $0 }
    $0 == "    var status = UniffiRustCallStatus()" { emit("    val status = CallStatuses.take()"); next }
    $0 == "    uniffiCheckCallStatus(errorHandler, status)" {
        print "    CallStatuses.readIfFailed(status)"
        print
        emit("    CallStatuses.give(status)"); next
    }
    $0 == "    class ByValue: RustBuffer(), Structure.ByValue" {
        emit("    class ByValue() : RustBuffer(), Structure.ByValue { constructor(init: Pointer) : this() { RustBufferFields.copy(init, this) } }"); next
    }
    $0 == "    class ByReference: RustBuffer(), Structure.ByReference" {
        print
        print "    override fun read() = RustBufferFields.read(this)"
        emit("    override fun write() = RustBufferFields.write(this)"); next
    }
    $0 == "        val rbuf = RustBuffer.alloc(byteBuf.limit().toULong())" {
        emit("        val rbuf = RecycledBuffers.take(byteBuf.limit()) ?: RustBuffer.alloc(byteBuf.limit().toULong())"); next
    }
    prev == "        } finally {" && $0 == "            RustBuffer.free(rbuf)" { emit("            RecycledBuffers.give(rbuf)"); next }
    $0 == "            RustBuffer.free(value)" { emit("            RecycledBuffers.give(value)"); next }
    { emit($0) }
' "$kt" > "$kt.patched"
mv "$kt.patched" "$kt"
for line in '    val status = CallStatuses.take()' '    CallStatuses.readIfFailed(status)' \
    '    CallStatuses.give(status)' '    override fun read() = RustBufferFields.read(this)' \
    '    override fun write() = RustBufferFields.write(this)' \
    '    class ByValue() : RustBuffer(), Structure.ByValue { constructor(init: Pointer) : this() { RustBufferFields.copy(init, this) } }' \
    '        val rbuf = RecycledBuffers.take(byteBuf.limit()) ?: RustBuffer.alloc(byteBuf.limit().toULong())' \
    '            RecycledBuffers.give(rbuf)' '            RecycledBuffers.give(value)'; do
    [ "$(grep -cxF "$line" "$kt")" = 1 ] \
        || { echo "generate.sh: the generated code changed; update the patch for: $line" >&2; exit 1; }
done
touch "$stamp"
