"""Connection statistics (``stats()``) against the reference server."""

from __future__ import annotations

from typing import Any

import pytest

import ferrio
from conftest import until
from recorder import Recorder

ACKS = 10
EVENTS = 5


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_stats_count_what_was_exchanged(server: Any, transport: str) -> None:
    client = ferrio.AsyncClient()
    assert client.stats() == ferrio.ConnectionStats(
        0, 0, 0, 0, 0, 0, None, None, ferrio.AckRoundTrips(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    )
    back = Recorder()
    client.on("message-back", back)
    await client.connect(server.url, transports=[transport])
    try:
        before = client.stats()
        assert before.transport == transport
        assert before.packets_in >= 2 and before.bytes_in > 0 and before.bytes_out > 0
        for n in range(ACKS):
            assert await client.call("echo", n) == n
        # Answered to this client only: the shared server's other clients see nothing.
        for n in range(EVENTS):
            await client.emit("message", n)
        for _ in range(EVENTS):
            await back.next()
        after = client.stats()
        assert after.packets_out - before.packets_out >= ACKS + EVENTS
        assert after.packets_in - before.packets_in >= ACKS + EVENTS
        assert after.bytes_in > before.bytes_in and after.bytes_out > before.bytes_out
        acks = after.ack_round_trips
        assert acks.count == ACKS
        assert acks.max > 0 and acks.p50 <= acks.p90 <= acks.p99 <= acks.max
        assert acks.mean <= acks.max
        assert after.reconnects == 0
    finally:
        await client.disconnect()
    closed = client.stats()
    assert closed.transport is None
    assert closed.ack_round_trips.count == ACKS
    assert closed.packets_out >= after.packets_out


async def test_stats_count_a_reconnection_forced_by_the_server(fresh_server: Any) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(reconnection_delay=0.05, randomization_factor=0)
    connects = Recorder()
    client.on("connect", connects)
    await client.connect(server.url, transports=["websocket"])
    try:
        await connects.next()
        assert client.stats().reconnects == 0
        await server.acontrol("closeTransport")
        await connects.next()
        stats = client.stats()
        assert stats.reconnects == 1
        assert stats.reconnect_attempts >= 1
        assert stats.transport == "websocket"
    finally:
        await client.disconnect()


async def test_stats_report_the_upgrade_and_the_last_ping(fresh_server: Any) -> None:
    server = fresh_server({"pingInterval": 100})
    client = ferrio.AsyncClient()
    await client.connect(server.url)
    try:
        await until(lambda: client.stats().transport == "websocket")
        await until(lambda: client.stats().since_last_ping is not None)
        ping = client.stats().since_last_ping
        assert ping is not None and ping >= 0
    finally:
        await client.disconnect()


def test_the_blocking_client_has_stats_too(server: Any) -> None:
    with ferrio.SimpleClient() as client:
        client.connect(server.url, transports="websocket")
        assert client.call("echo", 1) == 1
        stats = client.stats()
        assert stats.transport == "websocket"
        assert stats.ack_round_trips.count == 1
    assert client.stats().transport is None
    assert client.stats().ack_round_trips.count == 1
