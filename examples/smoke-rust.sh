#!/usr/bin/env bash
# Runs each Rust example once against `ferrio serve --port 0` (a smoke test; `make examples-rust`).
# Expects the binaries built: `cargo build -p ferrio-cli -p rust-chat -p rust-token-refresh`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$repo/target}/debug"
source "$repo/examples/ferrio-serve.sh"
ferrio_serve_start "$bin/ferrio" smoke-rust

run() {
    echo "smoke-rust: $*"
    if ! timeout 60 "$@"; then
        echo "smoke-rust: FAILED: $*" >&2
        cat "$server_log" >&2
        exit 1
    fi
}

run "$bin/rust-chat" "$url" --name smoke --room smoke --messages 1 --timeout 20
run "$bin/rust-token-refresh" "$url" --force-reconnect --timeout 20
echo "smoke-rust: every Rust example passed"
