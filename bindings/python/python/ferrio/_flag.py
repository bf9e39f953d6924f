"""``Flag``: the part of ``asyncio.Event`` the clients use, at a fraction of its memory.

Every connected namespace holds several flags for its whole life and most are never
waited on; an ``asyncio.Event`` allocates a ``deque`` of waiters up front (about 600
bytes each), a flag makes its list of waiters when someone first waits.
"""

from __future__ import annotations

import asyncio


class Flag:
    """A flag that coroutines can wait for: :meth:`set`, :meth:`clear`, :meth:`is_set`
    and :meth:`wait` as ``asyncio.Event``'s."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    def set(self) -> None:
        """Sets the flag and wakes every waiter."""
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        """Clears the flag: later waiters wait for the next :meth:`set`."""
        self._set = False

    async def wait(self) -> bool:
        """Returns once the flag is set (at once when it is)."""
        if self._set:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            waiters = self._waiters
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
