"""Writes BENCHMARKS.md from benches/results.json (run by `make bench` after run.py).

    python3 benches/report.py [results.json] [BENCHMARKS.md]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["floor", "ferrio", "floor_ct", "ferrio_ct", "rust_socketio", "js", "ferrio_py",
         "python_socketio", "ferrio_kt", "socketio_java", "ferrio_swift"]
LABEL = {
    "floor": "floor (tokio-tungstenite)",
    "ferrio": "**Ferrio (Rust)**",
    "floor_ct": "floor, current-thread runtime",
    "ferrio_ct": "**Ferrio (Rust)**, current-thread runtime",
    "rust_socketio": "rust_socketio 0.6",
    "js": "socket.io-client 4.8 (JS)",
    "ferrio_py": "**Ferrio (Python)**",
    "python_socketio": "python-socketio 5 (AsyncClient)",
    "ferrio_kt": "**Ferrio (Kotlin)**",
    "socketio_java": "socket.io-client-java 2.1",
    "ferrio_swift": "**Ferrio (Swift)**",
}


# The floor each client is compared with: its own runtime's (see run.py).
BASE = {"floor_ct": "floor_ct", "ferrio_ct": "floor_ct"}
# Clients that run in some scenarios only: no row where they did not run.
PARTIAL = {"floor_ct", "ferrio_ct"}


def get(results: dict, scenario: str, client: str, key: str) -> float | None:
    s = results["scenarios"].get(scenario, {}).get(client, {}).get("summary", {})
    return s.get(key)


def fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(v: float | None, base: float | None) -> str:
    if v is None or not base:
        return "—"
    return f"{v / base:.2f}x"


def failed(results: dict, scenario: str, client: str) -> str | None:
    s = results["scenarios"].get(scenario, {}).get(client)
    if s is None:
        return "not run"
    if s["summary"].get("ok_runs", 0) == 0:
        return "failed: " + s["summary"].get("error", "?").replace("|", "/")[:120]
    return None


def clients_of(results: dict) -> list[str]:
    present = set()
    for scen in results["scenarios"].values():
        present.update(scen)
    return [c for c in ORDER if c in present]


def table(results: dict, scenario: str, columns: list[tuple[str, str, int]], base_key: str | None) -> list[str]:
    head = ["client"] + [c[0] for c in columns] + ([f"{base_key[0]} vs floor"] if base_key else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for client in clients_of(results):
        why = failed(results, scenario, client)
        if why == "not run" and client in PARTIAL:
            continue
        if why:
            lines.append(f"| {LABEL[client]} | {why} |" + " |" * (len(head) - 2))
            continue
        cells = [fmt(get(results, scenario, client, key), d) for _, key, d in columns]
        if base_key:
            cells.append(ratio(get(results, scenario, client, base_key[1]),
                               get(results, scenario, BASE.get(client, "floor"), base_key[1])))
        lines.append(f"| {LABEL[client]} | " + " | ".join(cells) + " |")
    return lines


def target_rows(results: dict) -> list[str]:
    def r(scenario: str, client: str, key: str, base_client: str = "floor") -> float | None:
        v, b = get(results, scenario, client, key), get(results, scenario, base_client, key)
        return None if v is None or not b else v / b

    rows = []

    def add(what: str, value: float | None, limit: float, shown: str, lower_is_better: bool = True) -> None:
        if value is None:
            rows.append(f"| {what} | — | {shown} | not measured |")
            return
        met = value <= limit if lower_is_better else value >= limit
        rows.append(f"| {what} | {value:.2f}x | {shown} | {'met' if met else '**not met**'} |")

    add("Ferrio (Rust) CPU per emitted message vs floor", r("emit", "ferrio", "cpu_us_per_msg"), 1.5, "≤ 1.5x")
    add("Ferrio (Rust) CPU per received message vs floor", r("receive", "ferrio", "cpu_us_per_msg"), 1.0, "≤ 1.0x")
    add("Ferrio (Rust) ack p50 vs floor", r("ack", "ferrio", "p50_us"), 1.1, "≤ 1.1x")
    add("Ferrio (Rust) CPU per ack round trip vs floor", r("ack", "ferrio", "cpu_us_per_msg"), 1.25, "≤ 1.25x")
    add("Ferrio (Rust) CPU per emitted message vs floor, both on a current-thread runtime",
        r("emit", "ferrio_ct", "cpu_us_per_msg", "floor_ct"), 1.25, "≤ 1.25x")
    add("Ferrio (Rust) CPU per received message vs floor, both on a current-thread runtime",
        r("receive", "ferrio_ct", "cpu_us_per_msg", "floor_ct"), 1.25, "≤ 1.25x")
    add("Ferrio (Rust) ack p50 vs floor, both on a current-thread runtime",
        r("ack", "ferrio_ct", "p50_us", "floor_ct"), 1.1, "≤ 1.1x")
    add("Ferrio (Rust) connect time (WebSocket) vs floor", r("connect_ws", "ferrio", "p50_us"), 1.5, "≤ 1.5x")
    add("Ferrio (Rust) connect time (polling + upgrade) vs floor", r("connect_upgrade", "ferrio", "p50_us"), 1.5, "≤ 1.5x")
    add("Ferrio (Rust) memory per idle connection vs floor", r("memory", "ferrio", "kib_per_conn"), 1.1, "≤ 1.1x")
    add("Ferrio (Python) emit throughput vs python-socketio",
        r("emit", "ferrio_py", "per_s", "python_socketio"), 3.0, "≥ 3x", lower_is_better=False)
    add("Ferrio (Python) receive throughput vs python-socketio",
        r("receive", "ferrio_py", "per_s", "python_socketio"), 3.0, "≥ 3x", lower_is_better=False)
    add("Ferrio (Python) ack p50 vs python-socketio", r("ack", "ferrio_py", "p50_us", "python_socketio"), 0.5, "≤ 0.5x")
    py_receive = get(results, "receive", "ferrio_py", "cpu_us_per_msg")
    if py_receive is None:
        rows.append("| Ferrio (Python) CPU per received event | — | ≤ 6 µs | not measured |")
    else:
        met = "met" if py_receive <= 6.0 else "**not met**"
        rows.append(f"| Ferrio (Python) CPU per received event | {py_receive:.2f} µs | ≤ 6 µs | {met} |")
    add("Ferrio (Python) binary echo p50 vs python-socketio",
        r("binary", "ferrio_py", "p50_us", "python_socketio"), 1.0, "≤ 1.0x")
    add("Ferrio (Python) memory per idle connection vs python-socketio",
        r("memory", "ferrio_py", "kib_per_conn", "python_socketio"), 1.0, "≤ 1.0x")
    add("Ferrio (Kotlin) ack p50 vs floor", r("ack", "ferrio_kt", "p50_us"), 2.0, "≤ 2x")
    add("Ferrio (Kotlin) memory per idle connection vs floor", r("memory", "ferrio_kt", "kib_per_conn"), 2.0, "≤ 2x")
    add("Ferrio (Kotlin) CPU per emitted message vs socket.io-client-java",
        r("emit", "ferrio_kt", "cpu_us_per_msg", "socketio_java"), 1.0, "≤ 1.0x")
    add("Ferrio (Kotlin) CPU per received message vs socket.io-client-java",
        r("receive", "ferrio_kt", "cpu_us_per_msg", "socketio_java"), 1.0, "≤ 1.0x")
    add("Ferrio (Kotlin) ack p50 vs socket.io-client-java",
        r("ack", "ferrio_kt", "p50_us", "socketio_java"), 1.0, "≤ 1.0x")
    lib = results.get("library", {})
    if "stripped_mib" in lib:
        met = "met" if lib["stripped_bytes"] <= 4_000_000 else "**not met**"
        rows.append(f"| `ferrio-ffi` library, release profile, stripped | {lib['stripped_bytes'] / 1e6:.2f} MB | ≤ 4 MB | {met} |")
    return rows


def compression_section(results: dict) -> list[str]:
    """The bytes compression saves on a chat-like payload, over polling and over the
    WebSocket (Ferrio (Rust) only)."""
    size = results["sizes"].get("compression")
    s = results["scenarios"].get("compression", {}).get("ferrio", {}).get("summary", {})
    head = [f"## Compression ({size:,} chat messages, the server's httpCompression and "
            "perMessageDeflate on)" if size else "## Compression", ""]
    if "bytes_compressed" not in s:
        return head + [f"not measured: {s.get('error', 'not run')}"]
    payload = s.get("payload_bytes")
    rows = [("polling", "off", s["bytes_plain"]),
            ("polling", "on (gzip)", s["bytes_compressed"])]
    if "ws_bytes_compressed" in s:
        rows += [("WebSocket", "off", s["ws_bytes_plain"]),
                 ("WebSocket", "on (permessage-deflate)", s["ws_bytes_compressed"])]
    lines = head + [
        "Bytes the server sent on the wire (HTTP heads and bodies, or WebSocket frames, "
        "counted by a proxy in the client process), Ferrio (Rust) receiving the same messages "
        "with `compression` off and on: over polling `Accept-Encoding: gzip, deflate`, "
        "inflated as read; over the WebSocket permessage-deflate, each message compressed "
        "with the previous ones as context (the server's threshold lowered from ws's 1 KiB "
        "to 0: at 1 KiB no chat message would be compressed).",
        "",
        "| transport | compression | bytes on the wire | vs the messages' JSON |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t} | {c} | {b:,.0f} | {ratio(b, payload)} |" for t, c, b in rows]
    lines.append("")
    for transport, plain, compressed in (
        ("polling", s["bytes_plain"], s["bytes_compressed"]),
        ("the WebSocket", s.get("ws_bytes_plain"), s.get("ws_bytes_compressed")),
    ):
        if plain and compressed is not None:
            lines.append(f"Over {transport}, compression saves **{1 - compressed / plain:.0%}** "
                         f"of the bytes of this payload ({payload:,.0f} bytes of message JSON).")
            lines.append("")
    return lines[:-1]


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benches" / "results.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "BENCHMARKS.md"
    results = json.loads(src.read_text())
    notes_path = ROOT / "benches" / "NOTES.md"
    sizes = results["sizes"]
    m = results["machine"]
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (benches/run.py, then benches/report.py) from "
        "[`benches/results.json`](benches/results.json); do not edit by hand — the analysis "
        "below the tables comes from `benches/NOTES.md`.",
        "",
        f"Each client runs as its own process against the same Node bench server "
        f"(`benches/server.mjs`, socket.io {m.get('socket.io (server)')}) on loopback, over "
        f"WebSocket unless stated. Medians of {results['runs']} runs. CPU is the client process's own "
        "user + system time (getrusage / process.cpuUsage / the JVM's processCpuTime) over the "
        "measured loop only; the Node server is the ceiling for the fast clients' wall-clock "
        "throughput, so CPU per message is the fair comparison. The floor is a minimal client written directly on tokio-tungstenite "
        "(benches/rust/src/bin/floor.rs): the wire format only, JSON encode/decode of the "
        "arguments, no dispatch. The Rust clients run on tokio's default multi-thread runtime; "
        "the floor and Ferrio (Rust) also run on a current-thread runtime in the emit, receive "
        "and ack scenarios (`BENCH_RUNTIME=current_thread`), compared there with the floor on "
        "the same runtime: the difference between the two is what handing work between threads "
        "costs (see the analysis below).",
        "",
        "## Targets",
        "",
        "| target | measured | limit | |",
        "|---|---|---|---|",
        *target_rows(results),
        "",
        f"## Emit throughput ({sizes['emit']:,} small events, confirmed by a final ack with the server's count)",
        "",
        *table(results, "emit", [("events/s", "per_s", 0), ("wall s", "wall_s", 2),
                                 ("CPU µs/event", "cpu_us_per_msg", 2), ("peak RSS KiB", "peak_rss_kib", 0)],
               ("CPU", "cpu_us_per_msg")),
        "",
        f"## Receive throughput (the server sends {sizes['receive']:,} events, then `done`)",
        "",
        *table(results, "receive", [("events/s", "per_s", 0), ("wall s", "wall_s", 2),
                                    ("CPU µs/event", "cpu_us_per_msg", 2), ("dropped", "dropped", 0),
                                    ("peak RSS KiB", "peak_rss_kib", 0)],
               ("CPU", "cpu_us_per_msg")),
        "",
        f"## Ack round trip ({sizes['ack']:,} sequential `echo` calls)",
        "",
        *table(results, "ack", [("p50 µs", "p50_us", 1), ("p99 µs", "p99_us", 1),
                                ("CPU µs/call", "cpu_us_per_msg", 1)], ("p50", "p50_us")),
        "",
        f"## Binary echo (64 KiB, {sizes['binary']:,} sequential acks carrying it back)",
        "",
        *table(results, "binary", [("p50 µs", "p50_us", 1), ("p99 µs", "p99_us", 1),
                                   ("CPU µs/echo", "cpu_us_per_msg", 1)], ("p50", "p50_us")),
        "",
        f"## Connect time, WebSocket only ({sizes['connect_ws']} sequential connects, until the namespace is connected)",
        "",
        *table(results, "connect_ws", [("p50 µs", "p50_us", 0), ("p99 µs", "p99_us", 0),
                                       ("CPU µs/connect", "cpu_us_per_msg", 0)], ("p50", "p50_us")),
        "",
        f"## Connect time, polling then upgrade ({sizes['connect_upgrade']} sequential connects, until connected and upgraded)",
        "",
        *table(results, "connect_upgrade", [("p50 µs", "p50_us", 0), ("p99 µs", "p99_us", 0),
                                            ("CPU µs/connect", "cpu_us_per_msg", 0)], ("p50", "p50_us")),
        "",
        f"## Memory per idle connection ({sizes['memory']:,} idle WebSocket connections, then {sizes['memory']:,} more, in one process)",
        "",
        "KiB/connection is the marginal cost: the growth of VmRSS over the second "
        f"{sizes['memory']:,} connections, divided by {sizes['memory']:,} (one-off costs such as "
        "imports, class loading and runtime threads fall in the first round). The first round's "
        "growth per connection, the figure of earlier runs, is shown beside it.",
        "",
        *table(results, "memory", [("KiB/connection", "kib_per_conn", 1),
                                   ("first round KiB/connection", "kib_per_conn_first", 1),
                                   ("peak RSS KiB", "peak_rss_kib", 0)],
               ("KiB", "kib_per_conn")),
        "",
        *compression_section(results),
        "",
        "## Library size",
        "",
    ]
    lib = results.get("library", {})
    if "stripped_bytes" in lib:
        out.append(f"`{lib['path']}`, stripped: **{lib['stripped_bytes']:,} bytes "
                   f"({lib['stripped_mib']:.2f} MiB)**.")
    else:
        out.append(f"not measured: {lib.get('error')}")
    out += ["", "## Machine and versions", "", "| | |", "|---|---|"]
    for key, value in m.items():
        out.append(f"| {key} | {value} |")
    out += ["", f"Total run time: {results.get('elapsed_s', 0):.0f} s.", ""]
    if notes_path.exists():
        out += [notes_path.read_text().rstrip(), ""]
    dst.write_text("\n".join(out))
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
