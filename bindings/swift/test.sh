#!/usr/bin/env bash
# `make test-swift`: compiles the Swift package and runs its tests against the reference
# server, on a machine without a Swift compiler of its own (Debian 12).
#
# 1. toolchain.sh: a Debian trixie root with swiftlang, cached outside the repository.
# 2. generate.sh: ferrio-ffi built on the host, Swift bindings generated into the package;
#    a ferrio_ffi.pc for target/debug (install-ffi.sh --pc-only), which Package.swift's
#    system library finds through PKG_CONFIG_PATH (the tests run with LD_LIBRARY_PATH).
# 3. Reference servers started on the host (Node is not in the root; the root shares the
#    host's network); their ports reach the tests through FERRIO_TEST_* variables.
# 4. in-root.sh: /proc, /dev and the repository mounted in the root (the repository at the same
#    absolute path, so rpaths and generated paths match); `swift build` + `swift test` run
#    there, building into a cache inside the root (outside the repository).
# 5. Mounts undone (deepest first) and servers stopped, also on failure.
#
# FERRIO_SKIP_SWIFT=1 skips all of it, saying so. Extra arguments go to `swift test`
# (e.g. `--filter Reconnection`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
server_js="$repo/tests/server/server.js"

loud() {
  printf '\n%s\n%s\n%s\n\n' "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" \
    "!!! swift: $*" "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
}
cannot() {
  loud "CANNOT RUN THE SWIFT TESTS ON THIS MACHINE: $*
!!! (set FERRIO_SKIP_SWIFT=1 to skip Swift explicitly)"
  exit 1
}

if [ "${FERRIO_SKIP_SWIFT:-0}" = 1 ]; then
  loud "Swift SKIPPED (FERRIO_SKIP_SWIFT=1): the Swift package was neither built nor tested"
  exit 0
fi

[ "$(uname -s)" = Linux ] || cannot "this runner needs Linux (on macOS run \`swift test\` in bindings/swift)"
[ "$(id -u)" = 0 ] || cannot "chroot and mount need root"
command -v node >/dev/null 2>&1 || cannot "node is missing (the reference server)"
command -v chroot >/dev/null 2>&1 || cannot "chroot is missing"

start=$SECONDS
root="$("$here/toolchain.sh")" || cannot "the Swift toolchain root could not be built (toolchain.sh)"
echo "swift: toolchain root $root ($((SECONDS - start)) s)" >&2

"$here/generate.sh"
# The package as a dependency would link it on Linux: through pkg-config, here pointing at
# the library just built (target/ is inside the repository, mounted in the root).
lib_dir="$repo/target/debug"
pkgconfig_dir="$repo/target/swift-pkgconfig"
"$here/install-ffi.sh" --pc-only "$lib_dir" "$pkgconfig_dir"

work="$(mktemp -d)"
server_pids=()
cleanup() {
  local status=$?
  set +e
  for pid in "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${server_pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
  [ "$status" = 0 ] || [ "$status" = 130 ] || loud "make test-swift FAILED (exit $status)"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a reference server (or the Node script given third); sets $server_port and
# $server_control. Its stdin is a pipe held by this script (FERRIO_EXIT_ON_STDIN_CLOSE), so
# it also ends if this script is killed.
start_server() {
  local name=$1 config=$2 script=${3:-$server_js} out="$work/$1.out"
  # shellcheck disable=SC2034 # fd is never written: it only holds the server's stdin open
  exec {fd}> >(FERRIO_EXIT_ON_STDIN_CLOSE=1 exec node "$script" "$config" >"$out" 2>"$work/$name.err")
  server_pids+=("$!")
  local ready=""
  for _ in $(seq 300); do
    ready="$(grep -m1 '^READY ' "$out" 2>/dev/null || true)"
    [ -n "$ready" ] && break
    sleep 0.1
  done
  [ -n "$ready" ] || { cat "$work/$name.err" >&2; loud "the $name reference server did not start"; exit 1; }
  server_port="$(sed -E 's/.*"port":([0-9]+).*/\1/' <<<"$ready")"
  server_control="$(sed -E 's/.*"control":([0-9]+).*/\1/' <<<"$ready")"
  echo "swift: $name server on port $server_port (control $server_control)" >&2
}

start_server default '{}'
default_port=$server_port default_control=$server_control
# Restarted by the reconnection tests, so that the others keep a stable server.
start_server restartable '{}'
restart_port=$server_port restart_control=$server_control
# Reached only through the proxy by the proxy tests: its record of the addresses it accepted
# shows they came through tinyproxy or microsocks (which connect out from 127.0.0.2).
start_server proxied '{}'
proxied_port=$server_port proxied_control=$server_control
# The behaviour table's own (BehaviourTests: it clears the server's records before each run).
start_server behaviour '{}'
behaviour_port=$server_port behaviour_control=$server_control
# The behaviour table's, with connection state recovery (its scenarios with "server": "recovering").
start_server behaviour-recovering '{"connectionStateRecovery":true}'
behaviour_recovering_port=$server_port behaviour_recovering_control=$server_control
# With connection state recovery, for the recovered-session tests.
start_server recovering '{"connectionStateRecovery":true}'
recovering_port=$server_port recovering_control=$server_control
# WebSocket only, with permessage-deflate, for NetworksTests' compressed-WebSocket tests.
start_server deflating '{"transports":["websocket"],"perMessageDeflate":true}'
deflating_port=$server_port deflating_control=$server_control
# A Socket.IO 2.x server (tests/server-v2, its own lockfile) for ServerVersionTests.
[ -d "$repo/tests/server-v2/node_modules" ] || cannot "tests/server-v2/node_modules is missing: run \`make deps-node-v2\`"
start_server v2 '{}' "$repo/tests/server-v2/server.js"
v2_port=$server_port v2_control=$server_control

# tinyproxy (HTTP) and microsocks (SOCKS5) (make test-swift installs them) on free ports,
# started on the host like the servers (the root shares the host's network); both connect
# out from 127.0.0.2. `start_tinyproxy NAME [CONFIG_LINE]` and `start_microsocks NAME
# [ARGUMENTS]` set proxy_port. Of each, one plain and one that wants credentials (user:secret).
tinyproxy_bin="$(command -v tinyproxy || true)"
[ -n "$tinyproxy_bin" ] || { loud "tinyproxy is missing: apt-get install tinyproxy (make test-swift installs it)"; exit 1; }
microsocks_bin="$(command -v microsocks || true)"
[ -n "$microsocks_bin" ] || { loud "microsocks is missing: apt-get install microsocks (make test-swift installs it)"; exit 1; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_tinyproxy() {
  local name="$1" extra="${2:-}"
  proxy_port="$(free_port)"
  printf 'Port %s\nListen 127.0.0.1\nBind 127.0.0.2\nTimeout 60\nLogFile "%s"\nLogLevel Info\nMaxClients 64\nAllow 127.0.0.1\n%s\n' \
    "$proxy_port" "$work/$name.log" "$extra" >"$work/$name.conf"
  run_proxy "$name" "$tinyproxy_bin" -d -c "$work/$name.conf"
}
start_microsocks() {
  local name="$1"
  shift
  proxy_port="$(free_port)"
  run_proxy "$name" "$microsocks_bin" -i 127.0.0.1 -p "$proxy_port" -b 127.0.0.2 "$@"
}
# `run_proxy NAME PROGRAM ARGUMENTS...`: runs the proxy and waits until it listens on proxy_port.
run_proxy() {
  local name="$1"
  shift
  # Its guard kills it once the pipe from this script closes, as the servers end with their stdin.
  local proxy_fd
  # shellcheck disable=SC2034 # proxy_fd is never written: it only holds the guard's stdin open
  exec {proxy_fd}> >(exec sh -c 'exec 3<&0; "$@" </dev/null & child=$!; (cat <&3 >/dev/null; kill -KILL "$child" 2>/dev/null) & exec 3<&-; wait "$child"' \
    sh "$@" >"$work/$name.out" 2>&1)
  server_pids+=("$!")
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null \
    || { cat "$work/$name.out" >&2; loud "$name did not start"; exit 1; }
  echo "swift: $name on port $proxy_port" >&2
}
start_tinyproxy tinyproxy-auth 'BasicAuth user secret'
auth_proxy_port=$proxy_port
start_microsocks microsocks-auth -u user -P secret
socks_auth_proxy_port=$proxy_port
start_microsocks microsocks
socks_proxy_port=$proxy_port
start_tinyproxy tinyproxy

# TLS: certificates from tests/server/test-certs.sh in target/ (the root sees the
# repository), a server over HTTPS and one that also requires a client certificate. The
# tests use 127.0.0.1 (in the certificate) rather than localhost, which the root may not
# resolve.
tls_dir="$repo/target/swift-tls"
rm -rf "$tls_dir"
"$repo/tests/server/test-certs.sh" "$tls_dir"
tls_files="\"cert\":\"$tls_dir/server.pem\",\"key\":\"$tls_dir/server-key.pem\""
start_server tls "{\"tls\":{$tls_files}}"
tls_port=$server_port
start_server mtls "{\"tls\":{$tls_files,\"clientCa\":\"$tls_dir/ca.pem\"}}"
mtls_port=$server_port

# SwiftPM's outputs: a cache inside the root, one per repository path.
scratch="/var/cache/ferrio-swiftpm/$(echo "$repo" | tr '/' '_')"
# The cluster test's addresses (ferrio-cluster, `make test-cluster-bindings`), when set.
mapfile -t cluster_env < <(env | grep -E '^FERRIO_CLUSTER_[A-Z_]+=' || true)
compile_start=$SECONDS
# in-root.sh: the root's lock, the mounts (/proc, /dev, the repository) and their undoing.
"$here/in-root.sh" "$root" \
  FERRIO_TEST_URL="http://127.0.0.1:$default_port" FERRIO_TEST_CONTROL="$default_control" \
  FERRIO_TEST_RESTART_URL="http://127.0.0.1:$restart_port" FERRIO_TEST_RESTART_CONTROL="$restart_control" \
  FERRIO_TEST_PROXIED_URL="http://127.0.0.1:$proxied_port" FERRIO_TEST_PROXIED_CONTROL="$proxied_control" \
  FERRIO_TEST_PROXY_URL="http://127.0.0.1:$proxy_port" \
  FERRIO_TEST_BEHAVIOUR_URL="http://127.0.0.1:$behaviour_port" FERRIO_TEST_BEHAVIOUR_CONTROL="$behaviour_control" \
  FERRIO_TEST_BEHAVIOUR_RECOVERING_URL="http://127.0.0.1:$behaviour_recovering_port" \
  FERRIO_TEST_BEHAVIOUR_RECOVERING_CONTROL="$behaviour_recovering_control" \
  FERRIO_TEST_RECOVERING_URL="http://127.0.0.1:$recovering_port" FERRIO_TEST_RECOVERING_CONTROL="$recovering_control" \
  FERRIO_TEST_V2_URL="http://127.0.0.1:$v2_port" FERRIO_TEST_V2_CONTROL="$v2_control" \
  FERRIO_TEST_DEFLATING_URL="http://127.0.0.1:$deflating_port" FERRIO_TEST_DEFLATING_CONTROL="$deflating_control" \
  FERRIO_TEST_AUTH_PROXY_PORT="$auth_proxy_port" \
  FERRIO_TEST_SOCKS_PROXY_PORT="$socks_proxy_port" FERRIO_TEST_SOCKS_AUTH_PROXY_PORT="$socks_auth_proxy_port" \
  FERRIO_TEST_TLS_URL="https://127.0.0.1:$tls_port" FERRIO_TEST_MTLS_URL="https://127.0.0.1:$mtls_port" \
  FERRIO_TEST_TLS_DIR="$tls_dir" FERRIO_BEHAVIOUR_ONLY="${FERRIO_BEHAVIOUR_ONLY:-}" \
  PKG_CONFIG_PATH="$pkgconfig_dir" "${cluster_env[@]}" -- \
  /bin/bash -c 'set -euo pipefail; cd "$1"; scratch=$2; lib_dir=$3; shift 3
    swift build --scratch-path "$scratch" --build-tests
    echo "swift: compiled" >&2
    LD_LIBRARY_PATH="$lib_dir" swift test --scratch-path "$scratch" --skip-build "$@"' \
  swift "$here" "$scratch" "$lib_dir" "$@"
echo "swift: build + tests took $((SECONDS - compile_start)) s, $((SECONDS - start)) s in all" >&2
