"""A chat client on asyncio: joins a room, says hello, prints the room's messages.

    cargo run -p ferrio-cli -- serve                   # terminal 1: a local server
    pip install ./bindings/python                      # once (builds the Rust library)
    python examples/python/chat.py --name ada          # terminal 2
    python examples/python/chat.py --name bob          # terminal 3: ada sees bob's hello

Usage: chat.py [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]; URL defaults
to http://127.0.0.1:3000. It exits 0 after N messages received (default: never) and 1 when
the timeout comes first, so it doubles as a smoke test.

Any Socket.IO server with the events of `ferrio serve` works: `join(room)` answered with an
acknowledgement, and `broadcast(room, message)` sent to the room as `message`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import ferrio


async def chat(url: str, name: str, room: str, messages: int | None) -> None:
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client = ferrio.AsyncClient()

    @client.on("message")
    def on_message(message: dict[str, Any]) -> None:  # one JSON object: {"from", "text"}
        received.put_nowait(message)

    @client.event
    def disconnect(reason: str) -> None:
        print(f"disconnected: {reason}")

    await client.connect(url)  # polling first, then the upgrade to WebSocket
    try:
        print(f"connected to {url} as {name}")
        # Join the room; the server acknowledges with `true`.
        if await client.call("join", room, timeout=10) is not True:
            raise RuntimeError(f"the server did not let us join {room}")
        # A tuple is several arguments: the room, then the message.
        await client.emit("broadcast", (room, {"from": name, "text": f"hello from {name}"}))
        count = 0
        while messages is None or count < messages:
            message = await received.get()
            print(f"[{room}] {message['from']}: {message['text']}")
            count += 1
    finally:
        await client.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description="A Ferrio chat client (asyncio).")
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:3000")
    parser.add_argument("--name", default="pythonista")
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--messages", type=int, help="exit 0 after N messages")
    parser.add_argument("--timeout", type=float, help="exit 1 if they have not come by then")
    options = parser.parse_args()
    try:
        asyncio.run(
            asyncio.wait_for(
                chat(options.url, options.name, options.room, options.messages), options.timeout
            )
        )
    except asyncio.TimeoutError:
        print(f"chat.py: timed out after {options.timeout} s waiting for messages", file=sys.stderr)
        return 1
    except ferrio.FerrioError as error:
        print(f"chat.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
