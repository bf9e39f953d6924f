#!/usr/bin/env bash
# Proves the installed jar's linux-aarch64 library works (`make test-jar-arm64`): runs the
# Kotlin chat example (examples/kotlin) on an arm64 JVM under qemu-user against
# `ferrio serve` on the host's loopback, with the example's class path as Maven resolves it
# (dev.ferrio:ferrio from ~/.m2). Passes when JNA found libferrio_ffi.so in the jar's
# linux-aarch64/ directory (its load log, -Djna.debug_load) and the example's message came
# back through the server (its exit status).
#
#   bash bindings/kotlin/test-jar-arm64.sh
#
# Expects the Kotlin package installed (mvn -f bindings/kotlin/pom.xml install) and ferrio
# built (cargo build -p ferrio-cli). The arm64 JVM comes from an arm64 Debian root with
# openjdk-17-jre-headless, made once by packaging/arm64-root.sh (mmdebstrap, qemu-user-static)
# and cached in ~/.cache/ferrio/arm64-root-jvm (FERRIO_ARM64_JVM_ROOT), apart from the Python
# wheels' root so that neither rebuilds the other.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="${CARGO_TARGET_DIR:-$repo/target}/debug"
version=$(python3 "$repo/packaging/version.py")
jvm_root=${FERRIO_ARM64_JVM_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrio/arm64-root-jvm}

root=$(FERRIO_ARM64_ROOT=$jvm_root "$repo/packaging/arm64-root.sh" openjdk-17-jre-headless)
java=$(find "$root/usr/lib/jvm" -mindepth 3 -maxdepth 3 -path '*-arm64/bin/java' | head -n 1)
[ -n "$java" ] || { echo "test-jar-arm64: no arm64 java in $root/usr/lib/jvm" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$repo/examples/ferrio-serve.sh"
ferrio_serve_start "$bin/ferrio" test-jar-arm64
trap 'ferrio_serve_stop; rm -rf "$work"' EXIT

mvn -B -q -f "$repo/examples/kotlin/pom.xml" compile dependency:build-classpath \
    -Dmdep.outputFile="$work/classpath"
classpath="$repo/examples/kotlin/target/classes:$(cat "$work/classpath")"
grep -q "dev/ferrio/ferrio/$version/ferrio-$version.jar" "$work/classpath" \
    || { echo "test-jar-arm64: the example's class path lacks dev.ferrio:ferrio:$version" >&2; exit 1; }

jvm=$(qemu-aarch64-static -L "$root" "$java" -version 2>&1 | head -n 1)
echo "test-jar-arm64: the Kotlin example on $jvm (arm64) under qemu-aarch64"
start=$SECONDS
if ! timeout 300 qemu-aarch64-static -L "$root" "$java" -Djna.debug_load=true -cp "$classpath" \
    dev.ferrio.examples.ChatKt "$url" --name arm64 --room smoke-arm64 --messages 1 --timeout 120 \
    >"$work/run.log" 2>&1; then
    cat "$work/run.log" >&2
    echo "test-jar-arm64: FAILED: the example under qemu-aarch64" >&2
    cat "$server_log" >&2
    exit 1
fi
found="jar:file:.*/ferrio-$version\.jar!/linux-aarch64/libferrio_ffi\.so"
if ! grep -q "Found library resource at $found" "$work/run.log"; then
    cat "$work/run.log" >&2
    echo "test-jar-arm64: FAILED: JNA did not load linux-aarch64/libferrio_ffi.so from ferrio-$version.jar" >&2
    exit 1
fi
grep -E "^(connected|\[smoke-arm64\])" "$work/run.log"
echo "test-jar-arm64: linux-aarch64/libferrio_ffi.so from ferrio-$version.jar passed under qemu ($((SECONDS - start)) s)"
