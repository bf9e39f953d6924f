"""The ``auth`` argument of ``connect``: a dict, or a callable called on every connection
attempt, as in python-socketio (how its users refresh a token). The first attempt calls it
in ``connect``; every reconnection attempt calls it again through the core's reconnection
hook, on a thread of the native runtime."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable
from typing import Any, Callable, Union

from ._ffi import ferrio_ffi as ffi

AuthValue = Union[dict[str, Any], None]
Auth = Union[AuthValue, Callable[[], Union[AuthValue, Awaitable[AuthValue]]]]

#: The longest a reconnection attempt waits for a coroutine ``auth`` on the client's loop:
#: a bound on the native thread that waits, past the core's own hook timeout (10 s), after
#: which the attempt has gone on without it.
_LOOP_WAIT = 30.0


def resolve(auth: Auth) -> AuthValue:
    """The auth payload now: ``auth`` itself, or what the callable returns."""
    if not callable(auth):
        return auth
    value = auth()
    if inspect.isawaitable(value):
        _close(value)
        raise TypeError("an async auth callable needs ferrio.AsyncClient")
    return value


async def resolve_async(auth: Auth) -> AuthValue:
    """The auth payload now; a coroutine returned by the callable is awaited."""
    if not callable(auth):
        return auth
    value = auth()
    if inspect.isawaitable(value):
        return await value
    return value


class AuthRefresh(ffi.ReconnectHook):  # type: ignore[misc]  # the generated module is untyped
    """Calls the ``auth`` callable before every reconnection attempt; a coroutine it
    returns runs on ``loop`` (the client's). An exception leaves the auth as it was: the
    core logs it and the attempt goes on."""

    def __init__(
        self,
        auth: Callable[[], AuthValue | Awaitable[AuthValue]],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._auth = auth
        self._loop = loop

    def before_attempt(self, attempt: int) -> ffi.ReconnectUpdate:
        value = self._auth()
        if inspect.isawaitable(value):
            if self._loop is None:
                _close(value)
                raise TypeError("an async auth callable needs ferrio.AsyncClient")
            value = asyncio.run_coroutine_threadsafe(_awaited(value), self._loop).result(_LOOP_WAIT)
        return ffi.ReconnectUpdate(auth_json=None if value is None else json.dumps(value))


def new_manager(
    options: ffi.ClientOptions, auth: Auth, loop: asyncio.AbstractEventLoop | None
) -> ffi.Manager:
    """The native manager of ``options``, with the reconnection hook when ``auth`` is a
    callable."""
    if callable(auth):
        return ffi.Manager.with_reconnect_hook(options, AuthRefresh(auth, loop))
    return ffi.Manager(options)


async def _awaited(value: Awaitable[AuthValue]) -> AuthValue:
    return await value


def _close(value: object) -> None:
    """Closes an unawaited coroutine (no "never awaited" warning)."""
    close = getattr(value, "close", None)
    if callable(close):
        close()
