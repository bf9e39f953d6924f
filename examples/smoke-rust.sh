#!/usr/bin/env bash
# Runs each Rust example once against `ferrio serve --port 0` (a smoke test; `make examples-rust`).
# Expects the binaries built: `cargo build -p ferrio-cli -p rust-chat -p rust-token-refresh`.
set -euo pipefail

bin="${CARGO_TARGET_DIR:-target}/debug"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The server prints its URL alone on the first line of stdout; read it through a FIFO.
mkfifo "$work/stdout"
"$bin/ferrio" serve --port 0 >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/stdout"
if ! read -r -t 30 url <&3; then
    echo "smoke-rust: ferrio serve printed no URL" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "smoke-rust: ferrio serve on $url"

run() {
    echo "smoke-rust: $*"
    if ! timeout 60 "$@"; then
        echo "smoke-rust: FAILED: $*" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
}

run "$bin/rust-chat" "$url" --name smoke --room smoke --messages 1 --timeout 20
run "$bin/rust-token-refresh" "$url" --force-reconnect --timeout 20
echo "smoke-rust: every Rust example passed"
