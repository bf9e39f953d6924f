"""Registered handlers: sync or async callables, and how they are called."""

from __future__ import annotations

import inspect
from typing import Any, Callable

Handler = Callable[..., Any]

#: Event names the server reserves: emitting them is an error.
RESERVED_EVENTS = frozenset(
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
)


class Registered:
    """A handler with what is needed to call it cheaply."""

    __slots__ = ("function", "is_async", "max_args", "once")

    def __init__(self, function: Handler, once: bool = False) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function)
        self.max_args: int | None = _max_args(function)
        #: Removed before its first call (``once``).
        self.once = once

    def fit(self, args: list[Any]) -> list[Any]:
        """The built-in events' arguments cut to what the handler takes (a ``disconnect``
        handler may take the reason or nothing, as in python-socketio)."""
        if self.max_args is None or len(args) <= self.max_args:
            return args
        return args[: self.max_args]


def take(handlers: dict[str, Registered] | None, event: str) -> Registered | None:
    """The handler of ``event`` in ``handlers``; a ``once`` handler is removed as it is
    taken, so that it runs a single time."""
    if not handlers:
        return None
    handler = handlers.get(event)
    if handler is not None and handler.once:
        del handlers[event]
    return handler


def _max_args(function: Handler) -> int | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count
