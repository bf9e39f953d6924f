"""The event-driven blocking ``Client``, written as python-socketio code with
``import ferrio as socketio``: handlers on a thread of the client's, acks both ways, ``call``
with a timeout, namespaces, catch-alls, class-based namespaces, ``connect_error``,
``disconnect``, ``wait()`` and reconnection, against the reference server."""

from __future__ import annotations

import gc
import queue
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import ferrio as socketio
from conftest import TestServer

#: Generous: a busy 2-core machine may take seconds where an idle one takes milliseconds.
WAIT = 60.0

#: Polling only, WebSocket only, and polling upgraded to WebSocket (the default).
TRANSPORTS = [["polling"], ["websocket"], None]


class Calls:
    """A handler that records its calls (on the handler thread) for the test to await."""

    def __init__(self, reply: Any = None) -> None:
        self.calls: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.threads: set[str] = set()
        self.reply = reply

    def __call__(self, *args: Any) -> Any:
        self.threads.add(threading.current_thread().name)
        self.calls.put(args)
        return self.reply

    def next(self) -> tuple[Any, ...]:
        return self.calls.get(timeout=WAIT)


def fast_client(**options: Any) -> socketio.Client:
    """A client that reconnects within a fraction of a second."""
    return socketio.Client(
        reconnection_delay=0.05, reconnection_delay_max=0.2, randomization_factor=0, **options
    )


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket", "upgrade"])
def test_events_and_acks_travel_both_ways(server: TestServer, transports: Any) -> None:
    sio = socketio.Client()
    connected = Calls()
    echoed = Calls()
    answers = Calls()
    replies = Calls()

    @sio.event
    def connect() -> None:
        connected(sio.sid)

    @sio.on("message-back")
    def message_back(*args: Any) -> None:
        echoed(*args)

    @sio.on("question")
    def question(n: int) -> int:
        return n * 2  # answers the server's acknowledgement request

    sio.on("answer", answers)
    sio.connect(server.url, transports=transports)
    try:
        # connect() returns once the connect handler has run.
        assert connected.calls.get_nowait() == (sio.sid,)
        assert sio.connected and sio.sid is not None and sio.get_sid("/") == sio.sid
        if transports is not None:
            assert sio.transport() == transports[0]
        sio.emit("message", ("hello", b"\x00\x01", {"n": 1}))
        assert echoed.next() == ("hello", b"\x00\x01", {"n": 1})
        sio.emit("askMe", 21)
        assert answers.next() == (42,)
        sio.emit("echo", ("a", 1), callback=replies)
        assert replies.next() == ("a", 1)
        assert sio.call("echo", {"x": [1, 2]}) == {"x": [1, 2]}
        assert sio.call("echo", ("a", b"\x02")) == ("a", b"\x02")
        sio.send("via send")
        assert echoed.next() == ("via send",)
        # Handlers run on the client's handler thread.
        assert echoed.threads == answers.threads == replies.threads == {"ferrio-handlers_0"}
    finally:
        sio.disconnect()
    assert not sio.connected and sio.sid is None and sio.transport() is None


def test_call_times_out_with_socketio_timeout_error(server: TestServer) -> None:
    sio = socketio.Client()
    sio.connect(server.url)
    try:
        with pytest.raises(socketio.exceptions.TimeoutError):
            sio.call("hi", timeout=0.2)  # the server never acknowledges "hi"
        assert sio.call("echo", "still fine", timeout=WAIT) == "still fine"
        with pytest.raises(socketio.exceptions.BadNamespaceError):
            sio.emit("x", namespace="/not-connected")
    finally:
        sio.disconnect()


def test_handlers_may_emit_call_and_disconnect(server: TestServer) -> None:
    sio = socketio.Client()
    results = Calls()
    disconnects = Calls()

    @sio.event
    def connect() -> None:
        sio.emit("hi")  # blocking methods work from a handler

    @sio.on("hi")
    def hi() -> None:
        results(sio.call("echo", "from a handler"))
        sio.disconnect()  # returns at once; the disconnection follows

    sio.on("disconnect", disconnects)
    sio.connect(server.url)
    assert results.next() == ("from a handler",)
    assert disconnects.next() == ("io client disconnect",)
    sio.wait()
    assert not sio.connected


def test_a_coroutine_handler_runs_on_the_loop_where_blocking_calls_raise(
    server: TestServer,
) -> None:
    sio = socketio.Client()
    outcome = Calls()

    @sio.on("hi")
    async def hi() -> None:
        try:
            sio.emit("message", "from the loop")
        except RuntimeError as error:
            outcome(threading.current_thread().name, str(error))

    sio.connect(server.url)
    try:
        sio.emit("hi")
        thread, message = outcome.next()
        assert thread == "ferrio-loop" and "event loop" in message
        assert sio.call("echo", "the loop goes on") == "the loop goes on"
    finally:
        sio.disconnect()


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket", "upgrade"])
def test_namespaces_and_catch_alls(server: TestServer, transports: Any) -> None:
    sio = socketio.Client()
    custom_connects = Calls()
    caught = Calls()
    anywhere = Calls()
    sio.on("connect", custom_connects, namespace="/custom")
    sio.on("*", caught)
    sio.on("*", anywhere, namespace="*")
    sio.connect(server.url, auth={"user": "me"}, transports=transports, namespaces=["/", "/custom"])
    try:
        assert custom_connects.calls.get_nowait() == ()
        # /custom greets with "auth": no handler of its own there, so the "*" of the
        # namespace "*" gets it, the event name then the namespace first.
        assert anywhere.next() == ("auth", "/custom", {"user": "me"})
        assert sorted(sio.namespaces) == ["/", "/custom"]
        assert sio.get_sid("/custom") not in (None, sio.sid)
        assert sio.call("getId", namespace="/custom") == sio.get_sid("/custom")
        # "/" has a "*" of its own: it comes first.
        sio.emit("message", 7)
        assert caught.next() == ("message-back", 7)
        sio.emit("hi")
        assert caught.next() == ("hi",)
        assert anywhere.calls.empty()
    finally:
        sio.disconnect()


def test_catch_all_answers_acks(server: TestServer) -> None:
    sio = socketio.Client()
    answers = Calls()
    sio.on("answer", answers)

    @sio.on("*")
    def catch_all(event: str, *args: Any) -> Any:
        return args[0] * 2 if event == "question" else None

    sio.connect(server.url, transports=["websocket"])
    try:
        sio.emit("askMe", 5)
        assert answers.next() == (10,)
    finally:
        sio.disconnect()


class Chat(socketio.ClientNamespace):
    """A class-based namespace in python-socketio's style."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.seen = Calls()

    def on_connect(self) -> None:
        self.seen("connect")

    def on_hi(self) -> None:
        self.seen("hi")
        self.emit("message", "from on_hi")

    def on_question(self, n: int) -> int:
        return n + 1

    def on_answer(self, n: int) -> None:
        self.seen("answer", n)

    def on_disconnect(self, reason: str) -> None:
        self.seen("disconnect", reason)


def test_a_class_based_namespace_handles_its_events(server: TestServer) -> None:
    sio = socketio.Client()
    chat = Chat("/")
    sio.register_namespace(chat)
    echoed = Calls()
    sio.on("message-back", echoed)  # a handler of the client's comes first
    sio.connect(server.url)
    try:
        assert chat.seen.calls.get_nowait() == ("connect",)
        chat.emit("hi")
        assert chat.seen.next() == ("hi",)
        assert echoed.next() == ("from on_hi",)
        chat.emit("askMe", 1)
        assert chat.seen.next() == ("answer", 2)
        assert chat.call("echo", "x") == "x"
    finally:
        chat.disconnect()
    assert chat.seen.next() == ("disconnect", "io client disconnect")


def test_a_refused_namespace_calls_connect_error_then_raises(server: TestServer) -> None:
    sio = socketio.Client()
    errors = Calls()
    sio.on("connect_error", errors, namespace="/no")
    with pytest.raises(socketio.exceptions.ConnectionError) as raised:
        sio.connect(server.url, namespaces=["/no"])
    assert isinstance(raised.value, socketio.ConnectionRefusedError)
    assert raised.value.data == {"reason": "denied", "code": 42}
    # The handler has run before connect() raised, as in python-socketio.
    assert errors.calls.get_nowait() == (
        {"message": "Auth failed (custom namespace)", "data": {"reason": "denied", "code": 42}},
    )
    assert not sio.connected


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket", "upgrade"])
def test_wait_returns_after_the_server_disconnects(server: TestServer, transports: Any) -> None:
    sio = socketio.Client()
    reasons = Calls()

    @sio.event
    def disconnect(reason: str) -> None:
        reasons(reason)

    sio.connect(server.url, transports=transports)
    sio.emit("disconnectMe")
    sio.wait()
    # wait() returns once the disconnect handler has run and the client is released.
    assert reasons.calls.get_nowait() == ("io server disconnect",)
    assert not sio.connected and sio.transport() is None
    sio.connect(server.url, transports=transports)  # and it may connect again
    try:
        assert sio.call("echo", "again") == "again"
    finally:
        sio.disconnect()


def test_wait_returns_after_disconnect_from_another_thread(server: TestServer) -> None:
    sio = socketio.Client()
    sio.connect(server.url)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(sio.wait)
        sio.disconnect()
        waiting.result(WAIT)


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket", "upgrade"])
def test_the_client_reconnects_after_a_lost_transport(server: TestServer, transports: Any) -> None:
    sio = fast_client()
    connects = Calls()
    reasons = Calls()
    sio.on("connect", connects)
    sio.on("disconnect", reasons)
    sio.connect(server.url, transports=transports)
    try:
        connects.next()
        first_sid = sio.sid
        sio.emit("closeTransport")
        assert reasons.next() == ("transport close",)
        connects.next()
        assert sio.call("echo", "back") == "back"
        assert sio.sid != first_sid
    finally:
        sio.disconnect()


def test_wait_returns_when_reconnection_gives_up(fresh_server: Any) -> None:
    server = fresh_server()
    sio = fast_client(reconnection_attempts=2)
    reasons = Calls()
    sio.on("disconnect", reasons)
    sio.connect(server.url, transports=["websocket"])
    server.stop()
    sio.wait()
    assert reasons.calls.get_nowait() == ("transport close",)
    assert not sio.connected


def test_auth_callable_is_called_on_every_attempt(server: TestServer) -> None:
    tokens = iter(range(1, 100))
    sio = fast_client()
    greetings = Calls()
    sio.on("auth", greetings, namespace="/custom")
    sio.connect(server.url, namespaces=["/", "/custom"], auth=lambda: {"token": next(tokens)})
    try:
        assert greetings.next() == ({"token": 1},)
        sio.emit("closeTransport")
        # Called again for the reconnection: a token the first attempt did not have.
        assert greetings.next()[0]["token"] > 1
    finally:
        sio.disconnect()


def test_a_client_no_longer_referenced_stops_its_threads(server: TestServer) -> None:
    sio = socketio.Client()
    sio.connect(server.url)
    assert sio.call("echo", 1) == 1
    loop_thread = sio._loop_thread
    assert loop_thread is not None
    sio.disconnect()
    gone = weakref.ref(sio)
    del sio
    gc.collect()
    assert gone() is None
    loop_thread.join(WAIT)
    assert not loop_thread.is_alive()
