# shellcheck shell=bash
# Sourced by the smoke scripts: starts `ferrio serve --port 0` in the background and sets
# `url` to its address. The server and its scratch directory go away when the script exits;
# `server_log` holds the server's stderr, to show when an example fails.
#
#   source examples/ferrio-serve.sh
#   ferrio_serve_start path/to/ferrio label

ferrio_serve_start() { # ferrio-binary label
    local ferrio=$1 label=$2
    ferrio_serve_work="$(mktemp -d)"
    ferrio_serve_pid=""
    trap ferrio_serve_stop EXIT
    server_log="$ferrio_serve_work/server.log"
    # The server prints its URL alone on the first line of stdout; read it through a FIFO.
    mkfifo "$ferrio_serve_work/stdout"
    "$ferrio" serve --port 0 >"$ferrio_serve_work/stdout" 2>"$server_log" &
    ferrio_serve_pid=$!
    exec 3<"$ferrio_serve_work/stdout"
    if ! read -r -t 30 url <&3; then
        echo "$label: ferrio serve printed no URL" >&2
        cat "$server_log" >&2
        exit 1
    fi
    echo "$label: ferrio serve on $url"
}

ferrio_serve_stop() {
    if [ -n "$ferrio_serve_pid" ]; then
        kill "$ferrio_serve_pid" 2>/dev/null || true
        wait "$ferrio_serve_pid" 2>/dev/null || true
    fi
    rm -rf "$ferrio_serve_work"
}
