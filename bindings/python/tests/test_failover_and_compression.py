"""Fallback URLs (a first server that is down), compressed polling responses and
permessage-deflate on the WebSocket."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
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


def chat_history() -> list[dict[str, Any]]:
    """400 chat messages: about 36 KB of repetitive JSON."""
    return [
        {
            "id": n,
            "room": "general",
            "user": ("alice", "bob", "carol")[n % 3],
            "text": "hello everyone, is the build green again?",
            "sentAt": 1_765_000_000_000 + n * 1000,
        }
        for n in range(400)
    ]


async def websocket_echo_of_chat_history(
    fresh_server: Callable[..., Any], **options: Any
) -> tuple[str | None, str]:
    """Echoes the chat history with an ack over WebSocket to a server with permessage-deflate
    and checks that it comes back intact; returns the ``Sec-WebSocket-Extensions`` the upgrade
    request offered and the extensions the server accepted."""
    server = fresh_server({"transports": ["websocket"], "perMessageDeflate": True})
    client = ferrio.AsyncClient(**options)
    await client.connect(server.url, transports=["websocket"])
    try:
        history = chat_history()
        assert await client.call("echo", history) == history
        (seen,) = (await server.acontrol("clients"))["namespaces"]["/"]
        (handshake,) = (await server.acontrol("handshakes"))["handshakes"]
    finally:
        await client.disconnect()
    offered = handshake["headers"].get("sec-websocket-extensions")
    return None if offered is None else str(offered), str(seen["extensions"])


async def test_websocket_negotiates_permessage_deflate_by_default(
    fresh_server: Callable[..., Any],
) -> None:
    offered, accepted = await websocket_echo_of_chat_history(fresh_server)
    assert offered == "permessage-deflate; client_max_window_bits"
    assert accepted == "permessage-deflate"


async def test_websocket_offers_no_extension_when_compression_is_off(
    fresh_server: Callable[..., Any],
) -> None:
    offered, accepted = await websocket_echo_of_chat_history(fresh_server, compression=False)
    assert offered is None
    assert accepted == ""
