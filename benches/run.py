"""Runs every benchmark client against the bench server and writes BENCHMARKS.md and
benches/results.json. Started by `make bench` (which builds the clients first).

    python3 benches/run.py [--runs 3] [--quick] [--only client,client]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benches"
RUST_BIN = ROOT / "target" / "bench" / "release"
VENV_PY = Path(os.environ.get("FERRIO_BENCH_VENV", Path.home() / ".cache/ferrio/bench-venv")) / "bin/python"
KOTLIN_JAR = BENCH / "kotlin" / "client" / "target" / "ferrio-bench.jar"
# JNA searches jna.library.path before the class path: the Kotlin client loads the release
# cdylib built here, whatever profile's library the package's jar holds.
KOTLIN_LIB_DIR = ROOT / "target" / "release"
JAVA_JAR = BENCH / "java" / "target" / "socketio-java-bench.jar"

# client id -> (label, command prefix; the scenario, url and n are appended)
CLIENTS: dict[str, tuple[str, list[str]]] = {
    "floor": ("floor (tokio-tungstenite)", [str(RUST_BIN / "floor")]),
    "ferrio": ("Ferrio (Rust)", [str(RUST_BIN / "ferrio")]),
    # The same two on a current-thread tokio runtime (`env` execs the client: wait4 still
    # measures it alone): where the handoff between threads is not paid.
    "floor_ct": ("floor, current-thread runtime",
                 ["env", "BENCH_RUNTIME=current_thread", str(RUST_BIN / "floor")]),
    "ferrio_ct": ("Ferrio (Rust), current-thread runtime",
                  ["env", "BENCH_RUNTIME=current_thread", str(RUST_BIN / "ferrio")]),
    "rust_socketio": ("rust_socketio 0.6", [str(RUST_BIN / "rust-socketio-bench")]),
    "js": ("socket.io-client 4.8 (JS)", ["node", str(BENCH / "js" / "client.mjs")]),
    "ferrio_py": ("Ferrio (Python)", [str(VENV_PY), str(BENCH / "python_client.py"), "ferrio"]),
    "python_socketio": (
        "python-socketio 5 (AsyncClient)",
        [str(VENV_PY), str(BENCH / "python_client.py"), "python-socketio"],
    ),
    "ferrio_kt": (
        "Ferrio (Kotlin)",
        ["java", f"-Djna.library.path={KOTLIN_LIB_DIR}", "-jar", str(KOTLIN_JAR)],
    ),
    "socketio_java": ("socket.io-client-java 2.1", ["java", "-jar", str(JAVA_JAR)]),
    # Runs in the Swift toolchain root (chroot); every step of client.sh execs the next, so
    # wait4 measures the client itself.
    "ferrio_swift": ("Ferrio (Swift)", [str(BENCH / "swift" / "client.sh")]),
}

# Clients run in some scenarios only (the others in all).
SCENARIOS_OF = {"floor_ct": {"emit", "receive", "ack"}, "ferrio_ct": {"emit", "receive", "ack"}}
# Scenarios run by some clients only (the others by all).
CLIENTS_OF = {"compression": {"ferrio"}}
# Scenarios whose server compresses polling responses (httpCompression).
COMPRESSED = {"compression"}

FULL = {"emit": 100_000, "receive": 100_000, "ack": 5_000, "binary": 2_000,
        "connect_ws": 50, "connect_upgrade": 30, "memory": 1_000, "compression": 5_000}
QUICK = {"emit": 10_000, "receive": 10_000, "ack": 500, "binary": 100,
         "connect_ws": 10, "connect_upgrade": 5, "memory": 100, "compression": 500}
TIMEOUT = 240.0


def start_server(scenario: str) -> tuple[subprocess.Popen[bytes], str]:
    flags = ["--compress"] if scenario in COMPRESSED else []
    server = subprocess.Popen(
        ["node", str(BENCH / "server.mjs"), *flags],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert server.stdout is not None
    line = server.stdout.readline().decode()
    if not line.startswith("READY "):
        raise RuntimeError(f"bench server did not start: {line!r}")
    return server, f"http://127.0.0.1:{json.loads(line[6:])['port']}"


def stop_server(server: subprocess.Popen[bytes]) -> None:
    assert server.stdin is not None
    server.stdin.close()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_one_rusage(cmd: list[str], scenario: str, url: str, n: int) -> dict:
    """One client process: its RESULT line, plus its peak RSS (ru_maxrss, KiB) and total
    CPU from wait4."""
    # Files of this run only: two runs of this script at once do not mix their output.
    scratch = Path(tempfile.mkdtemp(prefix="ferrio-bench-"))
    stdout_path = scratch / "out"
    stderr_path = scratch / "err"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd + [scenario, url, str(n)], stdout=out, stderr=err,
                                start_new_session=True)
        timer = threading.Timer(TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    result: dict = {"ok": False}
    for line in stdout_path.read_text(errors="replace").splitlines():
        if line.startswith("RESULT "):
            result = {"ok": True, **json.loads(line[7:])}
    if not result["ok"]:
        tail = (stderr_path.read_text(errors="replace").strip().splitlines() or ["no output"])
        result["error"] = " | ".join(tail[-3:])[-300:]
    result["exit"] = proc.returncode
    # The client's own VmHWM; ru_maxrss from wait4 includes this driver's memory (the
    # child's image before exec), so it is kept only as a fallback.
    result.setdefault("peak_rss_kib", usage.ru_maxrss)
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    stdout_path.unlink(missing_ok=True)
    stderr_path.unlink(missing_ok=True)
    scratch.rmdir()
    return result


METRICS = ["wall_s", "cpu_s", "per_s", "cpu_us_per_msg", "p50_us", "p99_us",
           "kib_per_conn", "kib_per_conn_first", "peak_rss_kib", "dropped", "bytes_compressed", "bytes_plain",
           "ws_bytes_compressed", "ws_bytes_plain", "payload_bytes"]


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if r.get("ok")]
    summary: dict = {"runs": len(runs), "ok_runs": len(ok)}
    if not ok:
        summary["error"] = runs[-1].get("error", "failed") if runs else "not run"
        return summary
    for key in METRICS:
        values = [r[key] for r in ok if key in r and r[key] is not None]
        if values:
            summary[key] = statistics.median(values)
    return summary


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    def npm_version(pkg: str, where: Path) -> str:
        try:
            return json.loads((where / "node_modules" / pkg / "package.json").read_text())["version"]
        except OSError:
            return "unknown"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "load_avg_at_start": os.getloadavg(),
        "rustc": version(["rustc", "--version"]),
        "node": version(["node", "--version"]),
        "python": version([str(VENV_PY), "--version"]),
        "java": (version(["java", "--version"]).splitlines() or ["unknown"])[0],
        "socket.io (server)": npm_version("socket.io", ROOT / "tests" / "server"),
        "socket.io-client": npm_version("socket.io-client", BENCH / "js"),
        "socket.io-client-java": "2.1.2",
        "swift": swift_version(),
        "python-socketio": version([str(VENV_PY), "-c",
                                    "import importlib.metadata as m; print(m.version('python-socketio'))"]),
        "rust_socketio": "0.6.0",
        "tokio-tungstenite (floor)": "0.28",
    }


def swift_version() -> str:
    """The version of the Swift toolchain root's `swiftlang` package (benches/swift/client.sh)."""
    root = Path(os.environ.get("FERRIO_SWIFT_ROOT", "/var/cache/ferrio/swift-trixie"))
    try:
        status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    except OSError:
        return "unknown"
    for block in status.split("\n\n"):
        if block.startswith("Package: swiftlang\n"):
            for line in block.splitlines():
                if line.startswith("Version: "):
                    return "swiftlang " + line[9:]
    return "unknown"


def library_size() -> dict:
    """The stripped size of the release `ferrio-ffi` library: the one the Python package
    of the bench venv ships (a release build by maturin), else target/release's."""
    found = sorted(VENV_PY.parent.parent.glob("lib/python*/site-packages/ferrio/_ffi/*.so"))
    lib = found[0] if found else ROOT / "target" / "release" / "libferrio_ffi.so"
    if not lib.exists():
        return {"error": "no release libferrio_ffi.so found"}
    stripped = BENCH / ".libferrio_ffi.stripped.so"
    subprocess.run(["strip", "-o", str(stripped), str(lib)], check=True)
    size = stripped.stat().st_size
    stripped.unlink()
    shown = lib.name if found else str(lib.relative_to(ROOT))
    result = {"path": f"{shown} (the Python wheel's, release profile)",
              "unstripped_bytes": lib.stat().st_size,
              "stripped_bytes": size, "stripped_mib": size / 1024 / 1024}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--scenarios", default="")
    parser.add_argument("--out", default=str(BENCH / "results.json"))
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    clients = [c for c in CLIENTS if not args.only or c in args.only.split(",")]
    scenarios = [s for s in sizes if not args.scenarios or s in args.scenarios.split(",")]
    started = time.time()
    results: dict = {"machine": machine(), "sizes": sizes, "runs": args.runs, "scenarios": {}}
    for scenario in scenarios:
        server, url = start_server(scenario)
        try:
            here = [c for c in clients if scenario in SCENARIOS_OF.get(c, {scenario})
                    and c in CLIENTS_OF.get(scenario, {c})]
            per_client: dict[str, list[dict]] = {c: [] for c in here}
            for run in range(args.runs):
                for client in here:
                    r = run_one_rusage(CLIENTS[client][1], scenario, url, sizes[scenario])
                    per_client[client].append(r)
                    status = "ok" if r["ok"] else f"FAILED ({r.get('error')})"
                    print(f"[{time.time() - started:6.0f}s] {scenario:16} {client:16} run {run + 1}: {status}",
                          flush=True)
        finally:
            stop_server(server)
        results["scenarios"][scenario] = {
            c: {"summary": summarize(per_client[c]), "raw": per_client[c]} for c in here
        }
    results["library"] = library_size()
    results["elapsed_s"] = time.time() - started
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out} in {results['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
