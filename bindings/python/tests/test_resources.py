"""Deterministic release: no thread, native thread or runtime task outlives a closed client."""

from __future__ import annotations

import asyncio
import gc
import os
import threading

import ferrio
from conftest import TestServer, needs_event_pipe, until
from ferrio._ffi import ferrio_ffi as ffi
from recorder import Recorder


def threads_started_since(before: list[threading.Thread]) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread not in before]


def native_threads() -> int:
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0


async def test_no_thread_or_task_outlives_a_disconnected_client(server: TestServer) -> None:
    await asyncio.to_thread(lambda: None)  # start the loop's executor before the baseline
    # The FFI's runtime is made by the first client of the process and lives as long as the
    # process: one client before the baseline, so that the test passes alone as in the suite.
    warm_up = ferrio.AsyncClient()
    await warm_up.connect(server.url)
    await warm_up.disconnect()
    del warm_up
    gc.collect()
    threads_before = threading.enumerate()
    native_before = native_threads()
    for _ in range(3):
        client = ferrio.AsyncClient()
        client.on("message-back", Recorder())
        await client.connect(server.url, namespaces=["/", "/custom"])
        assert await client.call("echo", 1) == 1
        await client.disconnect()
    del client
    gc.collect()
    # Only threads started here count: one an earlier test left may still be ending.
    assert threads_started_since(threads_before) == []
    assert ffi.live_delivery_threads() == 0
    await until(lambda: ffi.live_runtime_tasks() == 0)
    await until(lambda: native_threads() <= native_before)


def test_no_thread_outlives_a_closed_sync_client(server: TestServer) -> None:
    threads_before = threading.enumerate()
    with ferrio.SimpleClient(server.url) as client:
        client.emit("message", 1)
        assert client.receive(timeout=10) == ["message-back", 1]
    assert threads_started_since(threads_before) == []
    assert ffi.live_delivery_threads() == 0


class Listener(ffi.EventListener):  # type: ignore[misc]
    """A native listener: batches arrive on the subscription's delivery thread."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.threads: set[int] = set()
        self.got = threading.Event()

    def on_events(self, batch: list[ffi.EventRecord]) -> None:
        # The OS thread's id: from 3.13, each callback from a foreign thread gets a new
        # dummy `threading.Thread` (and name), so a name does not identify the thread.
        self.threads.add(threading.get_native_id())
        self.names.extend(record.name for record in batch)
        if "message-back" in self.names:
            self.got.set()


def test_listener_batches_come_from_one_delivery_thread_that_close_stops(
    server: TestServer,
) -> None:
    manager = ffi.Manager(ffi.default_client_options(server.url))
    socket = manager.socket("/", None)
    listener = Listener()
    subscription = socket.subscribe(listener, 64)
    assert ffi.live_delivery_threads() == 1
    socket.connect_blocking()
    socket.emit("message", "[1]", [])
    assert listener.got.wait(10)
    assert listener.names[0] == "connect"
    assert len(listener.threads) == 1
    assert threading.main_thread().native_id not in listener.threads
    manager.close_blocking()
    assert ffi.live_delivery_threads() == 0
    subscription.cancel()  # after close: a no-op
    assert manager.is_closed()


def test_a_cancelled_subscription_stops_its_thread(server: TestServer) -> None:
    manager = ffi.Manager(ffi.default_client_options(server.url))
    socket = manager.socket("/", None)
    subscription = socket.subscribe(Listener(), 64)
    assert ffi.live_delivery_threads() == 1
    subscription.cancel()
    assert ffi.live_delivery_threads() == 0
    manager.close_blocking()


def test_a_closed_manager_refuses_work_with_typed_errors(server: TestServer) -> None:
    manager = ffi.Manager(ffi.default_client_options(server.url))
    socket = manager.socket("/", None)
    manager.close_blocking()
    try:
        socket.emit("x", "[]", [])
    except ffi.EmitError.Closed:
        pass
    else:
        raise AssertionError("emit on a closed manager succeeded")
    stream = socket.events()
    assert stream.next_batch_blocking(64, 10) == []
    assert stream.is_closed()


def test_invalid_arguments_are_typed_errors(server: TestServer) -> None:
    manager = ffi.Manager(ffi.default_client_options(server.url))
    socket = manager.socket("/", None)
    try:
        for text in ["{", '{"a":1}', '[{"_placeholder":true,"num":1}]']:
            try:
                socket.emit("x", text, [])
            except ffi.EmitError.InvalidArgs:
                continue
            raise AssertionError(f"{text} was accepted")
        for blob in ["[", '{"a":1}', '[["x",NaN]]']:
            try:
                socket.emit_batch(blob, [])
            except ffi.EmitError.InvalidArgs:
                continue
            raise AssertionError(f"{blob} was accepted")
        # Well-formed JSON, but an emit that is not [event, ...args] or names a missing
        # attachment: nothing queued from there on.
        assert socket.emit_batch('[["x",1],[2],["y"]]', []) == 1
        assert socket.emit_batch('[["x",{"_placeholder":true,"num":0}]]', []) == 0
        # The waiting variant goes on past them, reporting each by its position.
        batch = (
            '[["x",1],[2],["y",{"_placeholder":true,"num":1}],["z",{"_placeholder":true,"num":0}]]'
        )
        failures = socket.emit_batch_blocking(batch, [b"\x01"], 1)
        assert [(f.index, type(f.error)) for f in failures] == [
            (1, ffi.EmitError.InvalidArgs),
            (2, ffi.EmitError.InvalidArgs),
        ]
    finally:
        manager.close_blocking()


@needs_event_pipe
def test_an_invalid_call_through_the_event_pipe_is_a_typed_error(server: TestServer) -> None:
    manager = ffi.Manager(ffi.default_client_options(server.url))
    socket = manager.socket("/", None)
    try:
        pipe = socket.event_pipe()
        try:
            pipe.emit_with_ack("{", [], 1000)
        except ffi.AckError.InvalidArgs:
            pass
        else:
            raise AssertionError("an invalid call was accepted")
        pipe.close()
    finally:
        manager.close_blocking()


def test_a_resource_the_system_refuses_is_a_connection_error_not_an_internal_one() -> None:
    from ferrio._errors import convert

    error = convert(ffi.CallError.Resource("could not open the event pipe: too many open files"))
    assert isinstance(error, ferrio.ConnectionError)
    assert "too many open files" in str(error)
