"""AsyncClient against two socket.io nodes (Redis adapter) behind nginx, sticky by cookie.

The cluster comes from ``ferrio-cluster`` (tests/integration), which sets the variables
below (``make test-cluster-bindings``); without them these tests are skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from typing import Any

import pytest

import ferrio
from conftest import until
from recorder import Recorder

STICKY_URL = os.environ.get("FERRIO_CLUSTER_STICKY_URL")
CONTROLS = [os.environ.get("FERRIO_CLUSTER_CONTROL_A"), os.environ.get("FERRIO_CLUSTER_CONTROL_B")]
PING_INTERVAL = int(os.environ.get("FERRIO_CLUSTER_PING_INTERVAL_MS", "200")) / 1000
HEARTBEATS = 8

pytestmark = pytest.mark.skipif(
    STICKY_URL is None or None in CONTROLS,
    reason="no cluster: run `make test-cluster-bindings` (FERRIO_CLUSTER_* unset)",
)


def control(node: int, action: str, body: dict[str, Any] | None = None) -> Any:
    """Posts ``action`` to node ``node``'s control channel (0: A, 1: B)."""
    request = urllib.request.Request(
        f"{CONTROLS[node]}/{action}",
        data=json.dumps(body or {}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def acontrol(node: int, action: str, body: dict[str, Any] | None = None) -> Any:
    return await asyncio.to_thread(control, node, action, body)


async def socket_record(sid: str) -> tuple[int, dict[str, Any]]:
    """The node holding socket ``sid`` of ``/``, and that node's record of it."""
    for node in (0, 1):
        clients = await acontrol(node, "clients")
        for record in clients["namespaces"].get("/", []):
            if record["id"] == sid:
                return node, record
    raise AssertionError(f"socket {sid} is on no node")


async def test_a_default_client_stays_on_its_node_and_gets_a_broadcast_from_the_other() -> None:
    assert STICKY_URL is not None
    room = "python-cluster"
    client = ferrio.AsyncClient()
    disconnects = Recorder()
    news = Recorder()
    client.on("disconnect", disconnects)
    client.on("news", news)
    await client.connect(STICKY_URL)  # polling first, then the upgrade
    try:
        await until(lambda: client.transport() == "websocket")
        assert await client.call("join", room, timeout=5) is True
        sid = client.sid
        assert sid is not None
        node, record = await socket_record(sid)

        # Several heartbeats through nginx: the session must survive every one.
        await asyncio.sleep(HEARTBEATS * PING_INTERVAL)
        assert client.connected and client.sid == sid
        assert disconnects.calls.empty(), "no disconnection across the heartbeats"
        same_node, record = await socket_record(sid)
        assert same_node == node
        assert record["transport"] == "websocket" and room in record["rooms"]
        # Every request of the session (polling, the upgrade) carried the node's cookie.
        requests = [
            r
            for r in (await acontrol(node, "cookies"))["requests"]
            if r["sid"] == record["engineId"]
        ]
        assert requests and all(r["carried"] for r in requests if not r["initial"]), requests

        # A broadcast to the room from the other node reaches it through the Redis adapter.
        other = 1 - node
        await acontrol(
            other,
            "emitToRoom",
            {"nsp": "/", "room": room, "event": "news", "args": ["from the other node"]},
        )
        assert await news.next() == ("from the other node",)
    finally:
        await client.disconnect()
