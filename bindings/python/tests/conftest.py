"""Fixtures: the reference Socket.IO server (tests/server), started on an ephemeral port."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from ferrio._ffi import ferrio_ffi as ffi

#: For tests of the event pipe itself: Unix only (a Windows library has none, and the
#: package uses its pull task there).
needs_event_pipe = pytest.mark.skipif(
    not hasattr(ffi, "EventPipe"), reason="this platform's library has no event pipe (Unix only)"
)

SERVER_JS = Path(__file__).resolve().parents[3] / "tests" / "server" / "server.js"
#: A Socket.IO 2.x server (socket.io 2.5.1, its own lockfile: ``make deps-node-v2``).
SERVER_V2_JS = SERVER_JS.parents[1] / "server-v2" / "server.js"
READY_TIMEOUT = 30.0
CONTROL_TIMEOUT = 60.0


class TestServer:
    """One reference server process; ``control`` posts an action to its control channel."""

    __test__ = False

    def __init__(self, config: dict[str, Any] | None = None, script: Path = SERVER_JS) -> None:
        env = {**os.environ, "FERRIO_EXIT_ON_STDIN_CLOSE": "1"}
        self.process = subprocess.Popen(
            ["node", str(script), json.dumps(config or {})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("FERRIO_SERVER_LOGS") else subprocess.DEVNULL,
            env=env,
        )
        ready: dict[str, Any] = {}
        reader = threading.Thread(target=self._read_ready, args=(ready,), daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT)
        if "port" not in ready:
            self.stop()
            raise RuntimeError("the reference server did not print READY")
        self.port: int = ready["port"]
        self.control_port: int = ready["control"]
        self.url = f"http://127.0.0.1:{self.port}"

    def _read_ready(self, ready: dict[str, Any]) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode().strip()
            if line.startswith("READY "):
                ready.update(json.loads(line[len("READY ") :]))
                return

    def control(self, action: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}/{action}",
            data=json.dumps(body or {}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT) as response:
            return json.loads(response.read())

    async def acontrol(self, action: str, body: dict[str, Any] | None = None) -> Any:
        """``control`` from a coroutine, without blocking the event loop."""
        return await asyncio.to_thread(self.control, action, body)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="session")
def server() -> Iterator[TestServer]:
    """A server shared by the tests that do not change its state."""
    started = TestServer()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def v2_server() -> Iterator[TestServer]:
    """A Socket.IO 2.x server (tests/server-v2): ``echo`` acknowledged in ``/`` and
    ``/custom``; its control channel answers ``{}`` to everything."""
    if not (SERVER_V2_JS.parent / "node_modules").is_dir():
        raise RuntimeError("tests/server-v2/node_modules is missing: run `make deps-node-v2`")
    started = TestServer(script=SERVER_V2_JS)
    yield started
    started.stop()


@pytest.fixture
def fresh_server() -> Iterator[Callable[..., TestServer]]:
    """Starts servers of their own for tests that restart or count; stopped after."""
    servers: list[TestServer] = []

    def start(config: dict[str, Any] | None = None) -> TestServer:
        started = TestServer(config)
        servers.append(started)
        return started

    yield start
    for started in servers:
        started.stop()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Waits for a state that no event announces (e.g. the transport upgrade)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def pytest_report_header() -> str:
    return f"reference server: {SERVER_JS} (python {sys.version.split()[0]})"
