"""Closes the package's connections before the interpreter finalises.

The native layer runs its connections on its own threads. A thread of the native runtime
that calls into Python while the interpreter finalises (the wake-up of an awaited call
that completes late) is ended by the interpreter mid-call, which aborts the process
("FATAL: exception not rethrown", exit status 134). The ``atexit`` hook below runs before
finalisation starts: it closes every manager a client left open, then waits, for at most
:data:`QUIET_WAIT` seconds, until no native task and no delivery thread is left, so that
nothing calls into Python once finalisation begins.
"""

from __future__ import annotations

import atexit
import contextlib
import time
import weakref

from ._ffi import ferrio_ffi as ffi

#: The longest wait at exit for the native tasks to end (each close is bounded by the core).
QUIET_WAIT = 5.0

_managers: weakref.WeakSet[ffi.Manager] = weakref.WeakSet()


def track(manager: ffi.Manager) -> ffi.Manager:
    """Registers ``manager`` to be closed at exit if it is still open then."""
    _managers.add(manager)
    return manager


def _quiet() -> bool:
    return bool(ffi.live_runtime_tasks() == 0 and ffi.live_delivery_threads() == 0)


def finalise() -> None:
    """Closes the managers still open and waits until the native runtime is idle."""
    for manager in list(_managers):
        # At exit, a failed close has nobody to tell.
        with contextlib.suppress(Exception):
            manager.close_blocking()
    deadline = time.monotonic() + QUIET_WAIT
    while not _quiet() and time.monotonic() < deadline:
        time.sleep(0.005)


atexit.register(finalise)
