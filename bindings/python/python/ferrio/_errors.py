"""Turns the native layer's typed errors into ferrio's exceptions."""

from __future__ import annotations

import json
from typing import Any

from . import exceptions as exc
from ._ffi import ferrio_ffi as ffi


def _data(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def convert(error: BaseException) -> BaseException:
    """The ferrio exception for a native error; other exceptions unchanged."""
    if isinstance(error, exc.FerrioError):
        return error
    detail = str(error)
    if isinstance(error, ffi.ConnectError):
        if isinstance(error, ffi.ConnectError.Rejected):
            return exc.ConnectionRefusedError(error.server_message, _data(error.data_json))
        if isinstance(error, ffi.ConnectError.Panic):
            return exc.InternalError(error.detail)
        if isinstance(error, ffi.ConnectError.Proxy):
            kind = _PROXY_KINDS[error.kind]
            return exc.ProxyError(error.detail, kind, error.proxy)
        if isinstance(error, ffi.ConnectError.InvalidOption):
            return exc.InvalidOptionError(_message(error))
        if isinstance(error, ffi.ConnectError.PinMismatch):
            seen = list(error.seen)
            message = "no pinned key in the server's certificate chain (its keys: {})"
            return exc.CertificatePinError(message.format(", ".join(seen)), seen)
        return exc.ConnectionError(_message(error))
    if isinstance(error, ffi.AckError):
        if isinstance(error, ffi.AckError.Timeout):
            return exc.TimeoutError(f"no acknowledgement within {error.timeout_ms} ms")
        if isinstance(
            error, (ffi.AckError.Disconnected, ffi.AckError.Closed, ffi.AckError.Discarded)
        ):
            return exc.DisconnectedError(_message(error))
        if isinstance(error, ffi.AckError.Panic):
            return exc.InternalError(error.detail)
        if isinstance(error, ffi.AckError.BufferFull):
            return exc.BufferFullError(_message(error))
        return exc.EmitError(_message(error))
    if isinstance(error, ffi.EmitError):
        if isinstance(error, ffi.EmitError.Closed):
            return exc.DisconnectedError("the client is closed")
        if isinstance(error, ffi.EmitError.Panic):
            return exc.InternalError(error.detail)
        if isinstance(error, ffi.EmitError.BufferFull):
            return exc.BufferFullError(_message(error))
        return exc.EmitError(_message(error))
    if isinstance(error, ffi.AckReplyError):
        if isinstance(error, ffi.AckReplyError.Panic):
            return exc.InternalError(error.detail)
        return exc.EmitError(_message(error))
    if isinstance(error, ffi.CallError.Resource):
        return exc.ConnectionError(error.detail)
    if isinstance(error, (ffi.CallError, ffi.InternalError)):
        return exc.InternalError(detail)
    return error


_PROXY_KINDS = {
    ffi.ProxyErrorKind.UNREACHABLE: exc.ProxyErrorKind.UNREACHABLE,
    ffi.ProxyErrorKind.AUTHENTICATION_FAILED: exc.ProxyErrorKind.AUTHENTICATION_FAILED,
    ffi.ProxyErrorKind.REFUSED: exc.ProxyErrorKind.REFUSED,
    ffi.ProxyErrorKind.PROTOCOL_VIOLATION: exc.ProxyErrorKind.PROTOCOL,
}

_MESSAGES = {
    "Timeout": "connection timed out",
    "Closed": "the client is closed",
    "Disconnected": "disconnected before the acknowledgement arrived",
    "Discarded": "the buffered packet was discarded",
    "QueueFull": "the outgoing queue is full",
    "BufferFull": "the offline buffer is full",
}


def _message(error: BaseException) -> str:
    name = type(error).__name__
    # An emit over the server's limits (EmitError and AckError PayloadTooLarge,
    # TooManyAttachments): the core's words.
    size, count, limit = (getattr(error, field, None) for field in ("size", "count", "max"))
    if isinstance(limit, int) and isinstance(size, int):
        return f"packet of {size} bytes exceeds the server's maxPayload of {limit} bytes"
    if isinstance(limit, int) and isinstance(count, int):
        return f"{count} binary attachments exceed the limit of {limit}"
    for field in ("detail", "event"):
        value = getattr(error, field, None)
        if isinstance(value, str):
            return f"{name}: {value}"
    return _MESSAGES.get(name, name) if not str(error) else f"{name}: {error}"
