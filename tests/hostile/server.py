"""A hostile Engine.IO v4 / Socket.IO v5 server for the client's bounds (tests/hostile).

Speaks just enough of the protocol, over HTTP long-polling and WebSocket, to get a client
connected, then misbehaves as the case named by the ``case`` query parameter of the URL
says (``http://127.0.0.1:PORT/?case=silence&run=ID``; the client keeps the URL's query on
every request). Python standard library only; one thread per TCP connection.

Run: ``python3 tests/hostile/server.py`` prints ``PORT <n>`` on stdout once it listens on
an ephemeral loopback port, and exits when its stdin closes. ``GET /stats?run=ID`` answers
what the server saw of that run (JSON: requests, largest Cookie header, bytes sent).
``run.py`` starts it and drives the clients; ``cases.py`` says what each case does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

RS = "\x1e"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: The client's default limit on one HTTP body or WebSocket message (max_incoming_bytes).
CLIENT_MAX_INCOMING = 16 * 1024 * 1024
#: A polling session with no request for this long is gone.
POLLING_IDLE = 10.0


class Gone(Exception):
    """The client went away."""


class Stats:
    """What the server saw of one run, by run id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[str, dict[str, int]] = {}

    def add(self, run: str, key: str, value: int) -> None:
        with self.lock:
            entry = self.runs.setdefault(run, {})
            entry[key] = entry.get(key, 0) + value

    def peak(self, run: str, key: str, value: int) -> None:
        with self.lock:
            entry = self.runs.setdefault(run, {})
            entry[key] = max(entry.get(key, 0), value)

    def get(self, run: str) -> dict[str, int]:
        with self.lock:
            return dict(self.runs.get(run, {}))


STATS = Stats()


class Link:
    """One client session as the cases see it, over either transport.

    ``send`` writes Engine.IO packets (one WebSocket message each, or one polling
    payload joined by the record separator); ``send_raw`` writes one message or body as
    given. Both raise :class:`Gone` once the client left.
    """

    transport = ""

    def __init__(self, case: str, run: str, sid: str) -> None:
        self.case = case
        self.run = run
        self.sid = sid
        self.connect_requested = threading.Event()
        self.gone = threading.Event()
        #: The case sets it to stop answering: WebSocket stops reading, polling holds POSTs.
        self.stall_writes = threading.Event()
        #: Polling: hold every GET (never answer) once set.
        self.hold_gets = threading.Event()
        #: Polling: Set-Cookie headers added to every response.
        self.cookies: Callable[[], list[str]] | None = None

    def alive(self) -> bool:
        return not self.gone.is_set()

    def send(self, packets: list[str]) -> None:
        raise NotImplementedError

    def send_raw(self, data: bytes, binary: bool = False) -> None:
        raise NotImplementedError

    def wait_connect_request(self) -> None:
        """Waits for the client's CONNECT (``40``)."""
        while not self.connect_requested.wait(0.2):
            if not self.alive():
                raise Gone

    def accept_connect(self) -> None:
        """Waits for the client's CONNECT and accepts it."""
        self.wait_connect_request()
        self.send(['40{"sid":"' + self.sid + '-ns"}'])

    def idle(self) -> None:
        """Does nothing until the client leaves."""
        while self.alive():
            self.gone.wait(0.5)

    def on_packet(self, packet: str) -> None:
        if packet.startswith("40"):
            self.connect_requested.set()
        elif packet == "1":
            self.gone.set()


def handshake(sid: str, ping_interval: int, ping_timeout: int) -> str:
    return "0" + json.dumps(
        {
            "sid": sid,
            "upgrades": [],
            "pingInterval": ping_interval,
            "pingTimeout": ping_timeout,
            "maxPayload": 1000000,
        }
    )


# WebSocket ----------------------------------------------------------------------------------


class WsLink(Link):
    transport = "websocket"

    def __init__(self, case: str, run: str, sid: str, conn: socket.socket) -> None:
        super().__init__(case, run, sid)
        self.conn = conn
        self.write_lock = threading.Lock()
        #: Whether permessage-deflate was negotiated.
        self.deflate = False

    def frame(self, opcode: int, data: bytes, rsv1: bool = False) -> None:
        """One final frame; ``rsv1`` marks a permessage-deflate compressed message."""
        length = len(data)
        first = 0x80 | (0x40 if rsv1 else 0) | opcode
        if length < 126:
            header = bytes([first, length])
        elif length < 1 << 16:
            header = bytes([first, 126]) + length.to_bytes(2, "big")
        else:
            header = bytes([first, 127]) + length.to_bytes(8, "big")
        with self.write_lock:
            if self.gone.is_set():
                raise Gone
            try:
                self.conn.sendall(header + data if length < 65536 else header)
                if length >= 65536:
                    self.conn.sendall(data)
            except OSError:
                self.gone.set()
                raise Gone from None
        STATS.add(self.run, "bytes_sent", len(header) + length)

    def send(self, packets: list[str]) -> None:
        for packet in packets:
            self.frame(0x1, packet.encode())

    def send_raw(self, data: bytes, binary: bool = False) -> None:
        self.frame(0x2 if binary else 0x1, data)

    def read_loop(self) -> None:
        """Reads the client's frames, answering pings, until the case stalls writes."""
        try:
            while not self.stall_writes.is_set():
                readable, _, _ = select.select([self.conn], [], [], 0.2)
                if not readable:
                    continue
                opcode, data = read_frame(self.conn)
                if opcode == 0x8:
                    break
                if opcode == 0x9:
                    self.frame(0xA, data)
                elif opcode == 0x1:
                    self.on_packet(data.decode("utf-8", "replace"))
        except (OSError, Gone, ValueError):
            self.gone.set()
            return
        if not self.stall_writes.is_set():
            self.gone.set()
            return
        # Not reading any more: the client is gone once a write fails, or the socket
        # reports an error or hang-up.
        poller = select.poll()
        poller.register(self.conn, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
        while self.alive():
            if poller.poll(500):
                self.gone.set()


def recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise Gone
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(conn: socket.socket) -> tuple[int, bytes]:
    """One complete message (continuation frames joined): opcode and unmasked data."""
    opcode = None
    parts = []
    while True:
        b0, b1 = recv_exact(conn, 2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(recv_exact(conn, 2), "big")
        elif length == 127:
            length = int.from_bytes(recv_exact(conn, 8), "big")
        mask = recv_exact(conn, 4) if b1 & 0x80 else b""
        data = recv_exact(conn, length)
        if mask:
            key = (mask * (length // 4 + 1))[:length]
            data = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(
                length, "big"
            )
        frame_opcode = b0 & 0x0F
        if frame_opcode >= 0x8:
            return frame_opcode, data
        if opcode is None:
            opcode = frame_opcode
        parts.append(data)
        if b0 & 0x80:
            return opcode, b"".join(parts)


# Polling ------------------------------------------------------------------------------------


class PollingLink(Link):
    transport = "polling"

    def __init__(self, case: str, run: str, sid: str) -> None:
        super().__init__(case, run, sid)
        #: Bodies for GETs, each with whether it is sent gzip-encoded (already compressed).
        self.outbox: queue.Queue[tuple[bytes, bool]] = queue.Queue(maxsize=2)
        self.last_request = time.monotonic()
        self.active_requests = 0
        self.lock = threading.Lock()

    def alive(self) -> bool:
        if self.gone.is_set():
            return False
        with self.lock:
            idle = self.active_requests == 0 and time.monotonic() - self.last_request > POLLING_IDLE
        if idle:
            self.gone.set()
        return not idle

    def send(self, packets: list[str]) -> None:
        self.send_raw(RS.join(packets).encode())

    def send_raw(self, data: bytes, binary: bool = False) -> None:
        if binary:
            data = b"b" + base64.b64encode(data)
        self.queue_body(data, gzip=False)

    def send_gzip(self, compressed: bytes) -> None:
        """Answers a GET with ``compressed``, sent as ``Content-Encoding: gzip``."""
        self.queue_body(compressed, gzip=True)

    def queue_body(self, data: bytes, gzip: bool) -> None:
        while True:
            if not self.alive():
                raise Gone
            try:
                self.outbox.put((data, gzip), timeout=0.2)
                return
            except queue.Full:
                continue

    def next_body(self, conn: socket.socket) -> tuple[bytes, bool] | None:
        """The next payload for a GET and whether it is gzip-encoded; ``None`` when the
        client left or the GET is held."""
        while self.alive():
            if self.hold_gets.is_set():
                return None
            try:
                return self.outbox.get(timeout=0.2)
            except queue.Empty:
                if peer_closed(conn):
                    return None
        return None


def peer_closed(conn: socket.socket) -> bool:
    """Whether the peer hung up (without consuming pipelined data)."""
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


# HTTP ---------------------------------------------------------------------------------------


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.headers = headers
        self.body = body
        parsed = urllib.parse.urlsplit(target)
        self.path = parsed.path
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}


def read_request(reader: Any) -> Request | None:
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}; {value}" if key == "cookie" and key in headers else value
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(reader.readline().split(b";")[0], 16)
            if size == 0:
                reader.readline()
                break
            parts.append(reader.read(size))
            reader.readline()
        body = b"".join(parts)
    elif "content-length" in headers:
        body = reader.read(int(headers["content-length"]))
    return Request(method, target, headers, body)


def respond(
    conn: socket.socket,
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=UTF-8",
    extra: list[str] | None = None,
) -> None:
    head = [
        f"HTTP/1.1 {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Access-Control-Allow-Origin: *",
        *(extra or []),
    ]
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    conn.sendall(data)
    conn.sendall(body)


SESSIONS: dict[str, PollingLink] = {}
SESSIONS_LOCK = threading.Lock()


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = conn.makefile("rb")
        try:
            while True:
                request = read_request(reader)
                if request is None:
                    return
                if not self.dispatch(conn, reader, request):
                    return
        except (OSError, ValueError, Gone):
            return
        finally:
            reader.close()

    def dispatch(self, conn: socket.socket, reader: Any, request: Request) -> bool:
        """Serves one request; false when the connection must end."""
        if request.path == "/stats":
            body = json.dumps(STATS.get(request.query.get("run", ""))).encode()
            respond(conn, "200 OK", body, "application/json")
            return True
        case_name = request.query.get("case", "")
        run = request.query.get("run", "")
        STATS.add(run, "requests", 1)
        cookie = request.headers.get("cookie", "")
        STATS.peak(run, "max_cookie_header", len(cookie))
        case = CASES.get(case_name)
        if case is None:
            respond(conn, "404 Not Found", f"unknown case {case_name!r}".encode())
            return False
        transport = request.query.get("transport")
        if transport == "websocket" and "upgrade" in request.headers.get("connection", "").lower():
            serve_websocket(conn, reader, request, case_name, run, case)
            return False
        if transport != "polling":
            respond(conn, "400 Bad Request", b"transport")
            return False
        sid = request.query.get("sid")
        if sid is None:
            sid = os.urandom(8).hex()
            link = PollingLink(case_name, run, sid)
            with SESSIONS_LOCK:
                SESSIONS[sid] = link
            body = case.handshake(sid).encode()
            respond(conn, "200 OK", body, extra=cookies_of(link))
            threading.Thread(target=run_case, args=(case, link), daemon=True).start()
            return True
        with SESSIONS_LOCK:
            known = SESSIONS.get(sid)
        if known is None:
            respond(conn, "400 Bad Request", b'{"code":1,"message":"Session ID unknown"}')
            return True
        link = known
        with link.lock:
            link.active_requests += 1
            link.last_request = time.monotonic()
        try:
            return serve_polling(conn, request, link)
        finally:
            with link.lock:
                link.active_requests -= 1
                link.last_request = time.monotonic()


def cookies_of(link: Link) -> list[str]:
    return [f"Set-Cookie: {c}" for c in link.cookies()] if link.cookies else []


def serve_polling(conn: socket.socket, request: Request, link: PollingLink) -> bool:
    if request.method == "POST":
        text = request.body.decode("utf-8", "replace")
        if len(text) < 65536:
            for packet in text.split(RS):
                link.on_packet(packet)
        elif text.startswith("40") or RS + "40" in text:
            link.on_packet("40")  # a flood of pongs with a CONNECT in it
        if link.stall_writes.is_set() and link.connect_requested.is_set():
            # Never answer: hold the request until the client hangs up.
            while link.alive() and not peer_closed(conn):
                time.sleep(0.2)
            return False
        respond(conn, "200 OK", b"ok", extra=cookies_of(link))
        return True
    next_body = link.next_body(conn)
    if next_body is None:
        while link.alive() and not peer_closed(conn):
            time.sleep(0.2)
        return False
    body, gzip = next_body
    encoding = ["Content-Encoding: gzip"] if gzip else []
    respond(conn, "200 OK", body, "text/plain; charset=UTF-8", extra=cookies_of(link) + encoding)
    STATS.add(link.run, "bytes_sent", len(body))
    return True


def serve_websocket(
    conn: socket.socket, reader: Any, request: Request, case_name: str, run: str, case: Any
) -> None:
    key = request.headers.get("sec-websocket-key", "").encode()
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
    # permessage-deflate only where the case asks for it (the client offers it by default);
    # the server then sends compressed frames itself and never reads compressed ones.
    offered = "permessage-deflate" in request.headers.get("sec-websocket-extensions", "")
    deflate = offered and getattr(case, "ws_deflate", False)
    extensions = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
    conn.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
        ).encode()
    )
    sid = os.urandom(8).hex()
    link = WsLink(case_name, run, sid, conn)
    link.deflate = deflate
    try:
        link.send([case.handshake(sid)])
    except Gone:
        return
    threading.Thread(target=link.read_loop, daemon=True).start()
    run_case(case, link)
    # Keep the connection until the client leaves (the reader notices).
    link.idle()


def run_case(case: Any, link: Link) -> None:
    try:
        case.run(link)
    except Gone:
        pass
    except Exception as error:  # a bug in a case: say so on stderr, keep serving
        print(f"case {link.case} failed: {error!r}", file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


CASES: dict[str, Any] = {}


def main() -> None:
    from cases import CASES as defined  # cases.py imports this module: import it late

    CASES.update(defined)
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    # Run as the module `server`, the one cases.py imports (one Gone, one CASES).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import server

    server.main()
