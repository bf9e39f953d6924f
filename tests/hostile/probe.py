"""The Python client of the hostile-server fixture (tests/hostile): the ``ferrio`` package.

Connects an ``AsyncClient`` (reconnection off unless ``--reconnect``) to one case,
optionally emits a load, waits until the connection ends or the deadline passes,
disconnects and prints one JSON line saying what happened. run.py runs it with the Python
that has the package installed and measures its peak memory; it never decides pass or
fail itself.

    python probe.py URL --transport polling|websocket [--deadline S] [--connect-timeout S]
        [--emit N] [--emit-size BYTES] [--stall] [--reconnect]

``--stall``: the first event's handler blocks the event loop for the deadline (an
application busy elsewhere), so events wait in the package's native queue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import ferrio


async def run(args: argparse.Namespace) -> dict[str, Any]:
    client = ferrio.AsyncClient(reconnection=args.reconnect)
    outcome: dict[str, Any] = {
        "connected": False,
        "connect_error": None,
        "disconnect": None,
        "events": 0,
        "emitted": 0,
    }
    ended = asyncio.Event()
    stalled = False
    closing = False

    @client.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        # The probe's own disconnect() at the deadline is not how the connection ended.
        if outcome["disconnect"] is None and not closing:
            outcome["disconnect"] = str(reason)
        ended.set()

    @client.on("*")
    def on_any(name: str, *event_args: Any) -> None:
        nonlocal stalled
        outcome["events"] += 1
        if args.stall and not stalled:
            stalled = True
            time.sleep(args.deadline)  # the application is busy: the loop is blocked

    try:
        await client.connect(
            args.url, transports=[args.transport], wait_timeout=args.connect_timeout
        )
    except ferrio.FerrioError as error:
        outcome["connect_error"] = f"{type(error).__name__}: {error}"
        await client.disconnect()
        return outcome
    outcome["connected"] = True

    async def emit_load() -> None:
        payload = "x" * args.emit_size
        for _ in range(args.emit):
            await client.emit("load", payload)
            outcome["emitted"] += 1

    emitter = asyncio.create_task(emit_load()) if args.emit else None
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ended.wait(), args.deadline)
    if emitter is not None:
        emitter.cancel()
        with contextlib.suppress(asyncio.CancelledError, ferrio.FerrioError):
            await emitter
    closing = True
    await client.disconnect()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--transport", required=True, choices=["polling", "websocket"])
    parser.add_argument("--deadline", type=float, default=4.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--emit", type=int, default=0)
    parser.add_argument("--emit-size", type=int, default=1024)
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--reconnect", action="store_true")
    outcome = asyncio.run(run(parser.parse_args()))
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
