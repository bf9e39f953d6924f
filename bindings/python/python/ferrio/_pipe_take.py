"""``take_batch``: ``EventPipe.take`` with the fewest Python steps, for the loop's wake-ups.

A method of the generated bindings costs far more in Python than the native call it makes:
each of its three native calls (the handle's clone, the method, the returned buffer's free)
builds a new call status (two ctypes structures), and the returned record is lifted through
a context manager, a stream object and a reader per field (a loop of empty takes: ~13.7 µs
a take, 2.8 µs of it native). A pipe is taken at every wake-up of the loop, so here the
same native calls share one call status per thread, and the usual batch (plain events
only: JSON text, no records, no replies, not ended) is read straight from the returned
buffer; any other batch is lifted by the generated code. When the generated module does
not have what this needs (another UniFFI version), every take is ``EventPipe.take``.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from ._ffi import ferrio_ffi as ffi

#: What follows the JSON text in the buffer of a batch of plain events: no records, no
#: replies (two big-endian i32 counts) and ``ended`` false (an i8), in UniFFI's layout of
#: the `PipeBatch` record.
_PLAIN_TAIL = bytes(9)

try:
    _CLONE = ffi._UniffiLib.uniffi_ferrio_ffi_fn_clone_eventpipe
    _TAKE = ffi._UniffiLib.uniffi_ferrio_ffi_fn_method_eventpipe_take
    _FREE = ffi._UniffiLib.ffi_ferrio_ffi_rustbuffer_free
    _STATUS = ffi._UniffiRustCallStatus
    _CHECK = ffi._uniffi_check_call_status
    _CALL_ERROR = ffi._UniffiFfiConverterTypeCallError
    _LIFT_BATCH = ffi._UniffiFfiConverterTypePipeBatch.lift
    #: Whether takes skip the generated method (tests check that they do).
    AVAILABLE = True
except AttributeError:
    AVAILABLE = False

_string_at = ctypes.string_at


class _Status(threading.local):
    """The call status of this thread's takes (a client's loop), and its reference."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.status: Any = _STATUS.default()
        self.ref: Any = ctypes.byref(self.status)


_thread: _Status | None = _Status() if AVAILABLE else None


def take_batch(pipe: ffi.EventPipe, max_events: int) -> str | ffi.PipeBatch:
    """``pipe.take(max_events)``, a batch of plain events as its JSON text (``str``),
    any other batch as the generated ``PipeBatch``. Raises what ``EventPipe.take``
    raises."""
    if not AVAILABLE or _thread is None:
        return pipe.take(max_events)
    thread = _thread
    ref = thread.ref
    status = thread.status
    handle = _CLONE(pipe._handle, ref)
    if status.code:
        _fail(thread, None)
    buffer = _TAKE(handle, max_events, ref)
    if status.code:
        _fail(thread, _CALL_ERROR)
    data = _string_at(buffer.data, buffer.len)
    end = 4 + int.from_bytes(data[:4], "big")
    if data[end:] != _PLAIN_TAIL:
        return _LIFT_BATCH(buffer)  # frees the buffer
    _FREE(buffer, ref)
    if status.code:
        _fail(thread, None)
    return data[4:end].decode()


def _fail(thread: _Status, error_converter: Any) -> None:
    """Raises the failure the thread's call status holds (as the generated call would),
    with a fresh status for its next take."""
    status = thread.status
    thread.renew()
    _CHECK(error_converter, status)
