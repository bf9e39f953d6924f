"""``SimpleClient``: a blocking client for scripts, as python-socketio's ``SimpleClient``
(one namespace, ``receive`` instead of handlers). No asyncio, no threads of its own: calls
block in the native layer (without holding the GIL) and ``receive`` pulls drained batches.
"""

from __future__ import annotations

import collections
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _codec
from . import exceptions as exc
from ._auth import Auth, new_manager, resolve
from ._errors import convert
from ._ffi import ferrio_ffi as ffi
from ._finalise import track
from ._handlers import RESERVED_EVENTS
from ._options import Options, Settings, transport_name
from ._stats import ConnectionStats, stats_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: Longest single blocking wait in `receive`, so that Ctrl-C is seen.
_SLICE_MS = 200


class SimpleClient:
    """A blocking Socket.IO client for one namespace, as python-socketio's
    ``SimpleClient``.

    ::

        with ferrio.SimpleClient() as client:
            client.connect("http://localhost:3000")
            client.emit("chat", "hello")
            event, *args = client.receive(timeout=5)

    The keyword arguments are those of every client (see :class:`ferrio._options.Options`);
    an option left ``None`` (as ``wait_timeout`` and ``socketio_path`` of ``connect``)
    takes the default of the Rust core, the same in every language.
    """

    def __init__(self, url: str | None = None, **options: Unpack[Options]) -> None:
        self._url = url
        self._settings = Settings(**options)
        self._manager: ffi.Manager | None = None
        #: The last manager closed, for ``stats()`` after ``disconnect()``.
        self._closed_manager: ffi.Manager | None = None
        self._socket: ffi.Socket | None = None
        self._stream: ffi.EventStream | None = None
        self._received: collections.deque[list[Any]] = collections.deque()

    def connect(
        self,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Auth = None,
        transports: str | list[str] | None = None,
        namespace: str = "/",
        socketio_path: str | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        """Connects to ``url`` and ``namespace``; raises as ``AsyncClient.connect``."""
        if self._manager is not None:
            raise exc.ConnectionError("already connected")
        url = url or self._url
        if url is None:
            raise ValueError("connect() needs a URL")
        options = self._settings.options(
            url,
            headers=headers,
            auth=resolve(auth),
            transports=transports,
            socketio_path=socketio_path,
            wait_timeout=wait_timeout,
        )
        try:
            self._manager = track(new_manager(options, auth, None))
            self._socket = self._manager.socket(namespace, None)
            self._stream = self._socket.events()
            self._socket.connect_blocking()
        except Exception as error:
            self._close()
            raise convert(error) from None

    def _ready(self, event: str) -> ffi.Socket:
        if self._socket is None:
            raise exc.DisconnectedError("not connected")
        if event in RESERVED_EVENTS:
            raise exc.EmitError(f"{event!r} is a reserved event name")
        return self._socket

    def emit(self, event: str, data: Any = None, *, volatile: bool = False) -> None:
        """Sends ``event`` with ``data`` (a tuple for several arguments; ``bytes`` travel as
        binary). Waits only while the outgoing queue is full. ``volatile=True``: dropped,
        not buffered, when the connection cannot take it now (or the queue is full), as
        the JavaScript client's ``socket.volatile.emit``."""
        socket = self._ready(event)
        text, attachments = _codec.encode(_codec.args_of(data))
        if volatile:
            try:
                socket.emit_volatile(event, text, attachments)
            except ffi.EmitError.QueueFull:
                pass
            except Exception as error:
                raise convert(error) from None
            return
        try:
            socket.emit(event, text, attachments)
        except ffi.EmitError.QueueFull:
            try:
                socket.emit_blocking(event, text, attachments)
            except Exception as error:
                raise convert(error) from None
        except Exception as error:
            raise convert(error) from None

    def call(self, event: str, data: Any = None, timeout: float | None = 60) -> Any:
        """Sends ``event`` and returns the server's acknowledgement (``None``, one value or
        a tuple); raises :class:`ferrio.TimeoutError` after ``timeout`` seconds."""
        socket = self._ready(event)
        text, attachments = _codec.encode(_codec.args_of(data))
        timeout_ms = None if timeout is None else max(0, int(timeout * 1000))
        try:
            ack = socket.emit_with_ack_blocking(event, text, attachments, timeout_ms)
        except Exception as error:
            raise convert(error) from None
        return _codec.unpack(_codec.decode(ack.args_json, ack.attachments))

    def join_room(self, room: str) -> None:
        """Joins ``room``, again after every reconnection that did not recover the session
        (see :meth:`AsyncClient.join_room`)."""
        socket = self._ready("join_room")
        try:
            socket.join_room_blocking(room)
        except Exception as error:
            raise convert(error) from None

    def leave_room(self, room: str) -> None:
        """Leaves ``room`` (see :meth:`AsyncClient.leave_room`)."""
        socket = self._ready("leave_room")
        try:
            socket.leave_room_blocking(room)
        except Exception as error:
            raise convert(error) from None

    def receive(self, timeout: float | None = None) -> list[Any]:
        """The next event from the server as ``[event, *args]``; raises
        :class:`ferrio.TimeoutError` when none arrives within ``timeout`` seconds and
        :class:`ferrio.DisconnectedError` when the client is closed. An acknowledgement the
        server asked for is answered with no values (by the core, once the event is let go),
        as python-socketio's ``SimpleClient`` does."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._received:
            stream = self._stream
            if stream is None:
                raise exc.DisconnectedError("not connected")
            wait_ms = _SLICE_MS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise exc.TimeoutError("no event received in time")
                wait_ms = min(wait_ms, max(1, int(left * 1000)))
            try:
                batch = stream.next_batch_blocking(64, wait_ms)
            except Exception as error:
                raise convert(error) from None
            if not batch and stream.is_closed():
                raise exc.DisconnectedError("the client is closed")
            for record in batch:
                if record.kind == ffi.EventKind.EVENT:
                    args = _codec.decode(record.args_json, record.attachments)
                    self._received.append([record.name, *args])
        return self._received.popleft()

    def disconnect(self) -> None:
        """Disconnects and releases the connection."""
        if self._socket is not None:
            try:
                self._socket.disconnect_blocking()
            except Exception as error:
                raise convert(error) from None
        self._close()

    def _close(self) -> None:
        manager = self._manager
        self._manager = self._socket = self._stream = None
        if manager is not None:
            self._closed_manager = manager
            try:
                manager.close_blocking()
            except Exception as error:
                raise convert(error) from None

    @property
    def sid(self) -> str | None:
        """The session id, while connected."""
        return None if self._socket is None else self._socket.id()

    @property
    def connected(self) -> bool:
        """Whether the namespace is connected."""
        return self._socket is not None and self._socket.connected()

    @property
    def transport(self) -> str:
        """``"polling"`` or ``"websocket"`` while connected, else ``""`` (a property, as
        python-socketio's ``SimpleClient.transport``)."""
        if self._manager is None:
            return ""
        return transport_name(self._manager.transport()) or ""

    def stats(self) -> ConnectionStats:
        """The connection's statistics now (see :class:`ConnectionStats`); after
        ``disconnect()``, those counted until then."""
        return stats_of(self._manager or self._closed_manager)

    def __enter__(self) -> SimpleClient:
        if self._url is not None and self._manager is None:
            self.connect(self._url)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disconnect()
