"""``reconnect_now()`` skips the reconnection delay; ``recovered`` after a recoverable cut;
the offline buffer counted (``buffered()``) and emptied (``clear_buffer()``)."""

from __future__ import annotations

import asyncio
import queue
import time
from typing import Any

import pytest

import ferrio
from ferrio._ffi import ferrio_ffi as ffi
from ferrio._options import Settings
from recorder import Recorder


async def test_reconnect_now_skips_an_hour_of_delay_and_the_session_is_recovered(
    fresh_server: Any,
) -> None:
    server = fresh_server({"connectionStateRecovery": True})
    client = ferrio.AsyncClient(
        reconnection_delay=3600, reconnection_delay_max=3600, randomization_factor=0
    )
    connects = Recorder()
    disconnects = Recorder()
    greetings = Recorder()
    client.on("connect", connects)
    client.on("disconnect", disconnects)
    client.on("hi", greetings)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        assert not client.recovered
        # Recovery needs an offset: the server gives one with each event.
        await client.emit("hi")
        await greetings.next()
        await client.emit("closeTransport")
        assert await disconnects.next() == ("transport close",)
        assert not client.recovered
        await client.reconnect_now()
        await connects.next()
        assert client.connected
        assert client.recovered and client.get_recovered("/")
    finally:
        await client.disconnect()


def test_the_blocking_client_reconnects_now_and_reports_recovery(fresh_server: Any) -> None:
    server = fresh_server({"connectionStateRecovery": True})
    client = ferrio.Client(
        reconnection_delay=3600, reconnection_delay_max=3600, randomization_factor=0
    )
    connects: queue.Queue[bool] = queue.Queue()
    disconnects: queue.Queue[str] = queue.Queue()
    greetings: queue.Queue[tuple[Any, ...]] = queue.Queue()
    # The state is set before the event: the handler reads whether this connect recovered.
    client.on("connect", lambda: connects.put(client.recovered))
    client.on("disconnect", lambda reason: disconnects.put(reason))
    client.on("hi", lambda *args: greetings.put(args))
    client.connect(server.url, transports=["websocket"])
    try:
        assert connects.get(timeout=10) is False
        client.emit("hi")
        greetings.get(timeout=10)
        client.emit("closeTransport")
        assert disconnects.get(timeout=10) == "transport close"
        client.reconnect_now()
        assert connects.get(timeout=10) is True
        assert client.connected
    finally:
        client.disconnect()


async def buffered_becomes(client: ferrio.AsyncClient, emits: int) -> ferrio.BufferedEmits:
    """The buffer once it holds ``emits``: the core counts the emits it has taken in."""

    async def poll() -> ferrio.BufferedEmits:
        while (buffered := await client.buffered()).emits != emits:
            await asyncio.sleep(0.01)
        return buffered

    return await asyncio.wait_for(poll(), 10)


async def test_emits_while_disconnected_are_counted_and_clearing_drops_them(
    fresh_server: Any,
) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(
        reconnection_delay=3600, reconnection_delay_max=3600, randomization_factor=0
    )
    connects = Recorder()
    disconnects = Recorder()
    client.on("connect", connects)
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        assert await buffered_becomes(client, 0) == ferrio.BufferedEmits(0, 0)
        await client.emit("closeTransport")
        assert await disconnects.next() == ("transport close",)
        for i in range(3):
            await client.emit("message", ("dropped", i))
        assert (await buffered_becomes(client, 3)).bytes > 0
        await client.clear_buffer()
        assert await buffered_becomes(client, 0) == ferrio.BufferedEmits(0, 0)
        await client.emit("message", ("kept",))
        assert (await buffered_becomes(client, 1)).bytes > 0
        await client.reconnect_now()
        await connects.next()
        events = await server.acontrol(
            "waitForEvent", {"nsp": "/", "event": "message", "count": 1, "timeoutMs": 10000}
        )
        assert [e["args"] for e in events["events"]] == [["kept"]]
    finally:
        await client.disconnect()


def test_the_blocking_client_counts_and_clears_its_buffer(fresh_server: Any) -> None:
    server = fresh_server()
    client = ferrio.Client(
        reconnection_delay=3600, reconnection_delay_max=3600, randomization_factor=0
    )
    disconnects: queue.Queue[str] = queue.Queue()
    client.on("disconnect", lambda reason: disconnects.put(reason))
    client.connect(server.url, transports=["websocket"])
    try:
        client.emit("closeTransport")
        assert disconnects.get(timeout=10) == "transport close"
        client.emit("message", ("dropped", 0))
        client.emit("message", ("dropped", 1))
        deadline = time.monotonic() + 10
        while client.buffered().emits != 2:
            assert time.monotonic() < deadline, "the 2 emits are never counted"
            time.sleep(0.01)
        client.clear_buffer()
        while client.buffered() != ferrio.BufferedEmits(0, 0):
            assert time.monotonic() < deadline, "the buffer is never emptied"
            time.sleep(0.01)
    finally:
        client.disconnect()


async def test_a_full_buffer_with_the_reject_policy_refuses_with_buffer_full_error(
    fresh_server: Any,
) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(
        reconnection_delay=3600,
        reconnection_delay_max=3600,
        randomization_factor=0,
        max_buffered_emits=2,
        buffer_policy="reject",
    )
    disconnects = Recorder()
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await client.emit("closeTransport")
        assert await disconnects.next() == ("transport close",)
        await client.emit("message", ("kept", 0))
        await client.emit("message", ("kept", 1))
        await buffered_becomes(client, 2)
        with pytest.raises(ferrio.BufferFullError):
            await client.call("echo", "third")
        assert (await client.buffered()).emits == 2
    finally:
        await client.disconnect()


def test_the_buffer_options_default_to_the_core_and_reach_the_native_options() -> None:
    def native(**given: Any) -> Any:
        return Settings(**given).options(
            "", headers=None, auth=None, transports=None, socketio_path=None, wait_timeout=None
        )

    core = ffi.default_client_options("")
    defaults = native()
    assert defaults.max_buffered_emits == core.max_buffered_emits
    assert defaults.max_buffered_bytes == core.max_buffered_bytes
    assert defaults.buffer_policy == core.buffer_policy == ffi.BufferPolicy.REJECT
    given = native(max_buffered_emits=5, max_buffered_bytes=100, buffer_policy="drop_oldest")
    assert (given.max_buffered_emits, given.max_buffered_bytes) == (5, 100)
    assert given.buffer_policy == ffi.BufferPolicy.DROP_OLDEST
    with pytest.raises(ValueError, match="buffer_policy"):
        Settings(buffer_policy="newest")  # type: ignore[arg-type]
