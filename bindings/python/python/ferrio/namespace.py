"""Class-based namespaces, as python-socketio's ``AsyncClientNamespace`` and
``ClientNamespace``: the handlers of a namespace are the methods ``on_<event>`` of a class.

::

    class Chat(ferrio.AsyncClientNamespace):
        def on_connect(self):
            print("connected to", self.namespace)

        async def on_question(self, n):
            return n * 2                      # answers the server's acknowledgement

        def on_disconnect(self, reason):
            print("disconnected:", reason)

    client.register_namespace(Chat("/chat"))

:class:`ClientNamespace` is the same for the blocking :class:`ferrio.Client`: its methods
are called on the client's handler thread and ``self.emit``, ``self.call`` block.

An event with a handler registered with ``client.on`` goes to that handler (and one without
a method to the namespace's ``"*"`` handler, if any) first, as in python-socketio.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

from ._handlers import RESERVED_EVENTS, Registered

if TYPE_CHECKING:
    from .asyncio_client import AsyncClient
    from .client import Client


class _Methods:
    """What both kinds of class-based namespace share: the name and the method lookup."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"

    def _method(self, event: str, args: tuple[Any, ...]) -> tuple[Callable[..., Any], list[Any]]:
        """The method ``on_<event>`` (``None`` when there is none) and the arguments to call
        it with: ``connect``, ``disconnect`` and ``connect_error`` methods may take fewer
        arguments than the event has (``on_disconnect(self)`` or
        ``on_disconnect(self, reason)``)."""
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return _nothing, []
        values = list(args)
        if event in RESERVED_EVENTS:
            values = Registered(handler).fit(values)
        return handler, values


def _nothing() -> None:
    return None


class AsyncClientNamespace(_Methods):
    """The handlers of ``namespace`` (``/`` by default) as methods ``on_<event>``, sync or
    ``async``; the value a method returns answers the server's acknowledgement request.
    ``namespace="*"`` receives every namespace's events, the namespace first."""

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.client: AsyncClient | None = None

    def _set_client(self, client: AsyncClient) -> None:
        self.client = client

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls the method ``on_<event>`` with ``args`` (awaited when it is a coroutine
        function); none for the event: nothing happens. Override it to route events
        otherwise. ``connect``, ``disconnect`` and ``connect_error`` methods may take fewer
        arguments than the event has (``on_disconnect(self)`` or
        ``on_disconnect(self, reason)``)."""
        handler, values = self._method(event, args)
        result = handler(*values)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """``client.emit`` in this namespace (or ``namespace``)."""
        await self._client().emit(event, data, namespace or self.namespace, callback)

    async def send(
        self,
        data: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """``client.send`` in this namespace (or ``namespace``): the event ``message``."""
        await self._client().send(data, namespace or self.namespace, callback)

    async def call(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        timeout: float | None = 60,
    ) -> Any:
        """``client.call`` in this namespace (or ``namespace``)."""
        return await self._client().call(event, data, namespace or self.namespace, timeout)

    async def disconnect(self) -> None:
        """Disconnects the client (every namespace), as python-socketio's."""
        await self._client().disconnect()

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("register the namespace first: client.register_namespace(...)")
        return self.client


class ClientNamespace(_Methods):
    """The handlers of ``namespace`` for the blocking :class:`ferrio.Client`, as
    python-socketio's ``ClientNamespace``: methods ``on_<event>``, called on the client's
    handler thread; the value a method returns answers the server's acknowledgement
    request. ``namespace="*"`` receives every namespace's events, the namespace first."""

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.client: Client | None = None

    def _set_client(self, client: Client) -> None:
        self.client = client

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls the method ``on_<event>`` with ``args``; none for the event: nothing
        happens. Override it to route events otherwise (see
        :meth:`AsyncClientNamespace.trigger_event`)."""
        handler, values = self._method(event, args)
        return handler(*values)

    def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """``client.emit`` in this namespace (or ``namespace``)."""
        self._client().emit(event, data, namespace or self.namespace, callback)

    def send(
        self,
        data: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """``client.send`` in this namespace (or ``namespace``): the event ``message``."""
        self._client().send(data, namespace or self.namespace, callback)

    def call(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        timeout: float | None = 60,
    ) -> Any:
        """``client.call`` in this namespace (or ``namespace``)."""
        return self._client().call(event, data, namespace or self.namespace, timeout)

    def disconnect(self) -> None:
        """Disconnects the client (every namespace), as python-socketio's."""
        self._client().disconnect()

    def _client(self) -> Client:
        if self.client is None:
            raise RuntimeError("register the namespace first: client.register_namespace(...)")
        return self.client
