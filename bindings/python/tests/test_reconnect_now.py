"""``reconnect_now()`` skips the reconnection delay; ``recovered`` after a recoverable cut."""

from __future__ import annotations

import queue
from typing import Any

import ferrio
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
