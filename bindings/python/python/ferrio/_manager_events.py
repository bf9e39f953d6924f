"""``client.io``: the handlers of the manager's connection and reconnection events, as
the JavaScript client's ``socket.io.on(...)``."""

from __future__ import annotations

from typing import Any, Callable, TypeVar, overload

from ._ffi import ferrio_ffi as ffi
from ._handlers import Handler, Registered

F = TypeVar("F", bound=Handler)

#: The events of the manager, with the arguments their handlers get (the JavaScript
#: client's): ``open`` (none), ``close`` (the reason), ``reconnect_attempt`` (the attempt,
#: from 1), ``reconnect_error`` (the error text), ``reconnect`` (the attempts it took),
#: ``reconnect_failed`` (none).
MANAGER_EVENTS = frozenset(
    ["open", "close", "reconnect_attempt", "reconnect_error", "reconnect", "reconnect_failed"]
)


class ManagerEvents:
    """The manager's events of a client (``client.io``), apart from the events of its
    namespaces: a handler of ``reconnect`` here never meets a server event of that name.
    One handler per event: registering another replaces it.

    Each handler runs after the namespaces' handlers ran for the events that happened
    before its event (``reconnect_failed`` after the last attempt's ``disconnect`` and
    ``connect_error``): the native layer gives a manager event only once the events queued
    before it were taken."""

    def __init__(self, wrap: Callable[[Handler], Handler] | None = None) -> None:
        #: How a handler is called (the blocking client's: on its handler thread).
        self._wrap = wrap
        #: Each event's handler, and the function as it was given (for ``off``).
        self._handlers: dict[str, tuple[Registered, Handler]] = {}
        #: Called after a handler is registered (the client starts watching the manager's
        #: events then, if it was not).
        self.added: Callable[[], None] | None = None

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[F], F]: ...

    @overload
    def on(self, event: str, handler: F) -> F: ...

    def on(self, event: str, handler: F | None = None) -> F | Callable[[F], F]:
        """Registers ``handler`` for the manager's ``event``; as a decorator without
        ``handler``. ``event`` is one of ``open``, ``close`` (called with the reason, e.g.
        ``"transport close"``), ``reconnect_attempt`` (the attempt number, from 1),
        ``reconnect_error`` (the error text), ``reconnect`` (the attempts it took) and
        ``reconnect_failed``; anything else raises :class:`ValueError`. The handler may be
        sync or async, and may take fewer arguments than given."""
        _check(event)

        def register(function: F) -> F:
            wrapped = function if self._wrap is None else self._wrap(function)
            self._handlers[event] = (Registered(wrapped), function)
            if self.added is not None:
                self.added()
            return function

        return register if handler is None else register(handler)

    def off(self, event: str, handler: Handler | None = None) -> None:
        """Removes the handler of the manager's ``event``: any handler, or only ``handler``
        when given. Unknown events raise :class:`ValueError`."""
        _check(event)
        found = self._handlers.get(event)
        if found is not None and (handler is None or found[1] == handler):
            del self._handlers[event]

    def has_handlers(self) -> bool:
        """Whether any event has a handler."""
        return bool(self._handlers)

    def handler(self, event: ffi.ManagerEvent) -> tuple[Registered, list[Any]] | None:
        """The handler of a manager event and the arguments to call it with."""
        name, args = _name_and_args(event)
        if name is None:
            return None
        found = self._handlers.get(name)
        if found is None:
            return None
        return found[0], found[0].fit(args)


def _check(event: str) -> None:
    if event not in MANAGER_EVENTS:
        raise ValueError(
            f"unknown manager event {event!r}: expected one of {', '.join(sorted(MANAGER_EVENTS))}"
        )


def _name_and_args(event: ffi.ManagerEvent) -> tuple[str | None, list[Any]]:
    if event.is_open():
        return "open", []
    if event.is_close():
        return "close", [ffi.disconnect_reason_text(event.reason)]
    if event.is_reconnect_attempt():
        return "reconnect_attempt", [event.attempt]
    if event.is_reconnect_error():
        return "reconnect_error", [event.detail]
    if event.is_reconnect():
        return "reconnect", [event.attempts]
    if event.is_reconnect_failed():
        return "reconnect_failed", []
    return None, []
