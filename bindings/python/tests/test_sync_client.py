"""The blocking SimpleClient: no event loop anywhere."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import ferrio
from conftest import TestServer


def test_the_sync_client_emits_calls_and_receives(server: TestServer) -> None:
    with ferrio.SimpleClient() as client:
        client.connect(server.url, transports=["websocket"])
        assert client.connected and client.sid is not None
        assert client.transport == "websocket"  # a property, as python-socketio's
        client.emit("message", ("hi", b"\x01", {"n": 1}))
        assert client.receive(timeout=10) == ["message-back", "hi", b"\x01", {"n": 1}]
        assert client.call("echo", ("a", 1)) == ("a", 1)
        assert client.call("getId") == client.sid
    assert not client.connected and client.transport == ""


def test_receive_times_out_with_ferrio_timeout_error(server: TestServer) -> None:
    client = ferrio.SimpleClient(server.url)
    with client:
        with pytest.raises(ferrio.TimeoutError):
            client.receive(timeout=0.1)
        with pytest.raises(ferrio.TimeoutError):
            client.call("hi", timeout=0.2)
        assert client.receive(timeout=10) == ["hi"]  # the server's reply to "hi"


def test_the_sync_client_answers_server_acks_and_sees_namespaces(server: TestServer) -> None:
    with ferrio.SimpleClient() as client:
        client.connect(server.url, namespace="/custom", auth={"user": "me"})
        assert client.receive(timeout=10) == ["auth", {"user": "me"}]
        with ThreadPoolExecutor(1) as pool:
            asking = pool.submit(
                server.control,
                "emitWithAck",
                {"nsp": "/custom", "event": "q", "args": [7], "timeoutMs": 5000},
            )
            assert client.receive(timeout=10) == ["q", 7]
            answer = asking.result()
        assert answer["responses"] == [None]  # an empty ack, as SimpleClient sends
        assert "error" not in answer


def test_the_sync_client_reports_rejection(server: TestServer) -> None:
    client = ferrio.SimpleClient()
    with pytest.raises(ferrio.ConnectionRefusedError) as raised:
        client.connect(server.url, namespace="/no")
    assert raised.value.data == {"reason": "denied", "code": 42}
    with pytest.raises(ferrio.DisconnectedError):
        client.emit("x")
