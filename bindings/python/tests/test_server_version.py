"""``server_version=``: the Socket.IO version of the server, its default read from the
core, against a real Socket.IO 2.x server (tests/server-v2, socket.io 2.5.1): found out by
itself by default (events, acks and binary both ways), refused with ``4``."""

from __future__ import annotations

from typing import Any

import pytest

import ferrio
from conftest import TestServer, until
from ferrio._ffi import ferrio_ffi as ffi
from ferrio._options import Settings
from recorder import Recorder

URL = "http://localhost:3000"
TRANSPORTS = pytest.mark.parametrize(
    "transports", [["polling"], ["websocket"], None], ids=["polling", "websocket", "upgrade"]
)


def native(**given: Any) -> ffi.ClientOptions:
    return Settings(**given).options(
        URL, headers=None, auth=None, transports=None, socketio_path=None, wait_timeout=None
    )


def test_the_default_is_the_cores() -> None:
    core = ffi.default_client_options(URL).server_version
    assert native().server_version == core == ffi.ServerVersion.DETECT


@pytest.mark.parametrize(
    ("given", "expected"),
    [("detect", ffi.ServerVersion.DETECT), (2, ffi.ServerVersion.V2), (4, ffi.ServerVersion.V4)],
)
def test_a_given_version_reaches_the_native_options(given: Any, expected: Any) -> None:
    assert native(server_version=given).server_version == expected


@pytest.mark.parametrize("bad", [3, "v2", "4"])
def test_an_unknown_version_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="server_version"):
        Settings(server_version=bad)


@TRANSPORTS
async def test_a_v2_server_is_found_out_by_itself(v2_server: TestServer, transports: Any) -> None:
    client = ferrio.AsyncClient()
    pushed = Recorder()
    client.on("push", pushed)
    client.on("question", lambda n: ("answer", n + 1, b"\x04\x02"))
    await client.connect(v2_server.url, transports=transports)
    try:
        await until(lambda: client.transport() == (transports or ["websocket"])[0])
        assert await client.call("echo", ("over v2", b"\x00\xff")) == ("over v2", b"\x00\xff")
        event = {"nsp": "/", "event": "push", "args": ["news", {"$binary": "CQgH"}]}
        assert (await v2_server.acontrol("emit", event))["sockets"] == 1
        assert await pushed.next() == ("news", b"\x09\x08\x07")
        question = {"nsp": "/", "event": "question", "args": [41], "timeoutMs": 10000}
        answer = await v2_server.acontrol("emitWithAck", question)
        assert answer == {"responses": [["answer", 42, {"$binary": "BAI="}]]}
    finally:
        await client.disconnect()


@TRANSPORTS
async def test_a_v2_server_is_refused_when_v4_is_forced(
    v2_server: TestServer, transports: Any
) -> None:
    client = ferrio.AsyncClient(server_version=4)
    with pytest.raises(ferrio.ConnectionRefusedError, match=r"older Socket\.IO protocol"):
        await client.connect(v2_server.url, transports=transports)
    assert not client.connected
    await client.disconnect()
