"""Emits on their way to the native layer: collected during one loop iteration, then
flushed once, as the JavaScript client flushes its queue once per tick.

Each run of emits to one socket crosses in one native call (``Socket.emit_batch``): the
JSON text of ``[[event, *args], ...]`` with binary values as placeholders numbered across
the run, plus their bytes. What the native queue could not take waits in a backlog sent
in order by ``Socket.emit_batch_async``, which waits for room and reports each emit's own
error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from . import _codec
from ._errors import convert
from ._ffi import ferrio_ffi as ffi

logger = logging.getLogger("ferrio")

#: Emits per batch: each batch is one native call that lowers its text through a
#: RustBuffer, a fixed cost that still showed at 64 (py-spy: 17 % of an emit loop's CPU).
BATCH = 256
_encode_plain = _codec.encode_plain


class _Run:
    """Emits to one socket, in order: their texts and the attachments they share."""

    __slots__ = ("attachments", "first", "socket", "text", "texts")

    def __init__(self, socket: ffi.Socket) -> None:
        self.socket = socket
        self.texts: list[str] = []
        self.attachments: list[bytes] = []
        #: The batch text, once made; the emits before ``first`` are queued.
        self.text: str | None = None
        self.first = 0

    def batch(self) -> str:
        if self.text is None:
            self.text = "[" + ",".join(self.texts) + "]"
        return self.text


class Outbox:
    """The pending emits of one client, in emit order across its namespaces."""

    def __init__(self, keep: Callable[[asyncio.Task[Any]], None]) -> None:
        #: Keeps a background task alive (the client's task set).
        self._keep = keep
        self._runs: list[_Run] = []
        self._last: _Run | None = None
        self._count = 0
        #: Runs the native queue could not take, sent in order (a list, not a deque: a
        #: deque allocates ~600 bytes up front, per client, for a backlog that is rare).
        self._backlog: list[_Run] = []
        self._lock: asyncio.Lock | None = None
        self._handle: asyncio.Handle | None = None

    @property
    def pending(self) -> bool:
        """Whether some emits are not handed to the native layer yet."""
        return bool(self._runs or self._backlog)

    def add(self, socket: ffi.Socket, named: list[Any]) -> bool:
        """Appends the emit ``[event, *args]``; returns whether the caller must ``await
        flush()`` now (a full batch, or a backlog to wait for). Raises ``TypeError`` for
        arguments that are not JSON values or bytes."""
        run = self._last
        if run is None or run.socket is not socket:
            run = _Run(socket)
            self._runs.append(run)
            self._last = run
        try:
            run.texts.append(_encode_plain(named))
        except TypeError:
            text, attachments = _codec.encode(named, len(run.attachments))
            run.texts.append(text)
            run.attachments.extend(attachments)
        self._count += 1
        if self._count >= BATCH or self._backlog:
            return True
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self._flush_soon)
        return False

    async def flush(self) -> None:
        """Sends everything pending, in order, waiting while the native queue is full.
        Raises the first error of an emit (the others are logged)."""
        self._cancel()
        runs = self._take()
        if runs:
            if self._backlog:
                self._backlog.extend(runs)
            else:
                try:
                    self._backlog.extend(_send_now(runs))
                except Exception as error:
                    raise convert(error) from None
        if self._backlog:
            await self._drain()

    def clear(self) -> None:
        """Forgets every pending emit (the client is closed)."""
        self._cancel()
        self._take()
        self._backlog.clear()

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _take(self) -> list[_Run]:
        runs, self._runs = self._runs, []
        self._last = None
        self._count = 0
        return runs

    def _flush_soon(self) -> None:
        self._handle = None
        runs = self._take()
        if not runs:
            return
        if self._backlog:
            self._backlog.extend(runs)
            return
        try:
            left = _send_now(runs)
        except Exception as error:
            logger.error("emit failed: %s", convert(error))
            return
        if left:
            self._backlog.extend(left)
            self._keep(asyncio.get_running_loop().create_task(self._drain_logged()))

    async def _drain(self) -> None:
        """Sends the backlog in order, each run waiting for room."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        first_error: BaseException | None = None
        async with self._lock:
            while self._backlog:
                run = self._backlog.pop(0)
                try:
                    failures = await run.socket.emit_batch_async(
                        run.batch(), run.attachments, run.first
                    )
                except Exception as error:
                    failures = []
                    first_error = first_error or convert(error)
                for failure in failures:
                    failed = convert(failure.error)
                    if first_error is None:
                        first_error = failed
                    else:
                        logger.warning("emit failed: %s", failed)
        if first_error is not None:
            raise first_error

    async def _drain_logged(self) -> None:
        try:
            await self._drain()
        except Exception as error:
            logger.error("emit failed: %s", error)


def _send_now(runs: list[_Run]) -> list[_Run]:
    """Queues ``runs`` without waiting; returns those not wholly queued, the first one
    marked with how many of its emits were."""
    for index, run in enumerate(runs):
        queued = run.socket.emit_batch(run.batch(), run.attachments)
        if queued < len(run.texts):
            run.first = queued
            return runs[index:]
    return []
