"""``Client``: the event-driven blocking client, as python-socketio's ``socketio.Client``.

It is :class:`ferrio.AsyncClient` run on an event loop of its own, on a private thread:
one set of rules for both (dispatch, ``wait()``, reconnection, buffering). The methods
block the calling thread until the loop has done the work. Handlers (and ``emit``
callbacks) are called one at a time, in the order the events arrived, on a thread of the
client's own (``ferrio-handlers``), never on the loop: a handler may block, ``emit`` and
``call``; the loop keeps receiving meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import weakref
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from ._auth import Auth
from ._handlers import Handler, Registered
from ._manager_events import ManagerEvents
from ._options import Options
from ._stats import BufferedEmits, ConnectionStats
from .asyncio_client import AsyncClient
from .namespace import ClientNamespace

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("ferrio")

F = TypeVar("F", bound=Handler)
T = TypeVar("T")

#: Set on the handler threads of every ``Client``: a call made there that would wait for
#: handlers (``disconnect``) is scheduled instead of awaited.
_thread = threading.local()


class _Engine(AsyncClient):
    """The asyncio client a :class:`Client` runs on its loop. While connected the loop
    holds it (its watchers and tasks), and through ``owner`` the ``Client``: a connected
    client lives on without a reference of the program's, as python-socketio's does."""

    def __init__(self, owner: Client, url: str | None, options: Options) -> None:
        super().__init__(url, **options)
        self.owner = owner
        self.io = ManagerEvents(owner._on_handler_thread)

    def add_namespace(self, namespace: str, trigger: Handler) -> None:
        """Registers a class-based namespace's ``trigger_event``."""
        self._namespace_handlers[namespace] = Registered(trigger)

    def handler_of(self, event: str, namespace: str | None) -> Handler | None:
        """The function registered for ``event`` (as given, not its thread wrapper)."""
        registered = self._handlers.get(namespace or "/", {}).get(event)
        if registered is None:
            return None
        function = registered.function
        return getattr(function, "__wrapped__", function)


class Client:
    """A Socket.IO client with handlers and blocking methods, as python-socketio's
    ``socketio.Client``.

    ::

        sio = ferrio.Client(reconnection_delay=0.5)

        @sio.event
        def connect():
            print("connected as", sio.sid)

        @sio.on("question")
        def question(n):
            return n * 2              # answers the server's acknowledgement request

        sio.connect("http://localhost:3000", auth={"token": "t"})
        print(sio.call("join", "lobby", timeout=5))
        sio.wait()                    # until the connection has ended for good

    The keyword arguments are those of every client (see :class:`ferrio._options.Options`:
    python-socketio's names, times in seconds); an option left ``None`` takes the default
    of the Rust core. Handlers run on the client's handler thread, one at a time, in the
    order the events arrived; a coroutine function given as a handler runs on the
    client's event loop instead (where the blocking methods must not be called).
    """

    def __init__(self, url: str | None = None, **options: Unpack[Options]) -> None:
        self._client = _Engine(self, url, options)
        self._url = url
        self._handlers = ThreadPoolExecutor(
            1, thread_name_prefix="ferrio-handlers", initializer=_mark_handler_thread
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

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
        decorator without ``handler``. The rules are :meth:`AsyncClient.on`'s: ``"*"``
        catches events without a handler of their own (the event name first), namespace
        ``"*"`` every namespace (the namespace first), the return value answers the
        server's acknowledgement request, built-in events ``connect``, ``connect_error``
        and ``disconnect``; one handler per event."""

        def register(function: F) -> F:
            self._client.on(event, self._on_handler_thread(function), namespace)
            return function

        return register if handler is None else register(handler)

    @overload
    def once(
        self, event: str, handler: None = None, namespace: str | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def once(self, event: str, handler: F, namespace: str | None = None) -> F: ...

    def once(
        self, event: str, handler: F | None = None, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """As :meth:`on`, but the handler runs for the next ``event`` only."""

        def register(function: F) -> F:
            self._client.once(event, self._on_handler_thread(function), namespace)
            return function

        return register if handler is None else register(handler)

    def off(self, event: str, handler: Handler | None = None, namespace: str | None = None) -> None:
        """Removes the handler of ``event`` in ``namespace``: any, or only ``handler``."""
        if handler is None or self._client.handler_of(event, namespace) == handler:
            self._client.off(event, None, namespace)

    @overload
    def on_any_outgoing(
        self, handler: None = None, namespace: str | None = None
    ) -> Callable[[F], F]: ...

    @overload
    def on_any_outgoing(self, handler: F, namespace: str | None = None) -> F: ...

    def on_any_outgoing(
        self, handler: F | None = None, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """Registers the outgoing catch-all of ``namespace``: ``handler(event, *args)`` with
        every event the client emits there, in order, on the handler thread (see
        :meth:`AsyncClient.on_any_outgoing`)."""

        def register(function: F) -> F:
            self._call_on_loop(
                self._client.on_any_outgoing, self._on_handler_thread(function), namespace
            )
            return function

        return register if handler is None else register(handler)

    @property
    def io(self) -> ManagerEvents:
        """The handlers of the manager's connection and reconnection events, as the
        JavaScript client's ``socket.io``: ``@sio.io.on("reconnect_attempt")``,
        ``sio.io.off("reconnect")`` (see :class:`ferrio.ManagerEvents`). They run on the
        handler thread, in order with the other handlers."""
        return self._client.io

    def off_any_outgoing(self, namespace: str | None = None) -> None:
        """Removes the outgoing catch-all of ``namespace`` (default ``/``)."""
        self._call_on_loop(self._client.off_any_outgoing, namespace)

    def _call_on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        """Calls ``function(*args)`` on the client's loop (where the async client's state
        lives) and waits for it; in place before the loop runs or on it."""
        if self._loop is None or threading.current_thread() is self._loop_thread:
            function(*args)
            return

        async def call() -> None:
            function(*args)

        self._wait_for(call())

    @overload
    def event(self, handler: F) -> F: ...

    @overload
    def event(self, *, namespace: str | None = None) -> Callable[[F], F]: ...

    def event(
        self, handler: F | None = None, *, namespace: str | None = None
    ) -> F | Callable[[F], F]:
        """Registers a handler named after its function: ``@sio.event`` or
        ``@sio.event(namespace="/admin")``."""
        if handler is not None:
            return self.on(handler.__name__, handler)
        return lambda function: self.on(function.__name__, function, namespace)

    def register_namespace(self, namespace_handler: ClientNamespace) -> None:
        """Registers a class-based namespace (see :class:`ferrio.ClientNamespace`): its
        methods ``on_<event>`` handle the events of its namespace that have no handler of
        their own, on the handler thread."""
        if not isinstance(namespace_handler, ClientNamespace):
            raise TypeError("not a ClientNamespace")
        namespace_handler._set_client(self)
        self._client.add_namespace(
            namespace_handler.namespace, self._on_handler_thread(namespace_handler.trigger_event)
        )

    def _on_handler_thread(self, function: Handler) -> Handler:
        """``function`` as the async client calls it: a coroutine function that runs
        ``function`` on the handler thread and returns its result. It keeps the function's
        signature (``__wrapped__``), by which built-in events fit their arguments."""
        if inspect.iscoroutinefunction(function):
            return function
        handlers = self._handlers

        @functools.wraps(function)
        async def on_handler_thread(*args: Any) -> Any:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(handlers, functools.partial(function, *args))

        return on_handler_thread

    # Connection ---------------------------------------------------------------------------

    def connect(
        self,
        url: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Auth = None,
        transports: str | list[str] | None = None,
        namespaces: str | list[str] | None = None,
        socketio_path: str | None = None,
        wait: bool = True,
        wait_timeout: float | None = None,
        retry: bool = False,
    ) -> None:
        """Connects as :meth:`AsyncClient.connect` does, and returns once every namespace
        is connected and the ``connect`` handlers have run; raises
        :class:`ferrio.ConnectionRefusedError`, :class:`ferrio.ConnectionError` (after the
        ``connect_error`` handlers have run). With ``wait=False`` it returns at once and
        the connection is made in the background: a failure is then logged and reported
        to the ``connect_error`` handlers only."""
        connecting = self._client.connect(
            url, headers, auth, transports, namespaces, socketio_path, wait_timeout, retry
        )
        if not wait:
            self._submit(_logged(connecting))
            return
        try:
            self._wait_for(connecting)
        finally:
            self._handlers_done()

    def disconnect(self) -> None:
        """Disconnects every namespace and returns once the ``disconnect`` handlers have
        run. Called from a handler, it returns at once and the disconnection follows once
        the handler has returned."""
        if self._loop is None:
            return
        if getattr(_thread, "is_handler_thread", False):
            self._submit(_logged(self._client.disconnect()))
            return
        self._wait_for(self._client.disconnect())

    def wait(self) -> None:
        """Blocks until the connection has ended for good, as python-socketio's ``wait``
        (see :meth:`AsyncClient.wait`): after :meth:`disconnect`, once the server has
        disconnected every namespace, once reconnection gives up, or once the connection
        is lost with ``reconnection=False``. Not from a handler (it would wait for
        itself)."""
        if getattr(_thread, "is_handler_thread", False):
            raise RuntimeError("wait() from a handler would wait for itself")
        if self._loop is not None:
            self._wait_for(self._client.wait())

    def sleep(self, seconds: float = 0) -> None:
        """Sleeps ``seconds``, as python-socketio's ``sleep``."""
        time.sleep(seconds)

    def start_background_task(
        self, target: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> threading.Thread:
        """Runs ``target(*args, **kwargs)`` on a new daemon thread, as python-socketio's;
        returns the thread (``join()`` waits for it)."""
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    # Emitting -----------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        *,
        volatile: bool = False,
    ) -> None:
        """Sends ``event`` with ``data`` (a tuple for several arguments; ``bytes`` travel
        as binary); buffered while the namespace reconnects. ``callback`` is called with
        the server's acknowledgement values, on the handler thread. ``volatile=True``:
        dropped, not buffered, when the connection cannot take it now (see
        :meth:`AsyncClient.emit`). Raises :class:`ferrio.BadNamespaceError` for a
        namespace that is not connected."""
        on_thread = None if callback is None else self._on_handler_thread(callback)
        self._wait_for(self._client.emit(event, data, namespace, on_thread, volatile=volatile))

    def join_room(self, room: str, namespace: str | None = None) -> None:
        """Joins ``room``, again after every reconnection that did not recover the session
        (see :meth:`AsyncClient.join_room`)."""
        self._wait_for(self._client.join_room(room, namespace))

    def leave_room(self, room: str, namespace: str | None = None) -> None:
        """Leaves ``room`` (see :meth:`AsyncClient.leave_room`)."""
        self._wait_for(self._client.leave_room(room, namespace))

    def send(
        self,
        data: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Sends the event ``message`` with ``data``, as python-socketio's ``send``."""
        self.emit("message", data, namespace, callback)

    def call(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        timeout: float | None = 60,
    ) -> Any:
        """Sends ``event`` and returns the server's acknowledgement: ``None``, its one
        value, or a tuple of its values. Raises :class:`ferrio.TimeoutError` after
        ``timeout`` seconds (``None``: the client's ``ack_timeout``)."""
        return self._wait_for(self._client.call(event, data, namespace, timeout))

    # State --------------------------------------------------------------------------------

    @property
    def sid(self) -> str | None:
        """The session id of the ``/`` namespace, while connected."""
        return self._client.sid

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The session id of ``namespace`` (default ``/``), while connected."""
        return self._client.get_sid(namespace)

    @property
    def connected(self) -> bool:
        """Whether every namespace of the client is connected."""
        return self._client.connected

    @property
    def namespaces(self) -> list[str]:
        """The namespaces connected now."""
        return [name for name in list(self._client._namespaces) if self.get_sid(name)]

    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"`` while connected, else ``None`` (a method, as
        python-socketio's ``transport()``)."""
        return self._client.transport()

    @property
    def recovered(self) -> bool:
        """Whether connection state recovery restored the ``/`` namespace's session on its
        last connect (see :attr:`AsyncClient.recovered`)."""
        return self._client.recovered

    def get_recovered(self, namespace: str | None = None) -> bool:
        """:attr:`recovered` for ``namespace`` (default ``/``)."""
        return self._client.get_recovered(namespace)

    def reconnect_now(self) -> None:
        """Skips the remaining reconnection delay and tries at once (see
        :meth:`AsyncClient.reconnect_now`)."""
        self._wait_for(self._client.reconnect_now())

    def buffered(self, namespace: str | None = None) -> BufferedEmits:
        """What waits in the offline buffer (see :meth:`AsyncClient.buffered`)."""
        return self._wait_for(self._client.buffered(namespace))

    def clear_buffer(self, namespace: str | None = None) -> None:
        """Discards the offline buffer (see :meth:`AsyncClient.clear_buffer`)."""
        self._wait_for(self._client.clear_buffer(namespace))

    def stats(self) -> ConnectionStats:
        """The connection's statistics (see :meth:`AsyncClient.stats`)."""
        return self._client.stats()

    def __enter__(self) -> Client:
        if self._url is not None and not self.connected:
            self.connect(self._url)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disconnect()

    # The loop -----------------------------------------------------------------------------

    def _loop_now(self) -> asyncio.AbstractEventLoop:
        """The client's event loop, started on its thread at first use; stopped once the
        client is gone."""
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_loop, args=(loop,), name="ferrio-loop", daemon=True
                )
                thread.start()
                self._loop, self._loop_thread = loop, thread
                weakref.finalize(self, _stop, loop, self._handlers)
            return self._loop

    def _submit(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Runs ``coroutine`` on the loop without waiting for it."""
        asyncio.run_coroutine_threadsafe(coroutine, self._loop_now())

    def _wait_for(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Runs ``coroutine`` on the loop and returns its result (or raises its error)."""
        if threading.current_thread() is self._loop_thread:
            coroutine.close()
            raise RuntimeError(
                "a blocking ferrio.Client method was called on the client's event loop "
                "(from a coroutine handler)"
            )
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop_now())
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def _handlers_done(self) -> None:
        """Returns once the handlers queued so far have run (not on the handler thread,
        where it would wait for itself, nor on the loop, which they may need)."""
        if getattr(_thread, "is_handler_thread", False):
            return
        if threading.current_thread() is not self._loop_thread:
            self._handlers.submit(_nothing).result()


def _mark_handler_thread() -> None:
    _thread.is_handler_thread = True


def _nothing() -> None:
    return None


async def _logged(coroutine: Coroutine[Any, Any, None]) -> None:
    """Runs a call nobody waits for; its error is logged."""
    try:
        await coroutine
    except Exception as error:
        logger.error("%s", error)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _stop(loop: asyncio.AbstractEventLoop, handlers: ThreadPoolExecutor) -> None:
    """Stops the loop of a client that is gone, and its handler thread."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(loop.stop)
    handlers.shutdown(wait=False)
