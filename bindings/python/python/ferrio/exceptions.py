"""Exceptions raised by ferrio: one base, :class:`FerrioError`, as in python-socketio.

The names ``ConnectionError`` and ``TimeoutError`` shadow the builtins only inside this
module and as ``ferrio.ConnectionError``/``ferrio.TimeoutError``.
"""

from __future__ import annotations

import enum
from typing import Any


class FerrioError(Exception):
    """Base class of every ferrio error."""


class ConnectionError(FerrioError):
    """The connection or a namespace could not be established."""


class InvalidOptionError(ConnectionError, ValueError):
    """An option the Rust core cannot work with (a size limit of ``0`` where zero would
    refuse everything, a bad certificate pin, ...), raised when connecting; the message
    names the option. Also a :class:`ValueError`."""


class ConnectionRefusedError(ConnectionError):
    """The server refused the namespace; ``message`` and ``data`` are the server's."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        #: The arguments of the ``connect_error`` event, as python-socketio gives them.
        self.error_args = (
            {"message": message, "data": data} if data is not None else {"message": message}
        )


class CertificatePinError(ConnectionError):
    """The server's certificate chain holds none of the ``certificate_pins``; ``seen`` lists
    the chain's keys (``sha256/<base64>``, the server's first)."""

    def __init__(self, message: str, seen: list[str]) -> None:
        super().__init__(message)
        self.seen = seen


class ProxyErrorKind(str, enum.Enum):
    """Why a proxy could not carry the connection (compares equal to its value)."""

    #: The proxy could not be reached (refused, DNS, timeout): check its address.
    UNREACHABLE = "unreachable"
    #: The proxy wants credentials, or refused the ones given (HTTP 407, SOCKS5).
    AUTHENTICATION_FAILED = "authentication_failed"
    #: The proxy refused to open a connection to the server.
    REFUSED = "refused"
    #: The proxy's answer is not HTTP CONNECT or SOCKS5 as expected.
    PROTOCOL = "protocol"


class ProxyError(ConnectionError):
    """A proxy could not carry the connection: ``kind`` (a :class:`ProxyErrorKind`) says
    why, ``proxy`` names it without its credentials."""

    def __init__(self, message: str, kind: ProxyErrorKind, proxy: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.proxy = proxy


class TimeoutError(FerrioError):
    """No acknowledgement (or event, for ``receive``) arrived in time."""


class DisconnectedError(FerrioError):
    """The client is not connected, or the connection dropped while waiting."""


class BadNamespaceError(FerrioError):
    """The namespace is not one of those the client connected."""


class EmitError(FerrioError):
    """The event could not be sent: reserved name, too large, too many attachments, bad data."""


class BufferFullError(EmitError):
    """The offline buffer is full (``max_buffered_emits`` or ``max_buffered_bytes``) and its
    ``buffer_policy`` is ``"reject"``: the emit was not buffered."""


class InternalError(FerrioError):
    """A bug in ferrio, caught at the native boundary."""
