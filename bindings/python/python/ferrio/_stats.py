"""Connection statistics: what ``AsyncClient.stats()`` and ``Client.stats()`` return."""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import convert
from ._ffi import ferrio_ffi as ffi
from ._options import transport_name


@dataclass(frozen=True)
class BufferedEmits:
    """What waits in a namespace's offline buffer (``AsyncClient.buffered()``): the emits
    made while it is not connected, sent in order once it is."""

    #: Buffered emits.
    emits: int
    #: Their size on the wire, in bytes.
    bytes: int


@dataclass(frozen=True)
class AckRoundTrips:
    """The round trips of this program's emits with an ack (``call``, ``emit`` with a
    callback): from writing the emit to receiving the reply, in seconds.

    Percentiles are the tops of power-of-two buckets of microseconds (at most twice the
    true value, never above ``max``); every value is 0 while ``count`` is 0."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


@dataclass(frozen=True)
class ConnectionStats:
    """A snapshot of the connection's statistics, counted since ``connect`` (over every
    reconnection); always counted, cheap to read.

    Bytes are Engine.IO payload bytes: WebSocket frame payloads, HTTP long-polling bodies
    (responses after decompression); headers, framing and TLS are not counted."""

    bytes_in: int
    bytes_out: int
    packets_in: int
    packets_out: int
    #: Reconnections that opened a connection again.
    reconnects: int
    #: Reconnection attempts started.
    reconnect_attempts: int
    #: ``"polling"``, ``"websocket"``, or ``None`` while not connected.
    transport: str | None
    #: Seconds since the server's last ping; ``None`` before the first.
    since_last_ping: float | None
    ack_round_trips: AckRoundTrips


EMPTY = ConnectionStats(0, 0, 0, 0, 0, 0, None, None, AckRoundTrips(0, 0.0, 0.0, 0.0, 0.0, 0.0))


def _seconds(micros: int) -> float:
    return micros / 1_000_000


def stats_of(manager: ffi.Manager | None) -> ConnectionStats:
    """The statistics of ``manager`` (those its close left once closed); zeros for none."""
    if manager is None:
        return EMPTY
    try:
        raw = manager.stats()
    except Exception as error:
        raise convert(error) from None
    acks = raw.ack_round_trips
    ping = raw.since_last_ping_us
    return ConnectionStats(
        bytes_in=raw.bytes_in,
        bytes_out=raw.bytes_out,
        packets_in=raw.packets_in,
        packets_out=raw.packets_out,
        reconnects=raw.reconnects,
        reconnect_attempts=raw.reconnect_attempts,
        transport=transport_name(raw.transport),
        since_last_ping=None if ping is None else _seconds(ping),
        ack_round_trips=AckRoundTrips(
            count=acks.count,
            p50=_seconds(acks.p50_us),
            p90=_seconds(acks.p90_us),
            p99=_seconds(acks.p99_us),
            max=_seconds(acks.max_us),
            mean=_seconds(acks.mean_us),
        ),
    )
