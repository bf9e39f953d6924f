"""Throughput of the asyncio client against the reference server over WebSocket.

    python bench/throughput.py [N]

Send: N emits (``countMe``), then one ``call("count")`` that returns once the server has
handled all of them. Receive: another process (the blocking client) sends N ``toRoom``
emits, which the server turns into N ``room-message`` events to this client. Wall and CPU
time of this process are reported. Needs ``npm ci --prefix tests/server`` (make deps-node).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import ferrio

SERVER_JS = Path(__file__).resolve().parents[3] / "tests" / "server" / "server.js"

SENDER = """
import sys, ferrio
url, n = sys.argv[1], int(sys.argv[2])
with ferrio.SimpleClient(reconnection=False) as client:
    client.connect(url, transports=["websocket"])
    for i in range(n):
        client.emit("toRoom", ("bench", i))
    client.call("count", timeout=120)
"""


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    server = subprocess.Popen(
        ["node", str(SERVER_JS), json.dumps({"transports": ["websocket"]})],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "FERRIO_EXIT_ON_STDIN_CLOSE": "1"},
    )
    assert server.stdout is not None
    for raw in server.stdout:
        line = raw.decode()
        if line.startswith("READY "):
            return server, f"http://127.0.0.1:{json.loads(line[6:])['port']}"
    raise RuntimeError("the server did not start")


def report(what: str, n: int, wall: float, cpu: float) -> None:
    print(
        f"{what}: {n} in {wall:.3f} s wall ({n / wall:,.0f}/s, {wall / n * 1e6:.1f} us each),"
        f" {cpu / n * 1e6:.1f} us CPU each"
    )


async def send(url: str, n: int) -> None:
    async with ferrio.AsyncClient(url) as client:
        await client.call("echo", "warm up")
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            await client.emit("countMe")
        count = await client.call("count", timeout=120)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert count == n, count
        report("send", n, wall, cpu)


class Dropped(logging.Handler):
    """Counts the events the client reports as dropped (a consumer slower than the server)."""

    def __init__(self, on_drop: Callable[[int], None]) -> None:
        super().__init__()
        self.on_drop = on_drop

    def emit(self, record: logging.LogRecord) -> None:
        if "dropped" in record.getMessage():
            self.on_drop(int(record.args[1]))  # type: ignore[index]


async def receive(url: str, n: int) -> None:
    client = ferrio.AsyncClient()
    done = asyncio.get_running_loop().create_future()
    received = dropped = 0

    def check() -> None:
        if received + dropped >= n and not done.done():
            done.set_result(None)

    def on_drop(count: int) -> None:
        nonlocal dropped
        dropped += count
        check()

    logging.getLogger("ferrio").addHandler(Dropped(on_drop))
    logging.getLogger("ferrio").propagate = False

    @client.on("room-message")
    def on_message(i: int) -> None:
        nonlocal received
        received += 1
        if received + dropped >= n:
            check()

    await client.connect(url, transports=["websocket"])
    try:
        await client.call("join", "bench")
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER, url, str(n)
        )
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.wait_for(done, 300)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await sender.wait()
        report("receive", received, wall, cpu)
        if dropped:
            print(f"  ({dropped} events dropped: the sender outran this consumer)")
    finally:
        await client.disconnect()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    server, url = start_server()
    try:
        asyncio.run(send(url, n))
        asyncio.run(receive(url, n))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
