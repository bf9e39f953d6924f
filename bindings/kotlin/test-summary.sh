#!/bin/sh
# Prints the JUnit results of the last `mvn test` as one closing line (`mvn -q` prints none):
#   kotlin: N passed, N failed, N skipped
set -eu
reports=$(dirname "$0")/target/surefire-reports
awk '
    /<testsuite / {
        for (i = 1; i <= NF; i++) {
            if (split($i, kv, "=") == 2) {
                gsub(/[">]/, "", kv[2])
                if (kv[1] == "tests") tests += kv[2]
                if (kv[1] == "failures" || kv[1] == "errors") failed += kv[2]
                if (kv[1] == "skipped") skipped += kv[2]
            }
        }
    }
    END {
        if (tests == 0) { print "kotlin: no test ran" > "/dev/stderr"; exit 1 }
        printf "kotlin: %d passed, %d failed, %d skipped\n", tests - failed - skipped, failed, skipped
    }
' "$reports"/TEST-*.xml
