"""Class-based namespaces (``AsyncClientNamespace``), as python-socketio's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import ferrio
from conftest import TestServer
from recorder import Recorder

WAIT = 60.0


class Recording(ferrio.AsyncClientNamespace):
    """Records what reaches its methods; answers ``question`` with twice its number."""

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.seen: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def on_connect(self) -> None:
        self.seen.put_nowait(("connect",))

    def on_disconnect(self, reason: str) -> None:
        self.seen.put_nowait(("disconnect", reason))

    def on_hi(self) -> None:
        self.seen.put_nowait(("hi",))

    def on_auth(self, auth: Any) -> None:
        self.seen.put_nowait(("auth", auth))

    async def on_question(self, n: int) -> int:
        return n * 2

    async def next(self) -> tuple[Any, ...]:
        return await asyncio.wait_for(self.seen.get(), WAIT)


async def test_a_namespace_class_gets_its_events_and_answers_acks(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    chat = Recording()
    custom = Recording("/custom")
    client.register_namespace(chat)
    client.register_namespace(custom)
    answers = Recorder()
    client.on("answer", answers)
    await client.connect(server.url, auth={"token": "t"})
    try:
        assert sorted(client.namespaces) == ["/", "/custom"]
        assert await chat.next() == ("connect",)
        assert await custom.next() == ("connect",)
        assert await custom.next() == ("auth", {"token": "t"})
        await chat.emit("hi")
        assert await chat.next() == ("hi",)
        await chat.emit("askMe", 21)
        assert await answers.next() == (42,)
        assert await chat.call("echo", "via the class") == "via the class"
    finally:
        await client.disconnect()
    assert await chat.next() == ("disconnect", "io client disconnect")


async def test_a_handler_registered_with_on_comes_before_the_class(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    main = Recording()
    client.register_namespace(main)
    hi = Recorder()
    client.on("hi", hi)
    await client.connect(server.url)
    try:
        assert await main.next() == ("connect",)
        await main.emit("hi")
        assert await hi.next() == ()
        await main.send("text")
        assert await main.call("echo", 1) == 1
        assert main.seen.empty(), "hi went to the handler registered with on()"
    finally:
        await client.disconnect()


async def test_on_disconnect_may_take_no_reason(server: TestServer) -> None:
    disconnected = asyncio.Event()

    class Quiet(ferrio.AsyncClientNamespace):
        def on_disconnect(self) -> None:
            disconnected.set()

    client = ferrio.AsyncClient()
    client.register_namespace(Quiet())
    await client.connect(server.url)
    await client.disconnect()
    await asyncio.wait_for(disconnected.wait(), WAIT)


def test_only_an_async_client_namespace_can_be_registered() -> None:
    with pytest.raises(TypeError):
        ferrio.AsyncClient().register_namespace(object())  # type: ignore[arg-type]
