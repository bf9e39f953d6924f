#!/usr/bin/env bash
# Runs each binding's chat example (examples/python, examples/kotlin, examples/swift) once
# against `ferrio serve --port 0`, as a smoke test (`make examples-bindings`): each joins its
# own room, says hello and must receive that message back within the timeout.
#
# Expects: `ferrio` built (cargo build -p ferrio-cli), FERRIO_PYTHON a Python with the
# `ferrio` package, the Kotlin package installed in ~/.m2 (mvn -f bindings/kotlin/pom.xml
# -DskipTests install). FERRIO_SKIP_SWIFT=1 skips the Swift example, saying so.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$repo/target}/debug"
python="${FERRIO_PYTHON:-python3}"
source "$repo/examples/ferrio-serve.sh"
ferrio_serve_start "$bin/ferrio" examples

run() { # language command...
    local language=$1 start=$SECONDS
    shift
    echo "examples: $language: $*"
    if ! timeout 300 "$@"; then
        echo "examples: FAILED: the $language example" >&2
        cat "$server_log" >&2
        exit 1
    fi
    echo "examples: $language passed ($((SECONDS - start)) s)"
}

args=(--messages 1 --timeout 30)
run python "$python" "$repo/examples/python/chat.py" "$url" --name python --room smoke-python "${args[@]}"
run kotlin mvn -B -q -f "$repo/examples/kotlin/pom.xml" exec:java \
    -Dexec.args="$url --name kotlin --room smoke-kotlin ${args[*]}"
if [ "${FERRIO_SKIP_SWIFT:-0}" = 1 ]; then
    echo "examples: swift SKIPPED (FERRIO_SKIP_SWIFT=1)"
else
    run swift "$repo/examples/swift/run.sh" "$url" --name swift --room smoke-swift "${args[@]}"
fi
echo "examples: every binding's example passed"
