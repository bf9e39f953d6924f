"""python-socketio habits against the reference server: ``wait()`` returning when the
connection has ended for good, ``once``/``off``, the ``"*"`` catch-all, ``transport()``
(the blocking event-driven ``Client``'s are in ``test_client.py``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ferrio
from conftest import TestServer
from recorder import Recorder

#: Generous: a busy 2-core machine may take seconds where an idle one takes milliseconds.
WAIT = 60.0


def fast_client(**options: Any) -> ferrio.AsyncClient:
    """A client that reconnects within a fraction of a second."""
    return ferrio.AsyncClient(
        reconnection_delay=0.05, reconnection_delay_max=0.2, randomization_factor=0, **options
    )


async def test_wait_returns_after_disconnect(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    waiting = asyncio.ensure_future(client.wait())
    await client.disconnect()
    await asyncio.wait_for(waiting, WAIT)


async def test_wait_returns_once_the_server_disconnected_every_namespace(
    server: TestServer,
) -> None:
    client = fast_client()
    reasons = Recorder()
    custom_reasons = Recorder()
    client.on("disconnect", reasons)
    client.on("disconnect", custom_reasons, namespace="/custom")
    await client.connect(server.url, namespaces=["/", "/custom"])
    waiting = asyncio.ensure_future(client.wait())
    try:
        custom_sid = client.get_sid("/custom")
        await server.acontrol("disconnect", {"nsp": "/custom", "id": custom_sid})
        assert await custom_reasons.next() == ("io server disconnect",)
        # One namespace left: the connection goes on.
        assert not waiting.done()
        assert await client.call("echo", "still here") == "still here"
        await client.emit("disconnectMe")
        assert await reasons.next() == ("io server disconnect",)
        await asyncio.wait_for(waiting, WAIT)
        assert not client.connected and client.sid is None and client.transport() is None
        # Released: the client connects again, as a python-socketio client does.
        await client.connect(server.url)
        assert await client.call("echo", "again") == "again"
    finally:
        await client.disconnect()


async def test_wait_returns_when_reconnection_gives_up(fresh_server: Any) -> None:
    server = fresh_server()
    client = fast_client(reconnection_attempts=2)
    reasons = Recorder()
    client.on("disconnect", reasons)
    events = client.events()
    await client.connect(server.url, transports=["websocket"])
    waiting = asyncio.ensure_future(client.wait())
    try:
        await asyncio.to_thread(server.stop)
        assert await reasons.next() == ("transport close",)
        await asyncio.wait_for(waiting, WAIT)
        assert not client.connected
        # The iterators of events() end with the connection.
        assert [event async for event in events] == []
    finally:
        await client.disconnect()


async def test_wait_returns_when_the_connection_is_lost_without_reconnection(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient(reconnection=False)
    reasons = Recorder()
    client.on("disconnect", reasons)
    await client.connect(server.url, transports=["websocket"])
    waiting = asyncio.ensure_future(client.wait())
    try:
        await client.emit("closeTransport")
        assert await reasons.next() == ("transport close",)
        await asyncio.wait_for(waiting, WAIT)
        assert not client.connected
    finally:
        await client.disconnect()


async def test_once_runs_for_the_next_event_only(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    first = Recorder()
    others = Recorder()
    connects = Recorder()
    client.once("message-back", first)
    client.on("*", others)

    @client.once("connect")
    async def connect() -> None:
        connects()

    await client.connect(server.url)
    try:
        await connects.next()
        for n in range(3):
            await client.emit("message", n)
        assert await first.next() == (0,)
        # Once run, the handler is gone: the catch-all gets the next ones.
        assert await others.next() == ("message-back", 1)
        assert await others.next() == ("message-back", 2)
        assert first.calls.empty()
    finally:
        await client.disconnect()


async def test_off_removes_the_handler_given_or_any(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    handler = Recorder()
    unrelated = Recorder()
    others = Recorder()
    client.on("message-back", handler)
    client.on("*", others)
    client.off("message-back", unrelated)  # not the handler of the event: kept
    await client.connect(server.url)
    try:
        await client.emit("message", "a")
        assert await handler.next() == ("a",)
        client.off("message-back", handler)
        await client.emit("message", "b")
        assert await others.next() == ("message-back", "b")

        client.on("message-back", handler)
        client.off("message-back")  # without a handler: whichever is registered
        await client.emit("message", "c")
        assert await others.next() == ("message-back", "c")
        assert handler.calls.empty() and unrelated.calls.empty()

        # off("*") removes the catch-all. The server answers in order, so "d" was
        # dispatched (to nobody) once the "hi" after it has arrived.
        hi = Recorder()
        client.on("hi", hi)
        client.off("*")
        await client.emit("message", "d")
        await client.emit("hi")
        assert await hi.next() == ()
        assert others.calls.empty()
    finally:
        await client.disconnect()


async def test_the_catch_all_gets_events_without_a_handler_and_answers_acks(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    hi = Recorder()
    caught: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    answers = Recorder()
    client.on("hi", hi)
    client.on("answer", answers)

    @client.on("*")
    async def catch_all(event: str, *args: Any) -> Any:
        caught.put_nowait((event, *args))
        if event == "question":
            return args[0] * 2
        return None

    await client.connect(server.url)
    try:
        await client.emit("hi")
        assert await hi.next() == ()
        await client.emit("message", ("x", {"y": 1}))
        assert await asyncio.wait_for(caught.get(), WAIT) == ("message-back", "x", {"y": 1})
        # The server asks for an acknowledgement of "question": the catch-all's return
        # value answers it, and the server sends that answer back as "answer".
        await client.emit("askMe", 21)
        assert await asyncio.wait_for(caught.get(), WAIT) == ("question", 21)
        assert await answers.next() == (42,)
        # "connect", "disconnect" and events with a handler of their own never reach it.
        assert caught.empty()
    finally:
        await client.disconnect()
    assert caught.empty()


async def test_namespace_catch_all_handlers_get_the_namespace(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    connects = Recorder()
    caught = Recorder()
    hi = Recorder()
    client.on("connect", connects, namespace="*")
    client.on("*", caught, namespace="*")
    client.on("hi", hi, namespace="*")
    await client.connect(server.url, namespaces=["/", "/custom"])
    try:
        assert sorted([await connects.next(), await connects.next()]) == [("/",), ("/custom",)]
        # /custom greets every connection with "auth" and the handshake's auth payload.
        assert await caught.next() == ("auth", "/custom", {})
        await client.emit("hi")
        assert await hi.next() == ("/",)
        await client.emit("message", 7)
        assert await caught.next() == ("message-back", "/", 7)
    finally:
        await client.disconnect()


async def test_namespace_catch_all_handlers_do_not_choose_the_namespaces(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    client.on("*", Recorder(), namespace="*")
    await client.connect(server.url)
    try:
        assert client.namespaces == ["/"]
    finally:
        await client.disconnect()


def test_the_blocking_client_reports_its_transport_with_a_method(server: TestServer) -> None:
    with ferrio.Client() as client:
        assert client.transport() is None
        client.connect(server.url, transports=["polling"])
        assert client.transport() == "polling"


def test_the_simple_client_reports_its_transport_with_a_property(server: TestServer) -> None:
    with ferrio.SimpleClient() as client:
        assert client.transport == ""
        client.connect(server.url, transports=["websocket"])
        assert client.transport == "websocket"


def test_python_socketios_logger_options_are_accepted(server: TestServer) -> None:
    ferrio_logger = logging.getLogger("ferrio")
    level, handlers = ferrio_logger.level, list(ferrio_logger.handlers)
    try:
        client = ferrio.Client(logger=True, engineio_logger=True)
        assert ferrio_logger.level == logging.INFO
        client.connect(server.url)
        try:
            assert client.call("echo", "logged") == "logged"
        finally:
            client.disconnect()
    finally:
        ferrio_logger.setLevel(level)
        ferrio_logger.handlers[:] = handlers
