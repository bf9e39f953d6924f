"""``auth`` as a callable, as in python-socketio: called on every connection attempt, the
reconnections included, so a program can hand the server a fresh token."""

from __future__ import annotations

import asyncio
from typing import Any

import ferrio
from recorder import Recorder


def fast_client() -> ferrio.AsyncClient:
    """A client that reconnects within a fraction of a second."""
    return ferrio.AsyncClient(
        reconnection_delay=0.05, reconnection_delay_max=0.2, randomization_factor=0
    )


async def test_an_auth_callable_is_called_again_before_every_reconnection_attempt(
    fresh_server: Any,
) -> None:
    server = fresh_server()
    token = {"token": "secret"}
    calls: list[int] = []

    def auth() -> dict[str, str]:
        calls.append(len(calls) + 1)
        return dict(token)

    await reconnect_and_see_the_fresh_token_with(server, fast_client(), auth, token, calls)


async def test_an_async_auth_callable_is_awaited_on_the_clients_loop(fresh_server: Any) -> None:
    server = fresh_server()
    token = {"token": "secret"}
    calls: list[int] = []
    loop = asyncio.get_running_loop()

    async def auth() -> dict[str, str]:
        assert asyncio.get_running_loop() is loop
        calls.append(len(calls) + 1)
        return dict(token)

    await reconnect_and_see_the_fresh_token_with(server, fast_client(), auth, token, calls)


async def reconnect_and_see_the_fresh_token_with(
    server: Any, client: ferrio.AsyncClient, auth: Any, token: dict[str, str], calls: list[int]
) -> None:
    """Connects ``client`` to ``/auth`` with the callable ``auth`` (reading ``token``),
    has the server accept only a new token, restarts the server and waits for the welcome
    that echoes the token the reconnection carried."""
    welcomes = Recorder()
    client.on("welcome", welcomes, namespace="/auth")
    await client.connect(server.url, namespaces=["/auth"], transports=["websocket"], auth=auth)
    try:
        assert await welcomes.next() == ("secret",)
        assert calls == [1]
        await server.acontrol("setToken", {"token": "fresh"})
        token["token"] = "fresh"
        await server.acontrol("restart", {"delayMs": 200})
        assert await welcomes.next() == ("fresh",)
        assert len(calls) >= 2, "called again before the reconnection"
    finally:
        await client.disconnect()


def test_the_blocking_client_calls_its_auth_callable_on_reconnection(fresh_server: Any) -> None:
    server = fresh_server()
    token = {"token": "secret"}
    calls: list[int] = []

    def auth() -> dict[str, str]:
        calls.append(len(calls) + 1)
        return dict(token)

    client = ferrio.SimpleClient(reconnection_delay=0.05, reconnection_delay_max=0.2)
    client.connect(server.url, namespace="/auth", transports="websocket", auth=auth)
    try:
        assert client.receive(timeout=10) == ["welcome", "secret"]
        server.control("setToken", {"token": "fresh"})
        token["token"] = "fresh"
        server.control("restart", {"delayMs": 200})
        assert client.receive(timeout=10) == ["welcome", "fresh"]
        assert len(calls) >= 2
    finally:
        client.disconnect()
