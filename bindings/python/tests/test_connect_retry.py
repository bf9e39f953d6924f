"""``connect(retry=True)``, as python-socketio's: a server that cannot be reached yet is
tried again with the reconnection's delays until it can, or until reconnection gives up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

import ferrio
from conftest import TestServer
from recorder import Recorder

WAIT = 60.0


@pytest.fixture
def unreachable() -> Iterator[socket.socket]:
    """A socket bound to a port but not listening yet: connections to it are refused
    until a test starts listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound


async def forward(server_port: int, bound: socket.socket) -> asyncio.Server:
    """Starts listening on ``bound``, forwarding every connection to the server."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", server_port)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    return await asyncio.start_server(serve, sock=bound)


def quick_client(**options: object) -> ferrio.AsyncClient:
    return ferrio.AsyncClient(
        reconnection_delay=0.05,
        reconnection_delay_max=0.2,
        randomization_factor=0,
        **options,  # type: ignore[arg-type]
    )


async def test_connect_with_retry_returns_once_the_server_can_be_reached(
    server: TestServer, unreachable: socket.socket
) -> None:
    client = quick_client()
    errors = Recorder()
    client.on("connect_error", errors)
    url = f"http://127.0.0.1:{unreachable.getsockname()[1]}"
    connecting = asyncio.ensure_future(client.connect(url, transports=["websocket"], retry=True))
    await errors.next()
    assert not connecting.done(), "connect() waits through the failed attempt"
    forwarder = await forward(server.port, unreachable)
    try:
        await asyncio.wait_for(connecting, WAIT)
        assert await client.call("echo", "after retrying") == "after retrying"
    finally:
        await client.disconnect()
        forwarder.close()


async def test_connect_with_retry_raises_when_reconnection_gives_up(
    unreachable: socket.socket,
) -> None:
    client = quick_client(reconnection_attempts=2)
    url = f"http://127.0.0.1:{unreachable.getsockname()[1]}"
    with pytest.raises(ferrio.ConnectionError):
        await asyncio.wait_for(client.connect(url, transports=["websocket"], retry=True), WAIT)


async def test_connect_without_retry_raises_at_the_first_failure(
    unreachable: socket.socket,
) -> None:
    client = quick_client()
    url = f"http://127.0.0.1:{unreachable.getsockname()[1]}"
    with pytest.raises(ferrio.ConnectionError):
        await asyncio.wait_for(client.connect(url, transports=["websocket"]), WAIT)
