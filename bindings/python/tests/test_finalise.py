"""The interpreter exits cleanly after a client met a hostile server: the package's atexit
hook closes the connections and waits for the native runtime before finalisation, so no
native thread calls into Python while it finalises (which aborted the process with
"FATAL: exception not rethrown", exit status 134, in about half of these runs before)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HOSTILE = Path(__file__).resolve().parents[3] / "tests" / "hostile"
RUNS = 50


@pytest.fixture(scope="module")
def hostile_port() -> Iterator[int]:
    """The hostile server of tests/hostile on an ephemeral port."""
    server = subprocess.Popen(
        [sys.executable, str(HOSTILE / "server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    line = server.stdout.readline().decode()
    assert line.startswith("PORT "), f"the hostile server said {line!r}"
    yield int(line.split()[1])
    assert server.stdin is not None
    server.stdin.close()
    server.wait(10)
    server.stdout.close()


def run_probe(port: int, run: int) -> tuple[int, str]:
    """One process: a connection flooded before its CONNECT times out, then exit."""
    url = f"http://127.0.0.1:{port}/?case=flood-before-connect&run=finalise-{run}"
    done = subprocess.run(
        [
            sys.executable,
            str(HOSTILE / "probe.py"),
            url,
            "--transport",
            "websocket",
            "--connect-timeout",
            "0.5",
            "--deadline",
            "0.5",
        ],
        capture_output=True,
        timeout=120,
    )
    return done.returncode, done.stderr.decode(errors="replace")[-300:]


def test_the_interpreter_exits_cleanly_after_hostile_runs(hostile_port: int) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda run: run_probe(hostile_port, run), range(RUNS)))
    failed = [(code, err) for code, err in results if code != 0]
    assert not failed, f"{len(failed)} of {RUNS} runs failed: {failed[:3]}"
