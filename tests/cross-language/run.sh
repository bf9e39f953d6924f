#!/usr/bin/env bash
# `make test-cross-language`: a Python client and a Kotlin client exchange messages in one
# room of the reference server (python_kotlin.py). Compiles the Kotlin package's tests (where
# the Kotlin peer, CrossLanguagePeer.kt, lives), then runs the script with their class path.
#
# FERRIO_PYTHON: a Python with the `ferrio` package (make's venv); default python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kotlin="$here/../../bindings/kotlin"
python="${FERRIO_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mvn -B -q -f "$kotlin/pom.xml" test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$work/classpath"
classpath="$kotlin/target/test-classes:$kotlin/target/classes:$(cat "$work/classpath")"
exec "$python" "$here/python_kotlin.py" "$classpath"
