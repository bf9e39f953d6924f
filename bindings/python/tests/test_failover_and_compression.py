"""Fallback URLs (a first server that is down) and compressed polling responses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

import ferrio


@pytest.fixture
def down_url() -> Iterator[str]:
    """The URL of a server that is down: a port bound but not listening, so connections
    to it are refused (and no other process can take the port meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_connect_uses_a_fallback_url_when_the_first_server_is_down(
    server: Any, down_url: str, transport: str
) -> None:
    client = ferrio.AsyncClient(fallback_urls=[server.url])
    await client.connect(down_url, transports=[transport])
    try:
        assert await client.call("echo", "via the fallback") == "via the fallback"
    finally:
        await client.disconnect()


def test_the_blocking_client_uses_a_fallback_url_too(server: Any, down_url: str) -> None:
    with ferrio.SimpleClient(fallback_urls=[server.url]) as client:
        client.connect(down_url, transports="websocket")
        assert client.call("echo", "blocking") == "blocking"


async def test_connect_fails_when_no_server_is_reachable(down_url: str) -> None:
    client = ferrio.AsyncClient(fallback_urls=[down_url], reconnection=False)
    with pytest.raises(ferrio.ConnectionError):
        await client.connect(down_url, transports=["websocket"], wait_timeout=5)


async def accept_encoding_of_a_polling_handshake(server: Any, **options: Any) -> str | None:
    """The ``Accept-Encoding`` the server saw on the handshake of a polling client."""
    client = ferrio.AsyncClient(**options)
    await client.connect(server.url, transports=["polling"])
    try:
        sid = client.sid
        handshakes = (await server.acontrol("handshakes"))["handshakes"]
    finally:
        await client.disconnect()
    (handshake,) = [h for h in handshakes if h["id"] == sid]
    value = handshake["headers"].get("accept-encoding")
    return None if value is None else str(value)


async def test_polling_asks_for_compressed_responses_by_default(server: Any) -> None:
    encoding = await accept_encoding_of_a_polling_handshake(server)
    assert encoding is not None and "gzip" in encoding


async def test_polling_asks_for_no_compression_when_it_is_off(server: Any) -> None:
    assert await accept_encoding_of_a_polling_handshake(server, compression=False) is None
