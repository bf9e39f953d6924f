"""AsyncClient against the reference server: transports, events, acks, binary, namespaces,
auth, disconnect reasons, timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import ferrio
from conftest import TestServer, needs_event_pipe, until
from ferrio._ffi import ferrio_ffi as ffi
from recorder import Recorder


@pytest.mark.parametrize(
    ("transports", "expected"),
    [(["polling"], "polling"), (["websocket"], "websocket"), (None, "websocket")],
    ids=["polling", "websocket", "upgrade"],
)
async def test_connects_over_each_transport(
    server: TestServer, transports: Any, expected: str
) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url, transports=transports)
    try:
        assert client.connected
        await until(lambda: client.transport() == expected)
        assert await client.call("echo", "over " + expected) == "over " + expected
        clients = await server.acontrol("clients")
        mine = [c for c in clients["namespaces"]["/"] if c["id"] == client.sid]
        assert mine and mine[0]["transport"] == expected
    finally:
        await client.disconnect()
    assert not client.connected
    assert client.transport() is None


async def test_the_connect_handler_runs_before_connect_returns(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    connected = Recorder()
    client.on("connect", connected)
    await client.connect(server.url)
    try:
        assert connected.calls.qsize() == 1
        assert client.sid is not None and client.get_sid("/") == client.sid
    finally:
        await client.disconnect()


async def test_events_travel_both_ways(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    back = Recorder()
    client.on("message-back", back)
    await client.connect(server.url, transports=["websocket"])
    try:
        await client.emit("message", ("hello", 1, {"a": [True, None]}))
        assert await back.next() == ("hello", 1, {"a": [True, None]})
        await client.emit("message", "one")
        assert await back.next() == ("one",)
        await client.emit("message")
        assert await back.next() == ()
    finally:
        await client.disconnect()


async def test_server_emits_reach_decorated_sync_and_async_handlers(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    sync_calls = Recorder()
    async_calls: asyncio.Queue[str] = asyncio.Queue()

    @client.event
    def takeUtf8(text: str) -> None:
        sync_calls(text)

    @client.on("hi")
    async def on_hi(*args: Any) -> None:
        await asyncio.sleep(0)
        async_calls.put_nowait("hi")

    await client.connect(server.url)
    try:
        await client.emit("getUtf8")
        texts = [(await sync_calls.next())[0] for _ in range(4)]
        assert texts == ["てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string"]
        await client.emit("hi")
        assert await asyncio.wait_for(async_calls.get(), 10) == "hi"
    finally:
        await client.disconnect()


async def test_events_can_be_iterated_with_async_for(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    events = client.events()
    try:
        await server.acontrol("emit", {"event": "news", "args": [1, {"x": "y"}]})
        event = await asyncio.wait_for(events.__anext__(), 10)
        assert (event.namespace, event.name, event.args) == ("/", "news", [1, {"x": "y"}])
        assert list(event) == ["news", 1, {"x": "y"}]
    finally:
        await client.disconnect()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(events.__anext__(), 10)


async def test_an_events_iterator_keeps_at_most_max_queued_events_and_counts_the_rest(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    seen: list[int] = []
    client.on("news", lambda n: seen.append(n))
    await client.connect(server.url)
    events = client.events(max_queued=2)
    try:
        for n in range(5):
            await server.acontrol("emit", {"event": "news", "args": [n]})
        await until(lambda: len(seen) == 5)
        taken = [(await asyncio.wait_for(events.__anext__(), 10)).args for _ in range(2)]
        assert taken == [[0], [1]]
        assert events.dropped == 3
        await server.acontrol("emit", {"event": "news", "args": [5]})
        assert (await asyncio.wait_for(events.__anext__(), 10)).args == [5]
    finally:
        await client.disconnect()
    with pytest.raises(ValueError):
        client.events(max_queued=0)


async def test_call_returns_the_acknowledgement_one_value_or_a_tuple(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        assert await client.call("echo", "one") == "one"
        assert await client.call("echo", ("a", 2, [3])) == ("a", 2, [3])
        assert await client.call("echo") is None
        assert await client.call("getId") == client.sid
    finally:
        await client.disconnect()


async def test_replies_too_large_for_a_datagram_arrive_whole(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        large = "é" * 100_000  # 200,000 bytes of UTF-8: more than one call datagram
        assert await client.call("echo", large) == large
        assert await client.call("echo", (large, 1)) == (large, 1)
    finally:
        await client.disconnect()


async def test_many_concurrent_calls_each_get_their_own_reply(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        # More requests and replies than the call socket buffers: some take the native
        # call and the taken queue instead, none is lost.
        payload = "x" * 2_000
        replies = await asyncio.gather(
            *(client.call("echo", (i, payload), timeout=30) for i in range(2_000))
        )
        assert replies == [(i, payload) for i in range(2_000)]
    finally:
        await client.disconnect()


@needs_event_pipe
async def test_calls_that_fit_a_datagram_need_no_native_call_and_others_fall_back_to_one(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    native_calls: list[str] = []
    emit_with_ack = ffi.EventPipe.emit_with_ack

    def counted(pipe: Any, text: str, attachments: list[bytes], timeout_ms: int) -> int:
        native_calls.append(text)
        return emit_with_ack(pipe, text, attachments, timeout_ms)  # type: ignore[no-any-return]

    monkeypatch.setattr(ffi.EventPipe, "emit_with_ack", counted)
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        assert await client.call("echo", {"a": [1, None]}) == {"a": [1, None]}
        assert native_calls == []
        # Binary values travel in the datagrams too, their bytes after the text.
        assert await client.call("echo", b"\x01") == b"\x01"
        several = (b"", {"x": bytes(range(256)) * 256}, [b"a", "b"])  # 64 KiB and more
        assert await client.call("echo", several) == several
        assert native_calls == []
        # More than one datagram holds: the native call, and the reply through the pipe.
        large = (b"\x02", bytes(range(256)) * 600)
        assert await client.call("echo", large) == large
        assert len(native_calls) == 1

        def full(fd: int, data: bytes) -> int:
            raise BlockingIOError

        monkeypatch.setattr(ferrio.asyncio_client, "_write", full)
        assert await client.call("echo", ("full", 2)) == ("full", 2)
        assert native_calls[1:] == ['["echo","full",2]']
        with pytest.raises(ferrio.TimeoutError):
            await client.call("hi", timeout=0.2)
    finally:
        await client.disconnect()


async def test_a_handler_return_value_answers_the_servers_ack_request(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    answers = Recorder()
    client.on("answer", answers)

    @client.on("question")
    def question(n: int) -> Any:
        return (n * 2, "doubled")

    await client.connect(server.url)
    try:
        await client.emit("askMe", 21)
        assert await answers.next() == (42, "doubled")
    finally:
        await client.disconnect()


async def test_an_async_handler_answers_acks_and_events_can_ack_too(server: TestServer) -> None:
    client = ferrio.AsyncClient()

    @client.on("question")
    async def question(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    await client.connect(server.url)
    try:
        answer = await server.acontrol(
            "emitWithAck", {"event": "question", "args": [1], "timeoutMs": 5000}
        )
        assert answer["responses"] == [2]  # the first value of each socket's ack
        events = client.events()
        pending = asyncio.ensure_future(
            server.acontrol("emitWithAck", {"event": "manual", "args": [], "timeoutMs": 5000})
        )
        event = await asyncio.wait_for(events.__anext__(), 10)
        assert event.wants_ack
        event.ack({"by": b"\x07"})
        answer = await pending
        assert answer["responses"] == [{"by": {"$binary": "Bw=="}}]
    finally:
        await client.disconnect()


async def test_bytes_nested_in_arguments_travel_as_binary(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    back = Recorder()
    nested = Recorder()
    client.on("message-back", back)
    client.on("nestedbin", nested)
    await client.connect(server.url, transports=["websocket"])
    try:
        payload = (b"\x01\x02", {"deep": [bytearray(b"\x03"), {"x": memoryview(b"\x04\x05")}]})
        await client.emit("message", payload)
        assert await back.next() == (b"\x01\x02", {"deep": [b"\x03", {"x": b"\x04\x05"}]})
        received = await server.acontrol("received", {"nsp": "/"})
        last = [e for e in received["events"] if e["event"] == "message"][-1]
        assert last["args"][0] == {"$binary": "AQI="}
        await client.emit("getNestedBin")
        assert await nested.next() == (
            b"\x01\x02\x03",
            {"nested": {"deep": [b"\x04\x05"]}, "text": "x"},
        )
        assert await client.call("echo", [b"", b"\xff"]) == [b"", b"\xff"]
    finally:
        await client.disconnect()


async def test_namespaces_share_one_connection_with_their_own_auth_and_sids(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    auth = Recorder()
    client.on("auth", auth, namespace="/custom")
    await client.connect(server.url, namespaces=["/", "/custom"], auth={"token": "abc"})
    try:
        assert await auth.next() == ({"token": "abc"},)
        assert set(client.namespaces) == {"/", "/custom"}
        assert client.get_sid("/custom") not in (None, client.sid)
        assert await client.call("getId", namespace="/custom") == client.get_sid("/custom")
        with pytest.raises(ferrio.BadNamespaceError):
            await client.emit("x", namespace="/other")
    finally:
        await client.disconnect()


async def test_an_auth_rejection_raises_with_the_servers_message_and_data(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    errors = Recorder()
    client.on("connect_error", errors, namespace="/no")
    with pytest.raises(ferrio.ConnectionRefusedError) as raised:
        await client.connect(server.url, namespaces=["/no"])
    assert raised.value.message == "Auth failed (custom namespace)"
    assert raised.value.data == {"reason": "denied", "code": 42}
    assert isinstance(raised.value, ferrio.ConnectionError)
    assert isinstance(raised.value, ferrio.FerrioError)
    assert errors.calls.qsize() == 1
    assert await errors.next() == (
        {"message": "Auth failed (custom namespace)", "data": {"reason": "denied", "code": 42}},
    )
    assert not client.connected


async def test_an_unreachable_server_raises_connection_error(fresh_server: Any) -> None:
    server = fresh_server()
    port = server.port
    server.stop()
    client = ferrio.AsyncClient(reconnection=False)
    with pytest.raises(ferrio.ConnectionError):
        await client.connect(f"http://127.0.0.1:{port}", wait_timeout=5)


async def test_a_server_disconnect_reports_io_server_disconnect(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    reasons = Recorder()
    client.on("disconnect", reasons)
    await client.connect(server.url)
    try:
        await client.emit("disconnectMe")
        assert await reasons.next() == ("io server disconnect",)
        assert not client.connected
    finally:
        await client.disconnect()


async def test_a_closed_transport_reports_transport_close_and_reconnects(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient(reconnection_delay=0.05, reconnection_delay_max=0.2)
    reasons = Recorder()
    connects = Recorder()
    client.on("connect", connects)

    @client.event
    def disconnect() -> None:  # a disconnect handler may also take no reason
        reasons("called")

    reason_with_arg = Recorder()
    client.on("disconnect", reason_with_arg, namespace="/custom")
    await client.connect(server.url, namespaces=["/", "/custom"])
    try:
        await connects.next()
        await client.emit("closeTransport")
        assert await reasons.next() == ("called",)
        assert await reason_with_arg.next() == ("transport close",)
        await connects.next()
        assert await client.call("echo", "back") == "back"
    finally:
        await client.disconnect()


async def test_text_that_is_not_utf8_reports_invalid_utf8_and_reconnects(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient(reconnection_delay=0.05, reconnection_delay_max=0.2)
    reasons = Recorder()
    connects = Recorder()
    client.on("connect", connects)
    client.on("disconnect", reasons)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        # A WebSocket text frame of the bytes 0xff 0xfe, written past the server's framing.
        frame = {"nsp": "/", "id": client.sid, "bytes": "gQL//g=="}
        assert (await server.acontrol("rawFrame", frame))["sent"] == 1
        assert await reasons.next() == ("invalid utf-8",)
        await connects.next()
        assert await client.call("echo", "back") == "back"
    finally:
        await client.disconnect()


async def test_a_call_without_reply_raises_ferrio_timeout_error(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        with pytest.raises(ferrio.TimeoutError):
            await client.call("hi", timeout=0.2)
    finally:
        await client.disconnect()


async def test_a_pending_call_fails_with_disconnected_error_on_disconnect(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    pending = asyncio.ensure_future(client.call("hi", timeout=30))
    await asyncio.sleep(0.1)
    await client.disconnect()
    with pytest.raises(ferrio.DisconnectedError):
        await asyncio.wait_for(pending, 10)


async def test_without_an_event_pipe_events_and_calls_go_through_a_pull_task(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As where the platform has none (the attribute is missing there, so it may be added).
    monkeypatch.setattr(ffi.Socket, "event_pipe", None, raising=False)
    client = ferrio.AsyncClient()
    back = Recorder()
    client.on("message-back", back)
    await client.connect(server.url, transports=["websocket"])
    try:
        await client.emit("message", ("hello", b"\x01"))
        assert await back.next() == ("hello", b"\x01")
        assert await client.call("echo", ("a", 2)) == ("a", 2)
        with pytest.raises(ferrio.TimeoutError):
            await client.call("hi", timeout=0.2)
    finally:
        await client.disconnect()


async def test_reserved_events_cannot_be_emitted(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        with pytest.raises(ferrio.EmitError):
            await client.emit("disconnect")
        with pytest.raises(ferrio.EmitError):
            await client.call("connect")
    finally:
        await client.disconnect()


async def test_many_emits_arrive_in_order(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url, transports=["websocket"])
    try:
        for _ in range(5000):
            await client.emit("countMe")
        assert await client.call("count") == 5000
    finally:
        await client.disconnect()


async def test_plain_and_binary_emits_of_one_iteration_arrive_in_order_with_their_bytes(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    await client.connect(server.url, namespaces=["/", "/custom"], transports=["websocket"])
    try:
        expected: list[tuple[str, Any]] = []
        for i in range(300):
            namespace = "/custom" if i % 11 == 0 else "/"
            data: Any = (
                (str(i), bytes([i % 256]), {"n": [b"\x00" * (i % 3)]}) if i % 4 == 0 else str(i)
            )
            await client.emit("seq", data, namespace=namespace)
            expected.append((namespace, data))
        assert await client.call("echo", "end") == "end"
        assert await client.call("echo", "end", namespace="/custom") == "end"
        for namespace in ["/", "/custom"]:
            received = await server.acontrol("received", {"nsp": namespace})
            mine = [e["args"] for e in received["events"] if e["id"] == client.get_sid(namespace)]
            sent = [_wire(data) for n, data in expected if n == namespace]
            assert [args for args in mine if args != ["end"]] == sent
    finally:
        await client.disconnect()


def _wire(data: Any) -> list[Any]:
    """``data`` as the reference server records it: bytes as ``{"$binary": base64}``."""
    import base64

    def convert(value: Any) -> Any:
        if isinstance(value, bytes):
            return {"$binary": base64.b64encode(value).decode()}
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return [convert(v) for v in (data if isinstance(data, tuple) else (data,))]


async def test_an_emit_the_server_cannot_take_is_raised_and_later_emits_still_go(
    fresh_server: Any,
) -> None:
    server = fresh_server({"maxHttpBufferSize": 1000})
    client = ferrio.AsyncClient()
    await client.connect(server.url, transports=["websocket"])
    try:
        await client.emit("small", "before")
        await client.emit("tooBig", "x" * 2000)
        await client.emit("small", b"\x01")
        with pytest.raises(ferrio.EmitError):
            await client.call("echo", "after")
        assert await client.call("echo", "after") == "after"
        received = await server.acontrol("received", {"nsp": "/"})
        names = [e["event"] for e in received["events"] if e["id"] == client.sid]
        assert names == ["small", "small", "echo"]
    finally:
        await client.disconnect()


@needs_event_pipe
async def test_events_arriving_one_by_one_through_the_pipe_all_arrive_in_order(
    server: TestServer,
) -> None:
    client = ferrio.AsyncClient()
    back = Recorder()
    client.on("message-back", back)
    await client.connect(server.url, transports=["websocket"])
    try:
        for i in range(200):
            await client.emit("message", i)
            if i % 20 == 0:
                await asyncio.sleep(0.001)
        assert [(await back.next())[0] for _ in range(200)] == list(range(200))
    finally:
        await client.disconnect()


@pytest.mark.parametrize("fast", [True, False], ids=["read-from-the-buffer", "generated"])
@needs_event_pipe
async def test_plain_events_are_taken_without_the_generated_method_unless_it_is_missing(
    server: TestServer, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    # take_batch reads a batch of plain events from the native buffer itself and lifts any
    # other (here the connect) with the generated code; without what it needs from the
    # generated module, every take is the generated method.
    assert ferrio._pipe_take.AVAILABLE
    monkeypatch.setattr(ferrio._pipe_take, "AVAILABLE", fast)
    generated: list[int] = []
    take = ffi.EventPipe.take

    def counted(pipe: Any, max_events: int) -> Any:
        generated.append(max_events)
        return take(pipe, max_events)

    monkeypatch.setattr(ffi.EventPipe, "take", counted)
    client = ferrio.AsyncClient()
    back = Recorder()
    client.on("message-back", back)
    await client.connect(server.url, transports=["websocket"])
    try:
        for i in range(50):
            await client.emit("message", i)
        assert [(await back.next())[0] for _ in range(50)] == list(range(50))
        assert (generated == []) is fast
    finally:
        await client.disconnect()


async def test_emit_callback_receives_the_acknowledgement(server: TestServer) -> None:
    client = ferrio.AsyncClient()
    replies = Recorder()
    await client.connect(server.url)
    try:
        await client.emit("echo", ("x", 1), callback=replies)
        assert await replies.next() == ("x", 1)
    finally:
        await client.disconnect()


async def test_async_with_connects_and_disconnects(server: TestServer) -> None:
    async with ferrio.AsyncClient(server.url) as client:
        assert client.connected
        assert await client.call("echo", 1) == 1
    assert not client.connected
    with pytest.raises(ferrio.BadNamespaceError):
        await client.emit("x")
