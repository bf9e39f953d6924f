"""A handler that records its calls, to await them instead of sleeping."""

from __future__ import annotations

import asyncio
from typing import Any


class Recorder:
    """Call it like a handler; ``await recorder.next()`` gives the arguments of each call."""

    def __init__(self, reply: Any = None) -> None:
        self.calls: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.reply = reply

    def __call__(self, *args: Any) -> Any:
        self.calls.put_nowait(args)
        return self.reply

    async def next(self, timeout: float = 10.0) -> tuple[Any, ...]:
        return await asyncio.wait_for(self.calls.get(), timeout)
