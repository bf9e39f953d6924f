"""Ferrio's extras over python-socketio's API: room intents (``join_room``, joined again
after a reconnection that did not recover the session), volatile emits (dropped, never
buffered, while the connection cannot take them), ``retries`` (an emit whose ack is lost in
a cut is sent again) and the outgoing catch-all (``on_any_outgoing``), against the reference
server."""

from __future__ import annotations

import asyncio
import queue
from typing import Any

import pytest

import ferrio
from conftest import TestServer
from ferrio._ffi import ferrio_ffi as ffi
from ferrio._options import Settings
from recorder import Recorder

#: Quick reconnection, so that a cut is followed by a new connection at once.
QUICK: dict[str, Any] = {"reconnection_delay": 0.05, "reconnection_delay_max": 0.3}
#: No reconnection by itself within a test: ``reconnect_now()`` ends the disconnection.
PATIENT: dict[str, Any] = {
    "reconnection_delay": 3600,
    "reconnection_delay_max": 3600,
    "randomization_factor": 0,
}


async def test_a_room_is_joined_again_after_a_reconnection_that_did_not_recover(
    fresh_server: Any,
) -> None:
    server: TestServer = fresh_server()
    client = ferrio.AsyncClient(**QUICK)
    room = Recorder()
    disconnects = Recorder()
    client.on("room-message", room)
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await client.join_room("lobby")
        joined = await server.acontrol("waitForEvent", {"event": "join"})
        assert [e["args"] for e in joined["events"]] == [["lobby"]]
        await server.acontrol("emitToRoom", {"room": "lobby", "event": "room-message", "args": [1]})
        assert await room.next() == (1,)

        # The server forgets rooms with the connection; the client joins again.
        await server.acontrol("closeTransport")
        assert await disconnects.next() == ("transport close",)
        await server.acontrol("waitForEvent", {"event": "join", "count": 2, "timeoutMs": 30000})
        assert not client.recovered
        await server.acontrol("emitToRoom", {"room": "lobby", "event": "room-message", "args": [2]})
        assert await room.next() == (2,)

        await client.leave_room("lobby")
        await server.acontrol("waitForEvent", {"event": "leave"})
        await server.acontrol("emitToRoom", {"room": "lobby", "event": "room-message", "args": [3]})
        await server.acontrol("emit", {"event": "room-message", "args": ["everyone"]})
        # Events arrive in order: the one to the room left would have come first.
        assert await room.next() == ("everyone",)
    finally:
        await client.disconnect()


async def test_join_room_needs_a_connected_namespace(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    with pytest.raises(ferrio.BadNamespaceError):
        await client.join_room("lobby")
    await client.connect(server.url, transports=["websocket"])
    try:
        with pytest.raises(ferrio.BadNamespaceError):
            await client.leave_room("lobby", namespace="/custom")
    finally:
        await client.disconnect()


async def test_a_volatile_emit_while_disconnected_is_dropped_and_a_plain_one_buffered(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient(**PATIENT)
    back = Recorder()
    disconnects = Recorder()
    client.on("message-back", back)
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        # Connected (WebSocket: always writable): a volatile emit is sent.
        await client.emit("message", "live", volatile=True)
        assert await back.next() == ("live",)
        await client.emit("closeTransport")
        assert await disconnects.next() == ("transport close",)
        await client.emit("message", ("volatile", b"\x01"), volatile=True)
        await client.emit("message", "buffered")
        # The core counts what it has taken in, in order: once the plain emit shows, the
        # volatile one before it was dropped or it would show too.
        assert await buffered_at_least(client, 1) == 1
        await client.reconnect_now()
        assert await back.next() == ("buffered",)
        await client.emit("message", "after")
        # In order: a volatile emit that had been kept would have come before.
        assert await back.next() == ("after",)
        with pytest.raises(ValueError, match="volatile"):
            await client.emit("echo", 1, callback=print, volatile=True)
    finally:
        await client.disconnect()


async def buffered_at_least(client: ferrio.AsyncClient, emits: int) -> int:
    """The emits in the offline buffer once there are ``emits`` or more (the core counts
    an emit a moment after it was made; no event says when)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (buffered := (await client.buffered()).emits) < emits:
        assert loop.time() < deadline, f"{emits} buffered emits never counted"
        await asyncio.sleep(0.01)
    return buffered


async def test_retries_send_an_emit_whose_ack_was_lost_in_a_cut_again(
    fresh_server: Any,
) -> None:
    server: TestServer = fresh_server()
    client = ferrio.AsyncClient(retries=2, **QUICK)
    disconnects = Recorder()
    client.on("disconnect", disconnects)
    await client.connect(server.url, transports=["websocket"])
    try:
        # `cutOnce` closes the connection the first time instead of acknowledging.
        assert await client.call("cutOnce", ("call", 1)) == ("call", 1)
        assert await disconnects.next() == ("transport close",)
        # A plain emit goes through the same at-least-once queue: the next call waits
        # behind it until the server has acknowledged it.
        await client.emit("cutOnce", "emit")
        assert await client.call("echo", "after") == "after"
        events = (await server.acontrol("received", {"nsp": "/"}))["events"]
        tries = [(e["event"], e["args"], e["ack"]) for e in events if e["event"] == "cutOnce"]
        assert tries == [("cutOnce", ["call", 1], True)] * 2 + [("cutOnce", ["emit"], True)] * 2
        calls = [e["id"] for e in events if e["event"] == "cutOnce"]
        assert calls[0] != calls[1], "the second try goes over the new connection"
    finally:
        await client.disconnect()

    # Without retries the ack is lost with the connection.
    once = ferrio.AsyncClient(**QUICK)
    await once.connect(server.url, transports=["websocket"])
    try:
        with pytest.raises(ferrio.DisconnectedError):
            await once.call("cutOnce", "no retries")
    finally:
        await once.disconnect()


async def test_the_outgoing_catch_all_sees_every_emit_in_order(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    outgoing = Recorder()
    client.on_any_outgoing(outgoing)
    admin = Recorder()
    client.on_any_outgoing(admin, namespace="/custom")
    await client.connect(server.url, transports=["websocket"], namespaces=["/", "/custom"])
    try:
        await client.emit("message", ("x", 1))
        assert await client.call("echo", ("y", b"\x01\x02")) == ("y", b"\x01\x02")
        await client.emit("position", (48.85, 2.35), volatile=True)
        await client.emit("hi", namespace="/custom")
        assert await outgoing.next() == ("message", "x", 1)
        assert await outgoing.next() == ("echo", "y", b"\x01\x02")
        assert await outgoing.next() == ("position", 48.85, 2.35)
        assert await admin.next() == ("hi",)
        for n in range(300):
            await client.emit("tally", n)
        assert [await outgoing.next() for _ in range(300)] == [("tally", n) for n in range(300)]

        client.off_any_outgoing()
        await client.emit("unseen")
        await client.call("echo", "unseen either")
        await client.emit("hi", namespace="/custom")
        assert await admin.next() == ("hi",)
        assert outgoing.calls.empty()
    finally:
        await client.disconnect()


async def test_an_outgoing_catch_all_registered_while_connected_and_async(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    seen: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    await client.connect(server.url, transports=["polling"])
    try:

        @client.on_any_outgoing
        async def record(event: str, *args: Any) -> None:
            await seen.put((event, *args))

        await client.emit("message", "a")
        await client.emit("message", "b")
        assert await asyncio.wait_for(seen.get(), 10) == ("message", "a")
        assert await asyncio.wait_for(seen.get(), 10) == ("message", "b")
    finally:
        await client.disconnect()


def test_the_blocking_client_joins_rooms_emits_volatile_and_reports_outgoing(
    server: TestServer,
) -> None:
    client = ferrio.Client()
    room: queue.Queue[tuple[Any, ...]] = queue.Queue()
    outgoing: queue.Queue[tuple[Any, ...]] = queue.Queue()
    client.on("room-message", lambda *args: room.put(args))
    client.on("message-back", lambda *args: room.put(("back", *args)))

    @client.on_any_outgoing
    def sent(*call: Any) -> None:
        outgoing.put(call)

    client.connect(server.url, transports=["websocket"])
    try:
        client.join_room("blocking")
        # Acknowledged after the join, which went first on the same connection.
        assert client.call("echo", "joined") == "joined"
        server.control("emitToRoom", {"room": "blocking", "event": "room-message", "args": ["in"]})
        assert room.get(timeout=10) == ("in",)
        client.emit("message", "v", volatile=True)
        assert room.get(timeout=10) == ("back", "v")
        assert outgoing.get(timeout=10) == ("echo", "joined")
        assert outgoing.get(timeout=10) == ("message", "v")
        client.off_any_outgoing()
        client.leave_room("blocking")
    finally:
        client.disconnect()


def test_the_simple_client_joins_rooms_and_emits_volatile(server: TestServer) -> None:
    with ferrio.SimpleClient() as client:
        client.connect(server.url, transports=["websocket"])
        client.join_room("simple")
        assert client.call("echo", "joined") == "joined"
        server.control("emitToRoom", {"room": "simple", "event": "room-message", "args": ["r"]})
        assert client.receive(timeout=10) == ["room-message", "r"]
        client.emit("message", "v", volatile=True)
        assert client.receive(timeout=10) == ["message-back", "v"]
        client.leave_room("simple")


def test_retries_and_room_events_default_to_the_cores() -> None:
    core = ffi.default_client_options("")
    defaults = Settings().options(
        "http://x", headers=None, auth=None, transports=None, socketio_path=None, wait_timeout=None
    )
    assert (defaults.retries, defaults.room_join_event, defaults.room_leave_event) == (
        core.retries,
        core.room_join_event,
        core.room_leave_event,
    )
    given = Settings(retries=3, room_join_event="enter", room_leave_event="exit").options(
        "http://x", headers=None, auth=None, transports=None, socketio_path=None, wait_timeout=None
    )
    assert (given.retries, given.room_join_event, given.room_leave_event) == (3, "enter", "exit")
