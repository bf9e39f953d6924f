"""``AsyncClient``: the asyncio API, in the style of python-socketio's ``AsyncClient``.

Events reach the caller's event loop in drained batches, one namespace at a time, and are
dispatched there: sync handlers are called in place, async ones run as tasks. Where the
platform and the loop allow it (Unix, a selector loop), the loop watches a descriptor of
the native layer's event pipe and takes events and acknowledgements with sync calls;
elsewhere one task per namespace awaits the next batch. Emits made in one loop iteration
cross the boundary together.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import struct
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from . import _codec
from . import exceptions as exc
from ._auth import Auth, new_manager, resolve_async
from ._errors import convert
from ._event import Event
from ._ffi import ferrio_ffi as ffi
from ._finalise import track
from ._flag import Flag
from ._handlers import RESERVED_EVENTS, Handler, Registered, take
from ._manager_events import ManagerEvents
from ._options import Options, Settings, transport_name
from ._outbox import Outbox
from ._pipe_take import take_batch
from ._stats import BufferedEmits, ConnectionStats, stats_of
from .namespace import AsyncClientNamespace

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("ferrio")

#: Emits per batch: each batch is one native call that lowers its text through a
#: RustBuffer, a fixed cost that still showed at 64 (py-spy: 17 % of an emit loop's CPU).
BATCH = 256
#: Events per pull: plain events cross as one JSON text (one ``json.loads`` per batch),
#: so larger drained batches keep getting cheaper.
PULL_BATCH = 256
#: How long `connect`/`disconnect` wait for their handlers to have run.
HANDLER_WAIT = 5.0
#: How many events an ``events()`` iterator keeps for its loop by default (as the core's
#: incoming queue of a socket).
EVENTS_MAX_QUEUED = 1024

F = TypeVar("F", bound=Handler)
_decode_json = json.loads
#: Parses the JSON text of a batch (made by the native layer: valid, nothing around it)
#: without `json.loads`'s detection of the bytes' encoding and its checks around the value,
#: a fixed ~2 µs per call: most of the decoding of a batch of one event.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_END = object()
#: The call socket of an event pipe (``EventPipe.call_fd``): a request datagram is the
#: call id and the timeout in ms (little-endian u64s), then the JSON text of
#: ``[event, *args]``; a reply datagram the id, then the JSON text of the reply's values.
#: Binary values are placeholders in the text, their bytes after it: a zero byte, then
#: each one's length (little-endian u32) and bytes.
_CALL_HEADER = struct.Struct("<QQ").pack
_REPLY_ID = struct.Struct("<Q").unpack_from
_LENGTH = struct.Struct("<I")
_BINARY_MARK = b"\0"
#: The largest datagram either side of the call socket sends: 64 KiB of binary and its
#: text fit, and a read buffer of this size still comes from the heap (one past glibc's
#: 128 KiB mmap threshold costs an mmap per read).
_MAX_CALL_DATAGRAM = 120 * 1024
#: Ids of calls made through the call socket (those of ``EventPipe.emit_with_ack`` are
#: below).
_FIRST_CALL_ID = 1 << 63
_read = os.read
_write = os.write


class _Namespace:
    """One connected namespace: its socket, how its events arrive (an event pipe the loop
    watches, or a pull task) and what it has seen."""

    #: One per connected namespace: slots instead of a ``__dict__`` (~200 bytes less each).
    __slots__ = (
        "call_fd",
        "calls",
        "connected",
        "disconnected",
        "drained",
        "ended",
        "failed",
        "name",
        "next_call",
        "outgoing",
        "pipe",
        "sid",
        "socket",
        "stream",
        "task",
    )

    def __init__(
        self, name: str, socket: ffi.Socket, stream: ffi.EventStream | None, pipe: Any
    ) -> None:
        self.name = name
        self.socket = socket
        #: Exactly one of the two: a stream pulled by `task`, or an `ffi.EventPipe`.
        self.stream = stream
        self.pipe = pipe
        self.task: asyncio.Task[None] | None = None
        #: With a pipe: the pending `call`s by id, the pipe's call socket (opened by the
        #: first call: ``None`` until then, -1 when it could not be) and the next id of a
        #: call made through it, and set once the pipe has ended.
        self.calls: dict[int, asyncio.Future[Any]] = {}
        self.call_fd: int | None = None
        self.next_call = _FIRST_CALL_ID
        self.drained = Flag()
        self.sid: str | None = None
        #: Disconnected for good: by the server (``io server disconnect``), or by a lost
        #: connection without reconnection.
        self.ended = False
        self.connected = Flag()
        self.failed = Flag()
        self.disconnected = Flag()
        #: The native subscription feeding the namespace's outgoing handler, if any.
        self.outgoing: ffi.Subscription | None = None


class _OutgoingListener(ffi.EventListener):  # type: ignore[misc]  # the generated module is untyped
    """Hands the batches of a namespace's outgoing events (``Socket.subscribe_outgoing``,
    called on a native delivery thread) to the client's loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[list[ffi.EventRecord]], None]
    ) -> None:
        self._loop = loop
        self._deliver = deliver

    def on_events(self, batch: list[ffi.EventRecord]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the client is gone
            self._loop.call_soon_threadsafe(self._deliver, batch)


class EventIterator:
    """``async for event in client.events()``: custom events from its creation on.

    It keeps at most ``max_queued`` events that were not taken yet; events past that are
    dropped (counted in :attr:`dropped`, with a warning logged when a run of drops starts),
    so a loop that stops taking events cannot grow the process without bound. Handlers
    are not affected."""

    def __init__(self, client: AsyncClient, namespace: str | None, max_queued: int) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._client = client
        self._namespace = namespace
        self._max_queued = max_queued
        # Bounded by its own size: the events, and a place for the end marker.
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_queued + 1)
        self._ended = False
        self._dropping = False
        #: Events dropped because ``max_queued`` events were waiting.
        self.dropped = 0
        client._iterators[self] = None

    def __aiter__(self) -> EventIterator:
        return self

    async def __anext__(self) -> Event:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stops receiving."""
        self._client._iterators.pop(self, None)
        self._end()

    def _offer(self, event: Event) -> None:
        if self._namespace is not None and event.namespace != self._namespace:
            return
        if self._queue.qsize() >= self._max_queued:
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "events(): %d events waiting, dropping new ones (%d dropped so far)",
                    self._max_queued,
                    self.dropped,
                )
            return
        self._dropping = False
        self._queue.put_nowait(event)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(_END)


class AsyncClient:
    """A Socket.IO client for asyncio.

    ::

        client = ferrio.AsyncClient(reconnection_delay=0.5)

        @client.on("chat")
        async def on_chat(message):
            print(message)

        await client.connect("http://localhost:3000", auth={"token": "t"})
        reply = await client.call("join", "lobby", timeout=5)
        await client.disconnect()

    The keyword arguments are the options of :class:`ferrio._options.Options` (times in
    seconds, ``reconnection_attempts=0`` unlimited); an option left ``None`` (as
    ``wait_timeout`` and ``socketio_path`` of ``connect``) takes the default of the Rust
    core, the same in every language.
    """

    def __init__(self, url: str | None = None, **options: Unpack[Options]) -> None:
        self._url = url
        self._settings = Settings(**options)
        self._handlers: dict[str, dict[str, Registered]] = {}
        #: Class-based namespaces (``register_namespace``): their ``trigger_event``.
        self._namespace_handlers: dict[str, Registered] = {}
        #: The outgoing catch-all of each namespace (``on_any_outgoing``).
        self._outgoing_handlers: dict[str, Registered] = {}
        self._manager: ffi.Manager | None = None
        #: The last manager closed, for ``stats()`` after ``disconnect()``.
        self._closed_manager: ffi.Manager | None = None
        self._namespaces: dict[str, _Namespace] = {}
        # Dicts used as sets (values None): an empty dict is 64 bytes, an empty set 216.
        self._iterators: dict[EventIterator, None] = {}
        self._tasks: dict[asyncio.Task[Any], None] = {}
        self._outbox = Outbox(self._keep)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed: Flag | None = None
        #: Whether the connection reconnects by itself (the options of `connect`).
        self._reconnection = True
        #: Whether reconnection may give up (a limited number of attempts), which ends the
        #: connection for good: the manager's events are watched for it.
        self._may_give_up = False
        #: While `connect` or `disconnect` runs: they release the connection themselves.
        self._busy = False
        #: Watches the manager's events: dispatches them to ``io``'s handlers, and ends
        #: the connection when reconnection gives up. Only while there is something to
        #: watch for (see `_watch_if_needed`).
        self._watch_task: asyncio.Task[None] | None = None
        #: The handlers of the manager's events (``client.io.on("reconnect", ...)``).
        self.io = ManagerEvents()
        #: The release of a connection that ended by itself (see `_end_for_good`).
        self._ending: asyncio.Task[None] | None = None

    # Handlers -----------------------------------------------------------------------------

    @overload
    def on(
        self, event: str, handler: None = None, namespace: str | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def on(self, event: str, handler: F, namespace: str | None = None) -> F: ...

    def on(
        self, event: str, handler: F | None = None, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """Registers ``handler`` for ``event`` in ``namespace`` (default ``/``); as a
        decorator without ``handler``. ``"*"`` catches every event without a handler of its
        own (called with the event name first); namespace ``"*"`` catches every namespace
        without a handler of its own for the event (called with the namespace first, after
        the event name for event ``"*"``), as in python-socketio. A handler may be sync or
        async; its return value answers the server's acknowledgement request (a tuple for
        several values). Built-in events: ``connect``, ``connect_error`` (the error data),
        ``disconnect`` (the reason). An event has one handler: registering another
        replaces it."""
        return self._register(event, handler, namespace, once=False)

    @overload
    def once(
        self, event: str, handler: None = None, namespace: str | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def once(self, event: str, handler: F, namespace: str | None = None) -> F: ...

    def once(
        self, event: str, handler: F | None = None, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """As :meth:`on`, but the handler runs for the next ``event`` only, then is
        removed (as the JavaScript client's ``once``)."""
        return self._register(event, handler, namespace, once=True)

    def off(self, event: str, handler: Handler | None = None, namespace: str | None = None) -> None:
        """Removes the handler of ``event`` in ``namespace`` (default ``/``): any handler,
        or only ``handler`` when given (another handler of the event is then kept). An
        event has one handler at a time, as in python-socketio: :meth:`on` replaces it."""
        handlers = self._handlers.get(namespace or "/")
        if not handlers or event not in handlers:
            return
        if handler is None or handlers[event].function == handler:
            del handlers[event]

    @overload
    def on_any_outgoing(
        self, handler: None = None, namespace: str | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def on_any_outgoing(self, handler: F, namespace: str | None = None) -> F: ...

    def on_any_outgoing(
        self, handler: F | None = None, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """Registers the outgoing catch-all of ``namespace`` (default ``/``), as the
        JavaScript client's ``onAnyOutgoing``: ``handler(event, *args)`` is called with
        every event the client emits there (``emit``, ``call``, volatile emits, each once
        even when ``retries`` sends it again), in the order they were sent, on the loop
        like the other handlers. As a decorator: ``@client.on_any_outgoing`` or
        ``@client.on_any_outgoing(namespace="/admin")``. One per namespace: registering
        another replaces it.

        The events reach the handler through a queue of 1024: a handler that falls that
        far behind misses events (the emits are still sent), and a warning says how many
        were not reported. The join and leave events of :meth:`join_room` are not
        reported."""

        def register(function: F) -> F:
            name = namespace or "/"
            self._outgoing_handlers[name] = Registered(function)
            state = self._namespaces.get(name)
            if state is not None and state.outgoing is None:
                self._subscribe_outgoing(state)
            return function

        if handler is None:
            return register
        return register(handler)

    def off_any_outgoing(self, namespace: str | None = None) -> None:
        """Removes the outgoing catch-all of ``namespace`` (default ``/``)."""
        name = namespace or "/"
        self._outgoing_handlers.pop(name, None)
        state = self._namespaces.get(name)
        if state is not None and state.outgoing is not None:
            subscription, state.outgoing = state.outgoing, None
            try:
                subscription.cancel()
            except Exception as error:
                raise convert(error) from None

    def _subscribe_outgoing(self, state: _Namespace) -> None:
        """Feeds ``state``'s outgoing events to its outgoing catch-all."""
        assert self._loop is not None
        deliver = functools.partial(self._dispatch_outgoing, state.name)
        try:
            state.outgoing = state.socket.subscribe_outgoing(
                _OutgoingListener(self._loop, deliver), PULL_BATCH
            )
        except Exception as error:
            raise convert(error) from None

    def _dispatch_outgoing(self, namespace: str, batch: list[ffi.EventRecord]) -> None:
        handler = self._outgoing_handlers.get(namespace)
        if handler is None:
            return
        for record in batch:
            if record.kind == ffi.EventKind.LAGGED:
                logger.warning(
                    "%s: %d emits not shown to the outgoing handler (too slow)",
                    namespace,
                    record.dropped,
                )
                continue
            args = _codec.decode(record.args_json, record.attachments)
            self._run(handler, [record.name, *args], None)

    def register_namespace(self, namespace_handler: AsyncClientNamespace) -> None:
        """Registers a class-based namespace (see :class:`ferrio.AsyncClientNamespace`):
        its methods ``on_<event>`` handle the events of its namespace that have no handler
        of their own. ``connect()`` connects its namespace like those with handlers."""
        if not isinstance(namespace_handler, AsyncClientNamespace):
            raise TypeError("not an AsyncClientNamespace")
        namespace_handler._set_client(self)
        self._namespace_handlers[namespace_handler.namespace] = Registered(
            namespace_handler.trigger_event
        )

    def _register(
        self, event: str, handler: F | None, namespace: str | None, once: bool
    ) -> F | Callable[[F], F]:
        def register(function: F) -> F:
            registered = Registered(function, once)
            self._handlers.setdefault(namespace or "/", {})[event] = registered
            return function

        if handler is None:
            return register
        return register(handler)

    @overload
    def event(self, handler: F) -> F: ...

    @overload
    def event(self, *, namespace: str | None = None) -> Callable[[F], F]: ...

    def event(
        self, handler: F | None = None, *, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """Registers a handler named after its function: ``@client.event`` or
        ``@client.event(namespace="/admin")``."""
        if handler is not None:
            return self.on(handler.__name__, handler)
        return lambda function: self.on(function.__name__, function, namespace)

    # Connection ---------------------------------------------------------------------------

    async def connect(
        self,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Auth = None,
        transports: str | list[str] | None = None,
        namespaces: str | list[str] | None = None,
        socketio_path: str | None = None,
        wait_timeout: float | None = None,
        retry: bool = False,
    ) -> None:
        """Connects to ``url`` and every namespace of ``namespaces`` (default: those with
        handlers, else ``/``), and returns once all are connected and their ``connect``
        handlers have run.

        Raises :class:`ferrio.ConnectionRefusedError` (with the server's ``message`` and
        ``data``) when the server refuses a namespace, :class:`ferrio.ConnectionError`
        when the server cannot be reached within ``wait_timeout`` seconds. With
        ``retry=True`` (python-socketio's), a server that cannot be reached is tried again
        with the reconnection's delays and attempts instead: ``connect`` returns once it
        connected, or raises when reconnection gives up (``reconnection_attempts``). A
        server's refusal or a pinned-key mismatch is never retried; with
        ``reconnection=False`` nothing is.
        """
        if self._ending is not None:
            # The previous connection ended by itself: its release finishes first.
            await self._ending
            self._ending = None
        if self._manager is not None:
            raise exc.ConnectionError("already connected")
        url = url or self._url
        if url is None:
            raise ValueError("connect() needs a URL")
        if isinstance(namespaces, str):
            namespaces = [namespaces]
        names = (
            namespaces
            or [name for name in {**self._handlers, **self._namespace_handlers} if name != "*"]
            or ["/"]
        )
        options = self._settings.options(
            url,
            headers=headers,
            auth=await resolve_async(auth),
            transports=transports,
            socketio_path=socketio_path,
            wait_timeout=wait_timeout,
        )
        self._loop = asyncio.get_running_loop()
        self._closed = Flag()
        self._reconnection = options.reconnection
        self._may_give_up = options.reconnection and options.reconnection_attempts is not None
        self._busy = True
        try:
            try:
                manager = track(new_manager(options, auth, self._loop))
                self._manager = manager
                self.io.added = self._io_handler_added
                self._watch_if_needed()
                for name in names:
                    state = self._receive(manager.socket(name, None))
                    self._namespaces[state.name] = state
            except Exception as error:
                await self._shutdown()
                raise convert(error) from None
            results = await asyncio.gather(
                *(
                    self._connect_namespace(state, retry and self._reconnection)
                    for state in self._namespaces.values()
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    await self._shutdown()
                    raise result
        finally:
            self._busy = False
        # A namespace the server disconnected while the others were connecting.
        self._check_ended()

    def _receive(self, socket: ffi.Socket) -> _Namespace:
        """Starts receiving the events of ``socket``: through its event pipe when the
        platform has one and the loop can watch it, else with a pull task."""
        assert self._loop is not None
        open_pipe = getattr(socket, "event_pipe", None)  # Unix only
        if open_pipe is not None:
            pipe = open_pipe()
            state = _Namespace(socket.namespace(), socket, None, pipe)
            try:
                self._loop.add_reader(pipe.fd(), self._on_pipe, state)
            except NotImplementedError:  # e.g. the proactor loop
                pipe.close()
            else:
                return self._outgoing_of(state)
        state = _Namespace(socket.namespace(), socket, socket.events(), None)
        state.task = self._loop.create_task(self._pull(state))
        return self._outgoing_of(state)

    def _outgoing_of(self, state: _Namespace) -> _Namespace:
        """``state``, its outgoing catch-all subscribed when it has one."""
        if state.name in self._outgoing_handlers:
            self._subscribe_outgoing(state)
        return state

    async def _connect_namespace(self, state: _Namespace, retry: bool) -> None:
        """Connects ``state``'s namespace; with ``retry``, waits through the core's
        reconnection attempts while the server cannot be reached."""
        while True:
            state.failed.clear()
            try:
                await state.socket.connect()
                break
            except Exception as error:
                # The connect_error handler runs before connect() raises, as in
                # python-socketio.
                await _wait(state.failed, HANDLER_WAIT)
                if retry and isinstance(error, _RETRIED):
                    # The core schedules the next attempt; connect() waits for its outcome.
                    continue
                raise convert(error) from None
        await _wait(state.connected, HANDLER_WAIT)

    async def disconnect(self) -> None:
        """Flushes pending emits, disconnects every namespace (their ``disconnect``
        handlers run) and releases the connection. After a connection that ended by
        itself (see :meth:`wait`), waits for its release."""
        ending = self._ending
        if ending is not None and asyncio.current_task() not in self._tasks:
            await ending
        if self._manager is None:
            return
        self._busy = True
        try:
            try:
                await self._outbox.flush()
            except exc.FerrioError as error:
                logger.warning("emits lost on disconnect: %s", error)
            connected = [s for s in self._namespaces.values() if s.sid is not None]
            for state in connected:
                state.disconnected.clear()
                try:
                    await state.socket.disconnect()
                except Exception as error:
                    logger.warning("disconnect failed: %s", convert(error))
            for state in connected:
                await _wait(state.disconnected, HANDLER_WAIT)
            await self._shutdown()
        finally:
            self._busy = False

    async def _shutdown(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            self._closed_manager = manager
            try:
                await manager.close()
            except Exception as error:
                logger.error("close failed: %s", convert(error))
        tasks = [s.task for s in self._namespaces.values() if s.task is not None]
        watch_task, self._watch_task = self._watch_task, None
        if watch_task is not None:
            # The manager's event stream ends with the manager.
            tasks.append(watch_task)
        for state in self._namespaces.values():
            if state.pipe is not None:
                state.pipe.close()
            elif state.stream is not None:
                state.stream.close()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for state in self._namespaces.values():
            if state.pipe is not None:
                await _wait(state.drained, HANDLER_WAIT)
                self._end_pipe(state)
        current = asyncio.current_task()
        handlers = [t for t in self._tasks if t is not current]
        if handlers:
            _, late = await asyncio.wait(handlers, timeout=HANDLER_WAIT)
            for task in late:
                task.cancel()
        for iterator in self._iterators:
            iterator._end()
        self._iterators.clear()
        self._namespaces.clear()
        self._outbox.clear()
        if self._closed is not None:
            self._closed.set()

    async def wait(self) -> None:
        """Waits until the connection has ended for good, as python-socketio's ``wait``:
        after :meth:`disconnect`, once the server has disconnected every namespace
        (``io server disconnect``: the client does not reconnect then), once reconnection
        gives up (``reconnection_attempts`` failed attempts), or once the connection is
        lost with ``reconnection=False``. The connection is then released (iterators of
        :meth:`events` end) and :meth:`connect` may be called again. Returns at once when
        the client was never connected."""
        if self._closed is not None:
            await self._closed.wait()

    def _check_ended(self) -> None:
        """Releases the connection when every namespace has ended for good."""
        states = self._namespaces.values()
        if states and all(state.ended for state in states):
            self._end_for_good()

    def _end_for_good(self) -> None:
        """The connection ended by itself: releases it in a task (which `wait`,
        `disconnect` and `connect` wait for); not while one of those runs, as they release
        the connection themselves."""
        if self._manager is None or self._ending is not None or self._busy:
            return
        assert self._loop is not None
        self._ending = self._loop.create_task(self._shutdown())

    def _watch_if_needed(self) -> None:
        """Starts watching the manager's events when someone wants them: ``io`` has
        handlers, or reconnection may give up (which ends the connection for good).
        Otherwise an idle connection has no task and no native subscription (a pending
        call and a 64-event buffer: about 10 KiB a connection); ``io.on`` starts the
        watch later, from the events that follow."""
        manager = self._manager
        if self._watch_task is not None or manager is None or self._loop is None:
            return
        if not (self._may_give_up or self.io.has_handlers()):
            return
        try:
            events = manager.events()
        except Exception as error:
            raise convert(error) from None
        self._watch_task = self._loop.create_task(self._watch(events))

    def _io_handler_added(self) -> None:
        """``io.on`` registered a handler (from any thread): watch, if not yet."""
        loop = self._loop
        if loop is not None and self._manager is not None and self._watch_task is None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to watch
                loop.call_soon_threadsafe(self._watch_if_needed)

    async def _watch(self, events: ffi.ManagerEventStream) -> None:
        """Follows the manager's events until it is closed: each is dispatched to its
        handler in ``io``; reconnection giving up ends the connection for good."""
        while True:
            try:
                event = await events.next()
            except Exception as error:
                logger.error("manager event stream failed: %s", convert(error))
                return
            if event is None:
                return
            if event.is_lagged():
                logger.warning("manager events: %d dropped (consumer too slow)", event.dropped)
                continue
            found = self.io.handler(event)
            if found is not None:
                self._run(found[0], found[1], None)
            if event.is_reconnect_failed():
                logger.info("reconnection failed, giving up")
                for state in self._namespaces.values():
                    state.ended = True
                self._end_for_good()

    async def __aenter__(self) -> AsyncClient:
        if self._url is not None and self._manager is None:
            await self.connect(self._url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()

    # State --------------------------------------------------------------------------------

    @property
    def sid(self) -> str | None:
        """The session id of the ``/`` namespace, while connected."""
        return self.get_sid("/")

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The session id of ``namespace`` (default ``/``), while connected."""
        state = self._namespaces.get(namespace or "/")
        return None if state is None else state.socket.id()

    @property
    def connected(self) -> bool:
        """Whether every namespace of the client is connected."""
        states = list(self._namespaces.values())
        return bool(states) and all(s.socket.connected() for s in states)

    @property
    def namespaces(self) -> list[str]:
        """The namespaces connected now."""
        return [name for name, s in self._namespaces.items() if s.socket.connected()]

    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"`` while connected, else ``None`` (a method, as
        python-socketio's ``transport()``)."""
        if self._manager is None:
            return None
        return transport_name(self._manager.transport())

    @property
    def recovered(self) -> bool:
        """Whether connection state recovery restored the ``/`` namespace's previous session
        (missed events replayed, rooms kept) on its last connect; ``False`` while
        disconnected. Read it in the ``connect`` handler after a reconnection."""
        return self.get_recovered("/")

    def get_recovered(self, namespace: str | None = None) -> bool:
        """:attr:`recovered` for ``namespace`` (default ``/``)."""
        state = self._namespaces.get(namespace or "/")
        return state is not None and state.socket.recovered()

    async def reconnect_now(self) -> None:
        """Skips the remaining reconnection delay and tries at once, e.g. when the app
        learns that the network is back. Does nothing when no reconnection is pending."""
        if self._manager is not None:
            try:
                await self._manager.reconnect_now()
            except Exception as error:
                raise convert(error) from None

    def stats(self) -> ConnectionStats:
        """The connection's statistics now: bytes and packets in and out, reconnections,
        the transport, the age of the last ping and the ack round trips (see
        :class:`ConnectionStats`). After ``disconnect()``, those counted until then."""
        return stats_of(self._manager or self._closed_manager)

    # Emitting -----------------------------------------------------------------------------

    def _namespace(self, namespace: str | None, event: str) -> _Namespace:
        state = self._namespaces.get(namespace or "/")
        if state is None:
            raise exc.BadNamespaceError(f"{namespace or '/'} is not a connected namespace")
        if event in RESERVED_EVENTS:
            raise exc.EmitError(f"{event!r} is a reserved event name")
        return state

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        *,
        volatile: bool = False,
    ) -> None:
        """Sends ``event`` with ``data`` (a tuple for several arguments; ``bytes`` anywhere
        travel as binary). Buffered while the namespace is (re)connecting.

        Emits of one loop iteration cross to the native layer together; an error found
        there (e.g. too many attachments) is raised by the emit that flushes, or logged.
        With ``callback``, it is called with the server's acknowledgement values.

        ``volatile=True`` (Ferrio's, as the JavaScript client's ``socket.volatile.emit``):
        sent only if the connection can take it now, else dropped, never buffered nor
        retried (e.g. a position that is worthless once stale); also dropped when the
        native outgoing queue is full. Not with ``callback``.
        """
        # The hot path of emit-heavy code: lookups inlined, one C encoder call.
        state = self._namespaces.get(namespace or "/")
        if state is None or event in RESERVED_EVENTS:
            state = self._namespace(namespace, event)  # raises the right error
        if volatile:
            if callback is not None:
                raise ValueError("a volatile emit cannot ask for an acknowledgement")
            await self._emit_volatile(state, event, data)
            return
        if callback is not None:
            task = asyncio.get_running_loop().create_task(
                self._call_back(state, event, data, callback)
            )
            self._keep(task)
            return
        if data is None:
            named = [event]
        elif isinstance(data, tuple):
            named = [event, *data]
        else:
            named = [event, data]
        if self._outbox.add(state.socket, named):
            await self._outbox.flush()

    async def _emit_volatile(self, state: _Namespace, event: str, data: Any) -> None:
        """The volatile emit of ``event``, after the emits pending before it."""
        if self._outbox.pending:
            await self._outbox.flush()
        text, attachments = _codec.encode(_codec.args_of(data))
        try:
            state.socket.emit_volatile(event, text, attachments)
        except ffi.EmitError.QueueFull:
            logger.debug("volatile emit %r dropped: the outgoing queue is full", event)
        except Exception as error:
            raise convert(error) from None

    async def join_room(self, room: str, namespace: str | None = None) -> None:
        """Joins ``room`` in ``namespace`` (default ``/``), Ferrio's room intent: emits the
        join event (``room_join_event``, default ``"join"``) with the room name now, and
        again after every reconnection that did not recover the session (the server
        forgot its rooms then), until :meth:`leave_room`. The server decides what joining
        means: Socket.IO has no room packet, the server's ``join`` handler calls
        ``socket.join(room)``. Raises :class:`ferrio.BadNamespaceError` for a namespace
        that is not connected."""
        state = self._namespace(namespace, "join_room")
        if self._outbox.pending:
            await self._outbox.flush()
        try:
            await state.socket.join_room(room)
        except Exception as error:
            raise convert(error) from None

    async def leave_room(self, room: str, namespace: str | None = None) -> None:
        """Leaves ``room``: forgets the intent (see :meth:`join_room`) and emits the leave
        event (``room_leave_event``, default ``"leave"``) when connected."""
        state = self._namespace(namespace, "leave_room")
        if self._outbox.pending:
            await self._outbox.flush()
        try:
            await state.socket.leave_room(room)
        except Exception as error:
            raise convert(error) from None

    async def buffered(self, namespace: str | None = None) -> BufferedEmits:
        """What waits in the offline buffer of ``namespace`` (default ``/``): the emits made
        while it is not connected, sent in order once it is. Counted as the core takes emits
        in: one just made may show a moment later."""
        await self._outbox.flush()
        state = self._namespaces.get(namespace or "/")
        if state is None:
            return BufferedEmits(0, 0)
        try:
            native = state.socket.buffered()
        except Exception as error:
            raise convert(error) from None
        return BufferedEmits(int(native.emits), int(native.bytes))

    async def clear_buffer(self, namespace: str | None = None) -> None:
        """Discards the offline buffer of ``namespace`` (default ``/``): those emits are
        never sent; the ``call``s among them fail."""
        await self._outbox.flush()
        state = self._namespaces.get(namespace or "/")
        if state is None:
            return
        try:
            await state.socket.clear_buffer()
        except Exception as error:
            raise convert(error) from None

    async def send(
        self,
        data: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Sends the event ``message`` with ``data``, as python-socketio's ``send``."""
        await self.emit("message", data, namespace, callback)

    async def call(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        timeout: float | None = 60,
    ) -> Any:
        """Sends ``event`` and returns the server's acknowledgement: ``None``, its one value,
        or a tuple of its values. Raises :class:`ferrio.TimeoutError` after ``timeout``
        seconds (``None``: the client's ``ack_timeout``)."""
        state = self._namespace(namespace, event)
        if self._outbox.pending:
            await self._outbox.flush()
        if state.pipe is None:
            text, attachments = _codec.encode(_codec.args_of(data))
            timeout_ms = None if timeout is None else max(0, int(timeout * 1000))
            try:
                ack = await state.socket.emit_with_ack(event, text, attachments, timeout_ms)
            except Exception as error:
                raise convert(error) from None
            return _codec.unpack(_codec.decode(ack.args_json, ack.attachments))
        # The reply comes back through the pipe (see `_on_reply`, `_on_pipe`): no async
        # native call, and for plain arguments no native call at all.
        if state.drained.is_set():
            raise exc.DisconnectedError("the client is closed")
        seconds = self._settings.ack_timeout if timeout is None else timeout
        timeout_ms = max(0, int(seconds * 1000))
        named = [event, *_codec.args_of(data)]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        call_fd = self._call_socket(state) if state.call_fd is None else state.call_fd
        call_id = state.next_call
        try:
            header = _CALL_HEADER(call_id, timeout_ms)
            try:
                request = header + _codec.encode_plain(named).encode()
            except TypeError:
                request = _binary_request(header, named)
            # One datagram, written whole or not at all.
            sent = len(request) <= _MAX_CALL_DATAGRAM and _write(call_fd, request) > 0
        except (TypeError, struct.error, OSError):
            # Not JSON (the fallback says why), a timeout beyond 64 bits, or the socket is
            # full.
            sent = False
        if sent:
            state.next_call = call_id + 1
        else:
            text, attachments = _codec.encode(named)
            try:
                call_id = state.pipe.emit_with_ack(text, attachments, timeout_ms)
            except Exception as error:
                raise convert(error) from None
        state.calls[call_id] = future
        return await future

    async def _call_back(
        self, state: _Namespace, event: str, data: Any, callback: Callable[..., Any]
    ) -> None:
        try:
            reply = await self.call(event, data, state.name, timeout=None)
        except exc.FerrioError as error:
            logger.warning("no acknowledgement for %r: %s", event, error)
            return
        values = _codec.args_of(reply)
        result = callback(*values)
        if asyncio.iscoroutine(result):
            await result

    # Receiving ----------------------------------------------------------------------------

    def events(
        self, namespace: str | None = None, *, max_queued: int = EVENTS_MAX_QUEUED
    ) -> EventIterator:
        """Custom events from now on, as :class:`ferrio.Event`, until the connection ends
        (:meth:`disconnect`, or by itself: see :meth:`wait`):
        ``async for event in client.events(): ...``. Answer an acknowledgement request with
        ``event.ack(...)``. At most ``max_queued`` events wait to be taken; later ones are
        dropped and counted (see :class:`EventIterator`)."""
        return EventIterator(self, namespace, max_queued)

    async def _pull(self, state: _Namespace) -> None:
        stream = state.stream
        assert stream is not None
        while True:
            try:
                batch = await stream.next_json_batch(PULL_BATCH)
            except Exception as error:
                logger.error("event stream failed: %s", convert(error))
                return
            if not batch.json:
                return
            self._dispatch_batch(state, batch.json, batch.others)

    def _on_pipe(self, state: _Namespace) -> bool:
        """The pipe's descriptor is readable: takes and dispatches what it holds. Events
        that arrive meanwhile wait in the native queue and come with the next take.
        Returns whether it took events."""
        try:
            batch = take_batch(state.pipe, PULL_BATCH)
        except Exception as error:
            logger.error("event pipe failed: %s", convert(error))
            self._end_pipe(state)
            return False
        if isinstance(batch, str):
            # Plain events only, the usual batch.
            self._dispatch_batch(state, batch, ())
            return len(batch) > 2  # not `[]`
        self._dispatch_batch(state, batch.json, batch.others)
        for reply in batch.acks:
            if reply.error is not None:
                self._settle(state, reply.id, None, convert(reply.error))
            else:
                self._settle(state, reply.id, _codec.decode(reply.args_json, reply.attachments))
        if batch.ended:
            self._end_pipe(state)
            return False
        return len(batch.json) > 2  # not `[]`

    def _call_socket(self, state: _Namespace) -> int:
        """Opens the pipe's call socket and watches it (the first call of a namespace: one
        that never calls has none); -1 when it could not be opened (every call then takes
        ``EventPipe.emit_with_ack``)."""
        assert self._loop is not None
        fd: int = state.pipe.call_fd()
        state.call_fd = fd
        if fd >= 0:
            self._loop.add_reader(fd, self._on_reply, state, fd)
        return fd

    def _on_reply(self, state: _Namespace, call_fd: int) -> None:
        """The call socket is readable: settles the call its datagram answers."""
        try:
            reply = _read(call_fd, _MAX_CALL_DATAGRAM)
        except BlockingIOError:
            return
        (call_id,) = _REPLY_ID(reply)
        future = state.calls.pop(call_id, None)
        if future is None or future.done():  # cancelled meanwhile
            return
        mark = reply.find(_BINARY_MARK, 8)
        if mark < 0:
            args = _decode_json(reply[8:].decode())
        else:
            try:
                args = _codec.decode(reply[8:mark].decode(), _attachments(reply, mark + 1))
            except (ValueError, struct.error) as error:
                future.set_exception(exc.FerrioError(f"unreadable reply: {error}"))
                return
        future.set_result(args[0] if len(args) == 1 else _codec.unpack(args))

    def _end_pipe(self, state: _Namespace) -> None:
        """Stops watching an ended pipe; its pending calls fail."""
        if state.drained.is_set() or self._loop is None:
            return
        state.drained.set()
        self._loop.remove_reader(state.pipe.fd())
        if state.call_fd is not None and state.call_fd >= 0:
            self._loop.remove_reader(state.call_fd)
        calls, state.calls = state.calls, {}
        for future in calls.values():
            if not future.done():
                future.set_exception(exc.DisconnectedError("the client is closed"))

    @staticmethod
    def _settle(
        state: _Namespace, call_id: int, args: list[Any] | None, error: BaseException | None = None
    ) -> None:
        """Completes ``call`` ``call_id`` with the reply ``args`` or ``error``."""
        future = state.calls.pop(call_id, None)
        if future is None or future.done():  # cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(_codec.unpack(args or []))

    def _dispatch_batch(
        self, state: _Namespace, text: str, others: Sequence[ffi.EventRecord]
    ) -> None:
        """Dispatches a packed batch, the JSON ``text`` of a list: ``[name, *args]`` a
        plain event, an int the index of a record in ``others``, ``{"ack": id, "args":
        [...]}`` a reply to a pipe call."""
        items = _scan_json(text, 0)[0]
        # The namespace's handlers (`on` adds to this dict, never replaces it), and the
        # iterators (never replaced either: a handler that opens one is seen at once).
        handlers = self._handlers.get(state.name)
        iterators = self._iterators
        for item in items:
            kind = type(item)
            if kind is list:
                # A plain event: no binary, no acknowledgement request. The common case,
                # a sync handler of its own and no iterator, is called in place.
                handler = handlers.get(item[0]) if handlers else None
                if handler is None or handler.once or handler.is_async or iterators:
                    name = item[0]
                    try:
                        self._dispatch_plain(state, name, item[1:])
                    except Exception:
                        logger.exception("dispatching %r failed", name)
                    continue
                try:
                    if len(item) == 2:
                        handler.function(item[1])
                    else:
                        handler.function(*item[1:])
                except Exception:
                    logger.exception("handler of %r failed", handler.function)
            elif kind is int:
                record = others[item]
                try:
                    self._dispatch(state, record)
                except Exception:
                    logger.exception("dispatching %r failed", record.name)
            else:
                self._settle(state, item["ack"], item["args"])

    def _dispatch_plain(self, state: _Namespace, name: str, args: list[Any]) -> None:
        if self._iterators:
            event = Event(state.name, name, args, None)
            for iterator in self._iterators:
                iterator._offer(event)
        handlers = self._handlers.get(state.name)
        handler = handlers.get(name) if handlers else None
        if handler is None or handler.once:
            found = self._handler(state.name, name, args)
            if found is None:
                return
            handler, args = found
        if handler.is_async:
            self._run(handler, args, None)
            return
        try:
            handler.function(*args)
        except Exception:
            logger.exception("handler of %r failed", handler.function)

    def _dispatch(self, state: _Namespace, record: ffi.EventRecord) -> None:
        kind = record.kind
        if kind == ffi.EventKind.EVENT:
            name = record.name
            args = _codec.decode(record.args_json, record.attachments)
            ack = record.ack
            if self._iterators:
                event = Event(state.name, name, args, ack)
                for iterator in self._iterators:
                    iterator._offer(event)
            found = self._handler(state.name, name, args)
            if found is not None:
                self._run(found[0], found[1], ack)
        elif kind == ffi.EventKind.CONNECT:
            state.sid = record.sid
            state.ended = False
            self._builtin(state.name, "connect", [])
            state.connected.set()
        elif kind == ffi.EventKind.DISCONNECT:
            state.sid = None
            self._builtin(state.name, "disconnect", _codec.decode(record.args_json))
            state.disconnected.set()
            reason = record.reason
            if reason == ffi.DisconnectReason.IO_SERVER_DISCONNECT or (
                not self._reconnection and reason != ffi.DisconnectReason.IO_CLIENT_DISCONNECT
            ):
                state.ended = True
                self._check_ended()
        elif kind == ffi.EventKind.CONNECT_ERROR:
            self._builtin(state.name, "connect_error", _codec.decode(record.args_json))
            state.failed.set()
        elif kind == ffi.EventKind.LAGGED:
            logger.warning("%s: %d events dropped (consumer too slow)", state.name, record.dropped)

    def _builtin(self, namespace: str, name: str, args: list[Any]) -> None:
        found = self._handler(namespace, name, args)
        if found is not None:
            handler, args = found
            self._run(handler, handler.fit(args), None)

    def _handler(
        self, namespace: str, event: str, args: list[Any]
    ) -> tuple[Registered, list[Any]] | None:
        """The handler of ``event`` in ``namespace`` and the arguments to call it with, in
        python-socketio's order: the event's own handler; the namespace's ``"*"`` (called
        with the event name first); in namespace ``"*"``, the event's handler (called with
        the namespace first), then ``"*"`` (the event name, then the namespace). The
        built-in events (``connect``, ...) never reach an event ``"*"``. A ``once`` handler
        is removed as it is found."""
        builtin = event in RESERVED_EVENTS
        handlers = self._handlers.get(namespace)
        handler = take(handlers, event)
        if handler is not None:
            return handler, args
        if not builtin:
            handler = take(handlers, "*")
            if handler is not None:
                return handler, [event, *args]
        anywhere = self._handlers.get("*")
        handler = take(anywhere, event)
        if handler is not None:
            return handler, [namespace, *args]
        if not builtin:
            handler = take(anywhere, "*")
            if handler is not None:
                return handler, [event, namespace, *args]
        trigger = self._namespace_handlers.get(namespace)
        if trigger is not None:
            return trigger, [event, *args]
        trigger = self._namespace_handlers.get("*")
        if trigger is not None:
            return trigger, [event, namespace, *args]
        return None

    def _run(self, handler: Registered, args: list[Any], ack: ffi.AckRequest | None) -> None:
        if handler.is_async:
            loop = asyncio.get_running_loop()
            self._keep(loop.create_task(self._run_async(handler, args, ack)))
            return
        try:
            result = handler.function(*args)
        except Exception:
            logger.exception("handler of %r failed", handler.function)
            return
        if ack is not None:
            _answer(ack, result)

    async def _run_async(
        self, handler: Registered, args: list[Any], ack: ffi.AckRequest | None
    ) -> None:
        try:
            result = await handler.function(*args)
        except Exception:
            logger.exception("handler of %r failed", handler.function)
            return
        if ack is not None:
            _answer(ack, result)

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks[task] = None
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)


#: The errors of a first connection that ``connect(retry=True)`` waits through: the server
#: could not be reached (not a refusal, not reconnection giving up).
_RETRIED = (
    ffi.ConnectError.Transport,
    ffi.ConnectError.Proxy,
    ffi.ConnectError.Timeout,
    ffi.ConnectError.Disconnected,
)


def _binary_request(header: bytes, named: list[Any]) -> bytes:
    """The call datagram of ``[event, *args]`` with binary values (raises ``TypeError``
    when something else is not JSON)."""
    text, attachments = _codec.encode_binary(named)
    parts = [header, text.encode(), _BINARY_MARK]
    for attachment in attachments:
        parts.append(_LENGTH.pack(len(attachment)))
        parts.append(attachment)
    return b"".join(parts)


def _attachments(datagram: bytes, start: int) -> list[bytes]:
    """The binary values of a reply datagram, from ``start`` (after the mark)."""
    attachments = []
    end = len(datagram)
    while start < end:
        (length,) = _LENGTH.unpack_from(datagram, start)
        start += 4
        if start + length > end:
            raise ValueError("a binary value is truncated")
        attachments.append(datagram[start : start + length])
        start += length
    return attachments


def _answer(ack: ffi.AckRequest, result: Any) -> None:
    text, attachments = _codec.encode(_codec.args_of(result))
    try:
        ack.send(text, attachments)
    except Exception as error:
        logger.warning("acknowledgement not sent: %s", convert(error))


async def _wait(event: Flag, timeout: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
