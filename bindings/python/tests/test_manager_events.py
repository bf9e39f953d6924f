"""The manager's connection and reconnection events (``client.io.on(...)``, as the
JavaScript client's ``socket.io.on(...)``) of ``AsyncClient`` and ``Client``, against the
reference server: ``close`` with its reason, ``reconnect_attempt`` from 1 in order, then
``reconnect`` after a server restart; ``reconnect_error`` then ``reconnect_failed`` once
the server is gone."""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import ferrio
from ferrio._ffi import ferrio_ffi as ffi
from recorder import Recorder

#: Generous: a busy 2-core machine may take seconds where an idle one takes milliseconds.
WAIT = 60.0

#: Options of a client that reconnects within a fraction of a second.
FAST: dict[str, Any] = {
    "reconnection_delay": 0.05,
    "reconnection_delay_max": 0.2,
    "randomization_factor": 0,
}


class Calls:
    """A handler that records its calls and their threads, for a blocking test to await."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.threads: set[str] = set()

    def __call__(self, *args: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.put(args)

    def next(self) -> tuple[Any, ...]:
        return self.calls.get(timeout=WAIT)


def drain(calls: queue.Queue[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    taken = []
    while not calls.empty():
        taken.append(calls.get_nowait())
    return taken


def watch_until_connect_error(socket: Any, failed: threading.Event) -> threading.Thread:
    """Starts a thread reading a second stream of `socket`'s events, which sets `failed` at
    the first `connect_error` (a failed reconnection attempt's, queued just before the core
    announces that reconnection gave up), then closes that stream: an open one nobody reads
    would hold back the manager's events, as the client's own pipe does while its loop is
    held. (A second stream of the manager's events would wait for that pipe too.)"""
    events = socket.events()

    def read() -> None:
        try:
            while not events.is_closed():
                batch = events.next_batch_blocking(1024, int(WAIT * 1000))
                if any(record.kind == ffi.EventKind.CONNECT_ERROR for record in batch):
                    failed.set()
                    return
        finally:
            events.close()

    watcher = threading.Thread(target=read)
    watcher.start()
    return watcher


def test_unknown_manager_events_raise_value_error() -> None:
    client = ferrio.AsyncClient()
    with pytest.raises(ValueError, match="reconnect_attempt"):
        client.io.on("reconnecting", print)
    with pytest.raises(ValueError):
        client.io.off("connect")
    with pytest.raises(ValueError):
        ferrio.Client().io.on("message")


async def test_async_client_reports_close_attempts_and_reconnect(fresh_server: Any) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(**FAST)
    closes = Recorder()
    attempts = Recorder()
    reconnects = Recorder()
    opens = Recorder()
    client.io.on("open", opens)
    client.io.on("close", closes)
    client.io.on("reconnect_attempt", attempts)

    @client.io.on("reconnect")
    async def on_reconnect(count: int) -> None:
        reconnects(count)

    await client.connect(server.url, transports=["websocket"])
    try:
        assert await opens.next(WAIT) == ()
        restart = asyncio.ensure_future(server.acontrol("restart", {"delayMs": 300}))
        assert await closes.next(WAIT) == ("transport close",)
        (count,) = await reconnects.next(WAIT)
        await restart
        assert await opens.next(WAIT) == ()
        seen = [attempts.calls.get_nowait() for _ in range(attempts.calls.qsize())]
        assert seen == [(n,) for n in range(1, count + 1)]
        assert await client.call("echo", "again", timeout=WAIT) == "again"
    finally:
        await client.disconnect()


async def test_async_client_reports_reconnect_failed(fresh_server: Any) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(reconnection_attempts=1, **FAST)
    errors = Recorder()
    failed = Recorder()
    client.io.on("reconnect_error", errors)
    client.io.on("reconnect_failed", failed)
    reconnects = Recorder()
    client.io.on("reconnect", reconnects)
    client.io.off("reconnect")
    await client.connect(server.url, transports=["websocket"])
    await asyncio.get_running_loop().run_in_executor(None, server.stop)
    (detail,) = await errors.next(WAIT)
    assert isinstance(detail, str) and detail
    assert await failed.next(WAIT) == ()
    await asyncio.wait_for(client.wait(), WAIT)
    assert reconnects.calls.empty()
    assert not client.connected


async def test_reconnect_failed_is_handled_after_the_events_queued_before_it(
    fresh_server: Any,
) -> None:
    # A backlog of events, the connection lost and reconnection given up while the loop is
    # held by the backlog's first handler: the disconnect and the failed attempt's
    # connect_error were queued before reconnect_failed was announced, so their handlers
    # run first, however many events wait before them.
    server = fresh_server()
    backlog = 10_000
    client = ferrio.AsyncClient(reconnection_attempts=1, incoming_capacity=2 * backlog, **FAST)
    seen: list[str] = []
    attempt_failed = threading.Event()

    def first_of_backlog(n: int, _padding: str) -> None:
        seen.append("n")
        if n == 0:
            # Holds the loop until the core queued the failed attempt's connect_error.
            watcher = watch_until_connect_error(client._namespaces["/"].socket, attempt_failed)
            server.control("refuseConnections", {"refuse": True})
            server.control("closeTransport", {})
            watcher.join(WAIT)

    client.on("n", first_of_backlog)
    client.on("disconnect", lambda *_: seen.append("disconnect"))
    client.on("connect_error", lambda *_: seen.append("connect_error"))
    client.io.on("reconnect_failed", lambda: seen.append("reconnect_failed"))
    await client.connect(server.url, transports=["websocket"])
    await server.acontrol("emitMany", {"event": "n", "count": backlog})
    await asyncio.wait_for(client.wait(), WAIT)
    assert attempt_failed.is_set()
    assert seen.count("n") == backlog
    assert seen[backlog:] == ["disconnect", "connect_error", "reconnect_failed"]


def test_client_handles_reconnect_failed_after_the_events_queued_before_it(
    fresh_server: Any,
) -> None:
    # As above for the blocking client, whose handlers run on their own thread: here the
    # client's loop is held while the backlog arrives and reconnection gives up.
    server = fresh_server()
    backlog = 10_000
    sio = ferrio.Client(reconnection_attempts=1, incoming_capacity=2 * backlog, **FAST)
    seen: list[str] = []
    sio.on("n", lambda *_: seen.append("n"))
    sio.on("disconnect", lambda *_: seen.append("disconnect"))
    sio.on("connect_error", lambda *_: seen.append("connect_error"))
    sio.io.on("reconnect_failed", lambda: seen.append("reconnect_failed"))
    sio.connect(server.url, transports=["websocket"])
    attempt_failed = threading.Event()

    def hold() -> None:
        watcher = watch_until_connect_error(sio._client._namespaces["/"].socket, attempt_failed)
        server.control("emitMany", {"event": "n", "count": backlog})
        server.control("refuseConnections", {"refuse": True})
        server.control("closeTransport", {})
        watcher.join(WAIT)

    assert sio._loop is not None
    sio._loop.call_soon_threadsafe(hold)
    sio.wait()
    assert attempt_failed.is_set()
    assert seen.count("n") == backlog
    assert seen[backlog:] == ["disconnect", "connect_error", "reconnect_failed"]


async def test_a_handler_registered_while_connected_gets_the_events_that_follow(
    fresh_server: Any,
) -> None:
    # Without reconnection and without handlers the client does not watch the manager's
    # events; registering one starts watching.
    server = fresh_server()
    client = ferrio.AsyncClient(reconnection=False)
    await client.connect(server.url, transports=["websocket"])
    closes = Recorder()
    client.io.on("close", closes)
    await server.acontrol("restart", {"delayMs": 300})
    assert await closes.next(WAIT) == ("transport close",)
    await asyncio.wait_for(client.wait(), WAIT)


def test_client_reports_close_attempts_and_reconnect_on_the_handler_thread(
    fresh_server: Any,
) -> None:
    server = fresh_server()
    sio = ferrio.Client(**FAST)
    closes = Calls()
    attempts = Calls()
    reconnects = Calls()
    sio.io.on("close", closes)
    sio.io.on("reconnect_attempt")(attempts)
    sio.io.on("reconnect", reconnects)
    sio.connect(server.url, transports=["websocket"])
    try:
        with ThreadPoolExecutor(1) as pool:
            restart = pool.submit(server.control, "restart", {"delayMs": 300})
            assert closes.next() == ("transport close",)
            (count,) = reconnects.next()
            restart.result(WAIT)
        assert drain(attempts.calls) == [(n,) for n in range(1, count + 1)]
        assert sio.call("echo", "back", timeout=WAIT) == "back"
        threads = closes.threads | attempts.threads | reconnects.threads
        assert threads and all(name.startswith("ferrio-handlers") for name in threads)
    finally:
        sio.disconnect()


def test_client_reports_reconnect_failed(fresh_server: Any) -> None:
    server = fresh_server()
    sio = ferrio.Client(reconnection_attempts=1, **FAST)
    errors = Calls()
    failed = Calls()
    sio.io.on("reconnect_error", errors)
    sio.io.on("reconnect_failed", failed)
    sio.connect(server.url, transports=["websocket"])
    server.stop()
    (detail,) = errors.next()
    assert isinstance(detail, str) and detail
    assert failed.next() == ()
    sio.wait()
    assert not sio.connected
