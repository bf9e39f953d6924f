"""Reconnection after a server restart, and emits buffered until the namespace is connected."""

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


async def test_the_client_reconnects_after_a_server_restart(fresh_server: Any) -> None:
    server = fresh_server()
    client = fast_client()
    connects = Recorder()
    disconnects = Recorder()
    client.on("connect", connects)
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        first_sid = client.sid
        restart = asyncio.ensure_future(server.acontrol("restart", {"delayMs": 300}))
        assert await disconnects.next() == ("transport close",)
        await restart
        await connects.next()
        assert client.connected and client.sid != first_sid
        assert await client.call("echo", "again") == "again"
        stats = await server.acontrol("stats")
        assert stats["restarts"] == 1
    finally:
        await client.disconnect()


async def test_emits_while_reconnecting_are_sent_in_order_after_reconnection(
    fresh_server: Any,
) -> None:
    server = fresh_server()
    client = fast_client()
    connects = Recorder()
    disconnects = Recorder()
    client.on("connect", connects)
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        restart = asyncio.ensure_future(server.acontrol("restart", {"delayMs": 500}))
        await disconnects.next()
        for i in range(3):
            await client.emit("message", ("buffered", i))
        await restart
        await connects.next()
        events = await server.acontrol(
            "waitForEvent", {"nsp": "/", "event": "message", "count": 3, "timeoutMs": 10000}
        )
        assert [e["args"] for e in events["events"]] == [["buffered", i] for i in range(3)]
    finally:
        await client.disconnect()


async def test_emits_before_the_namespace_is_connected_arrive_after(server: Any) -> None:
    client = ferrio.AsyncClient()
    connecting = asyncio.ensure_future(client.connect(server.url, namespaces=["/slow"]))
    await asyncio.sleep(0)  # connect() has registered /slow and is waiting for the server
    assert not client.connected
    await client.emit("early", ("first",), namespace="/slow")
    await client.emit("early", ("second",), namespace="/slow")
    await connecting
    try:
        events = await server.acontrol(
            "waitForEvent", {"nsp": "/slow", "event": "early", "count": 2, "timeoutMs": 10000}
        )
        mine = [e["args"] for e in events["events"] if e["id"] == client.get_sid("/slow")]
        assert mine == [["first"], ["second"]]
    finally:
        await client.disconnect()
