"""The hostile cases: what the server does (``behaviour``), how the client is driven and
what its run must end with (``expect``). server.py serves them; run.py runs them.

Expectations:
- ``connect_failed``: the namespace never connects (CONNECT never answered); the client
  gives up at its connect timeout (the CLI at --timeout, exit 1).
- ``disconnected``: connected, then the connection ends on its own (not by the client),
  with one of ``reasons`` when given, within the case's ``deadline``.
- ``survives``: connected and still connected ``deadline`` seconds later (or disconnected
  with one of ``reasons``); the client then closes.
Every run also ends (no hang) with a peak RSS under the bound (run.py).
"""

from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server import CLIENT_MAX_INCOMING, RS, Link, PollingLink, WsLink, handshake

MIB = 1024 * 1024


@dataclass
class Case:
    name: str
    transport: str
    behaviour: Callable[[Link], None]
    expect: str
    #: Accepted disconnect reasons (``disconnected``: empty means any that is not the
    #: client's own; ``survives``: reasons that count as well as staying connected).
    reasons: tuple[str, ...] = ()
    ping_interval: int = 25000
    ping_timeout: int = 20000
    #: ``survives``: how long the client stays; ``disconnected``: the longest wait for the
    #: server-caused end (generous: a bound, not a timing).
    deadline: float = 4.0
    #: Emits the client sends once connected (count, bytes each).
    emit: int = 0
    emit_size: int = 1024
    connect_timeout: float = 10.0
    #: The client does not consume its events (the application stalls; the CLI's stdout
    #: is not read until it ends).
    stall: bool = False
    #: Reconnection stays on: a connect that failed goes on in the background until the
    #: deadline (the core, the CLI; Python's connect() gives up and closes).
    reconnect: bool = False
    #: A check of the server's view of the run (``GET /stats``): an error message or None.
    check_stats: Callable[[dict[str, int]], str | None] | None = None
    #: WebSocket: accept the client's permessage-deflate offer.
    ws_deflate: bool = False
    doc: str = field(default="")

    def handshake(self, sid: str) -> str:
        return handshake(sid, self.ping_interval, self.ping_timeout)

    def run(self, link: Link) -> None:
        self.behaviour(link)


def flush(link: Link) -> None:
    """Polling: waits until the client fetched what was sent."""
    if isinstance(link, PollingLink):
        while link.alive() and not link.outbox.empty():
            time.sleep(0.05)


def event(name: str, text: str) -> str:
    return '42["' + name + '","' + text + '"]'


def silence(link: Link) -> None:
    link.accept_connect()
    flush(link)
    link.hold_gets.set()
    link.idle()


def flood(size: int, batch: int, before_connect: bool) -> Callable[[Link], None]:
    packet = event("flood", "x" * size)

    def behaviour(link: Link) -> None:
        if before_connect:
            link.wait_connect_request()
        else:
            link.accept_connect()
        while True:
            link.send([packet] * batch)

    return behaviour


@functools.cache
def packed(unit: str) -> bytes:
    """As many copies of the packet ``unit`` as fit in one body under the client's limit."""
    count = CLIENT_MAX_INCOMING // (len(unit) + 1)
    body = ((unit + RS) * (count - 1) + unit).encode()
    assert len(body) <= CLIENT_MAX_INCOMING
    return body


def amplification(unit: str) -> Callable[[Link], None]:
    """Polling bodies of millions of tiny packets, back to back."""

    def behaviour(link: Link) -> None:
        link.accept_connect()
        body = packed(unit)
        while True:
            link.send_raw(body)

    return behaviour


def write_stall(link: Link) -> None:
    """Stops reading (WebSocket) or answering POSTs (polling), keeps pinging."""
    link.accept_connect()
    flush(link)
    link.stall_writes.set()
    interval = 1.0
    while link.alive():
        link.send(["2"])
        link.gone.wait(interval)


def ping_flood(link: Link) -> None:
    """WebSocket ping frames as fast as possible, never reading the pongs."""
    assert isinstance(link, WsLink)
    link.accept_connect()
    link.stall_writes.set()
    payload = b"p" * 125
    while True:
        link.frame(0x9, payload)


def cookie_growth(link: Link) -> None:
    """Every response sets new cookies; every GET is answered at once (noop)."""
    counter = iter(range(1 << 62))

    def cookies() -> list[str]:
        return [f"c{next(counter)}={'v' * 2000}; Path=/" for _ in range(8)]

    link.cookies = cookies
    link.accept_connect()
    while True:
        link.send(["6"])


def cookie_bounded(stats: dict[str, int]) -> str | None:
    # The jar keeps 16 KiB of names and values per host by default; "; " separators on top.
    largest = stats.get("max_cookie_header", 0)
    if stats.get("requests", 0) < 10:
        return f"only {stats.get('requests', 0)} requests: the case did not run"
    return None if largest <= 20 * 1024 else f"a Cookie header of {largest} bytes"


def send_once(*packets: str) -> Callable[[Link], None]:
    def behaviour(link: Link) -> None:
        link.accept_connect()
        link.send(list(packets))
        link.idle()

    return behaviour


def send_raw_once(data: bytes) -> Callable[[Link], None]:
    def behaviour(link: Link) -> None:
        link.accept_connect()
        link.send_raw(data)
        link.idle()

    return behaviour


def silence_before_connect(link: Link) -> None:
    """The handshake, then nothing: no CONNECT reply, no ping."""
    link.wait_connect_request()
    link.idle()


def bad_frame(link: Link) -> None:
    """A WebSocket frame with a reserved opcode (0x3)."""
    assert isinstance(link, WsLink)
    link.accept_connect()
    link.frame(0x3, b"?")
    link.idle()


def oversized(link: Link) -> None:
    link.accept_connect()
    link.send_raw(event("big", "x" * (CLIENT_MAX_INCOMING + 1024)).encode())
    link.idle()


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip body of about 255 KiB that inflates to 256 MiB: one event of ``a``s, 16 times
    the client's limit (and twice the run's memory bound)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b'42["bomb","')]
    chunk = b"a" * MIB
    parts.extend(compressor.compress(chunk) for _ in range(256))
    parts.append(compressor.flush())
    return b"".join(parts)


def compression_bomb(link: Link) -> None:
    assert isinstance(link, PollingLink)
    link.accept_connect()
    link.send_gzip(gzip_bomb())
    link.idle()


@functools.cache
def deflate_bomb() -> bytes:
    """A permessage-deflate message of about 255 KiB (raw deflate, flushed, its 4-byte tail
    removed) that inflates to 256 MiB: one event of ``a``s, as ``gzip_bomb``."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(b'42["bomb","')]
    chunk = b"a" * MIB
    parts.extend(compressor.compress(chunk) for _ in range(256))
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(parts)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def compression_bomb_websocket(link: Link) -> None:
    assert isinstance(link, WsLink)
    link.accept_connect()
    # Without the extension negotiated the client sees a protocol violation: the case fails.
    link.frame(0x1, deflate_bomb(), rsv1=True)
    link.idle()


def large_attachments(link: Link) -> None:
    """One event with 10 attachments of 15 MiB each (each under every single limit)."""
    link.accept_connect()
    placeholders = ",".join(f'{{"_placeholder":true,"num":{i}}}' for i in range(10))
    link.send(['4510-["att",' + placeholders + "]"])
    chunk = b"a" * (15 * MIB)
    for _ in range(10):
        link.send_raw(chunk, binary=True)
    link.idle()


def wide_json(link: Link) -> None:
    """One event whose argument is an array of millions of zeros (under 16 MiB)."""
    link.accept_connect()
    zeros = "0," * ((CLIENT_MAX_INCOMING - 64) // 2)
    link.send_raw(('42["wide",[' + zeros + "0]]").encode())
    link.idle()


def ends(
    name: str, transport: str, behaviour: Callable[[Link], None], *reasons: str, **options: Any
) -> Case:
    """A case whose connection must end by itself, with one of ``reasons``, within 20 s."""
    return Case(name, transport, behaviour, "disconnected", reasons, deadline=20.0, **options)


FAST_PING = {"ping_interval": 1000, "ping_timeout": 1000}
STALLED = ("write stalled", "ping timeout")
TOO_LARGE = "message too large"

CASE_LIST = [
    ends(
        "silence",
        "websocket",
        silence,
        "ping timeout",
        **FAST_PING,
        doc="handshake and CONNECT, then nothing: the ping timeout fires",
    ),
    ends(
        "silence-polling",
        "polling",
        silence,
        "ping timeout",
        **FAST_PING,
        doc="as silence, every GET held unanswered",
    ),
    Case(
        "silence-before-connect",
        "websocket",
        silence_before_connect,
        "connect_failed",
        ping_interval=1000,
        ping_timeout=1000,
        doc="the handshake, then nothing: no CONNECT reply, no ping",
    ),
    Case(
        "flood-before-connect",
        "websocket",
        flood(1000, 64, True),
        "connect_failed",
        connect_timeout=3.0,
        doc="1 KB events, CONNECT never answered",
    ),
    Case(
        "flood-before-connect-reconnect",
        "websocket",
        flood(1000, 64, True),
        "connect_failed",
        connect_timeout=2.0,
        deadline=8.0,
        reconnect=True,
        doc="as flood-before-connect, reconnection on: 8 s of a CONNECT never answered",
    ),
    Case(
        "flood-before-connect-polling",
        "polling",
        flood(1000, 1000, True),
        "connect_failed",
        connect_timeout=3.0,
        doc="1 MB bodies of 1 KB events, CONNECT never answered",
    ),
    Case(
        "flood-after-connect",
        "websocket",
        flood(64 * 1024, 16, False),
        "survives",
        doc="64 KiB events as fast as the client reads",
    ),
    Case(
        "flood-after-connect-stalled",
        "websocket",
        flood(MIB, 1, False),
        "survives",
        stall=True,
        doc="1 MiB events; the application never takes them",
    ),
    ends(
        "amplification-pings",
        "polling",
        amplification("2"),
        TOO_LARGE,
        doc="bodies of 8 million one-byte pings (past the packets-per-payload cap)",
    ),
    ends(
        "amplification-events",
        "polling",
        amplification('42["a"]'),
        TOO_LARGE,
        doc="bodies of 2 million tiny events (past the packets-per-payload cap)",
    ),
    ends(
        "write-stall",
        "websocket",
        write_stall,
        *STALLED,
        emit=20000,
        **FAST_PING,
        doc="stops reading, keeps pinging; the client emits 20,000 x 1 KB",
    ),
    ends(
        "write-stall-polling",
        "polling",
        write_stall,
        *STALLED,
        emit=20000,
        **FAST_PING,
        doc="never answers POSTs, keeps pinging; the client emits 20,000 x 1 KB",
    ),
    ends(
        "ping-flood",
        "websocket",
        ping_flood,
        *STALLED,
        **FAST_PING,
        doc="WebSocket ping frames as fast as possible, never reading (nor pinging)",
    ),
    Case(
        "cookie-growth",
        "polling",
        cookie_growth,
        "survives",
        check_stats=cookie_bounded,
        doc="8 new 2 KB cookies in every response",
    ),
    ends(
        "oversized",
        "websocket",
        oversized,
        TOO_LARGE,
        doc="one message over the client's 16 MiB limit",
    ),
    ends(
        "oversized-polling",
        "polling",
        oversized,
        TOO_LARGE,
        doc="one body over the client's 16 MiB limit",
    ),
    ends(
        "compression-bomb",
        "polling",
        compression_bomb,
        TOO_LARGE,
        doc="a gzip body of ~255 KiB inflating to 256 MiB (the limit counts inflated bytes)",
    ),
    ends(
        "compression-bomb-websocket",
        "websocket",
        compression_bomb_websocket,
        TOO_LARGE,
        ws_deflate=True,
        doc="a permessage-deflate message of ~255 KiB inflating to 256 MiB",
    ),
    ends(
        "large-attachments",
        "websocket",
        large_attachments,
        TOO_LARGE,
        doc="one event, 10 attachments of 15 MiB (150 MiB in all)",
    ),
    Case(
        "wide-json",
        "websocket",
        wide_json,
        "survives",
        (TOO_LARGE,),
        doc="one event: an array of 8 million zeros (under 16 MiB)",
    ),
    ends(
        "bad-engine-type",
        "websocket",
        send_once("9oops"),
        "parse error",
        doc="an Engine.IO packet of unknown type",
    ),
    ends(
        "bad-socketio-type",
        "websocket",
        send_once('49["x"]'),
        "parse error",
        doc="a Socket.IO packet of unknown type",
    ),
    ends(
        "bad-json",
        "websocket",
        send_once('42["x",'),
        "parse error",
        doc="an event whose JSON is cut",
    ),
    ends(
        "bad-utf8",
        "websocket",
        send_raw_once(b'42["x","\xff\xfe"]'),
        "invalid utf-8",
        doc="a text message that is not UTF-8",
    ),
    ends(
        "bad-utf8-polling",
        "polling",
        send_raw_once(b'42["x","\xff\xfe"]'),
        "invalid utf-8",
        doc="a polling body that is not UTF-8",
    ),
    ends(
        "attachments-lie",
        "websocket",
        send_once('451-["x",{"_placeholder":true,"num":0}]', '42["y"]'),
        "parse error",
        "protocol violation",
        doc="one attachment announced, a text packet instead",
    ),
    ends(
        "attachments-count",
        "websocket",
        send_once('45999999999-["x",{"_placeholder":true,"num":0}]'),
        TOO_LARGE,
        doc="an attachment count far past the limit",
    ),
    ends(
        "bad-frame",
        "websocket",
        bad_frame,
        "protocol violation",
        doc="a WebSocket frame with a reserved opcode",
    ),
]

CASES = {case.name: case for case in CASE_LIST}
