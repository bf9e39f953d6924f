"""Cross-language test: a Python client and a Kotlin client in one room of the reference
server (tests/server) exchange messages.

    python tests/cross-language/python_kotlin.py CLASSPATH    (make test-cross-language)

CLASSPATH is the Kotlin package's test class path (its compiled classes, the cdylib and the
dependencies), where ``dev.ferrio.CrossLanguagePeerKt`` lives
(bindings/kotlin/src/test/kotlin/dev/ferrio/CrossLanguagePeer.kt). This script starts the
reference server and that Kotlin peer, connects a Python client (the ``ferrio`` package) in
the same process, and checks that each side received the other's message, relayed by the
server (``toRoom`` → ``room-message``). It prints PASS or FAIL lines and exits 0 or 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import ferrio

REPO = Path(__file__).resolve().parents[2]
ROOM = "cross-language"
STEP_TIMEOUT = 30.0
KOTLIN_TIMEOUT = 60.0  # the JVM's start included


def log(line: str) -> None:
    print(f"cross-language: {line}", flush=True)


class Process:
    """A child process whose stdout lines are read on the event loop."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name

    async def expect(self, prefix: str, timeout: float) -> str:
        """The rest of the next stdout line that starts with ``prefix``."""
        return await asyncio.wait_for(self._next(prefix), timeout)

    async def _next(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await self.process.stdout.readline()
            if not raw:
                raise AssertionError(f"{self.name} ended before printing {prefix}")
            line = raw.decode().strip()
            if line.startswith("FAILED"):
                raise AssertionError(f"{self.name}: {line}")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    async def stop(self) -> int:
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            return await asyncio.wait_for(self.process.wait(), 10)
        except asyncio.TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def start_server() -> tuple[Process, str, int]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(REPO / "tests" / "server" / "server.js"),
        "{}",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None if os.environ.get("FERRIO_SERVER_LOGS") else subprocess.DEVNULL,
        env={**os.environ, "FERRIO_EXIT_ON_STDIN_CLOSE": "1"},
    )
    server = Process(process, "the reference server")
    ready = json.loads(await server.expect("READY", STEP_TIMEOUT))
    return server, f"http://127.0.0.1:{ready['port']}", ready["control"]


def received_by_server(control: int) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{control}/received", data=b"{}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        events: list[dict[str, Any]] = json.loads(response.read())["events"]
    return [e for e in events if e["event"] == "toRoom"]


async def exchange(classpath: str) -> list[str]:
    """Runs the exchange; the failed checks (none: passed)."""
    failures: list[str] = []
    server, url, control = await start_server()
    log(f"reference server on {url}")
    kotlin: Process | None = None
    python = ferrio.AsyncClient()
    try:
        kotlin_process = await asyncio.create_subprocess_exec(
            "java",
            "-cp",
            classpath,
            "dev.ferrio.CrossLanguagePeerKt",
            url,
            ROOM,
            "kotlin",
            "python",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        kotlin = Process(kotlin_process, "the Kotlin client")

        from_kotlin: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        @python.on("room-message")
        def on_room_message(message: dict[str, Any]) -> None:
            if message.get("from") == "kotlin":
                from_kotlin.put_nowait(message)

        await python.connect(url)
        assert await python.call("join", ROOM, timeout=STEP_TIMEOUT) is True
        log("python joined the room")
        await kotlin.expect("JOINED", KOTLIN_TIMEOUT)
        log("kotlin joined the room")

        # Both are in the room: now each one sends its message.
        assert kotlin_process.stdin is not None
        kotlin_process.stdin.write(b"GO\n")
        await kotlin_process.stdin.drain()
        await python.emit("toRoom", (ROOM, {"from": "python", "text": "hello from python"}))

        got_python = json.loads(await kotlin.expect("RECEIVED", STEP_TIMEOUT))
        log(f"kotlin received {got_python}")
        if got_python != {"from": "python", "text": "hello from python"}:
            failures.append(f"kotlin received {got_python}")
        got_kotlin = await asyncio.wait_for(from_kotlin.get(), STEP_TIMEOUT)
        log(f"python received {got_kotlin}")
        if got_kotlin != {"from": "kotlin", "text": "hello from kotlin"}:
            failures.append(f"python received {got_kotlin}")

        relayed = await asyncio.to_thread(received_by_server, control)
        senders = sorted(e["args"][1]["from"] for e in relayed)
        if senders != ["kotlin", "python"]:
            failures.append(f"the server relayed toRoom from {senders}")
    finally:
        await python.disconnect()
        if kotlin is not None:
            status = await kotlin.stop()
            if status != 0:
                failures.append(f"the Kotlin client exited with {status}")
        await server.stop()
    return failures


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python_kotlin.py CLASSPATH", file=sys.stderr)
        return 2
    try:
        failures = asyncio.run(exchange(sys.argv[1]))
    except (AssertionError, asyncio.TimeoutError, ferrio.FerrioError, OSError) as error:
        failures = [f"{type(error).__name__}: {error}"]
    for failure in failures:
        log(f"FAIL: {failure}")
    if failures:
        log("FAIL: python <-> kotlin through the reference server")
        return 1
    log("PASS: python <-> kotlin through the reference server, each got the other's message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
