"""ferrio: a fast Socket.IO v5 client with python-socketio's clients over a Rust core: the
asyncio :class:`AsyncClient`, the event-driven blocking :class:`Client` and the
:class:`SimpleClient` for scripts."""

from __future__ import annotations

from ._event import Event
from ._ffi import ferrio_ffi as _native
from ._manager_events import ManagerEvents
from ._stats import AckRoundTrips, BufferedEmits, ConnectionStats
from .asyncio_client import AsyncClient
from .client import Client
from .exceptions import (
    BadNamespaceError,
    BufferFullError,
    CertificatePinError,
    ConnectionError,
    ConnectionRefusedError,
    DisconnectedError,
    EmitError,
    FerrioError,
    InternalError,
    InvalidOptionError,
    ProxyError,
    ProxyErrorKind,
    TimeoutError,
)
from .namespace import AsyncClientNamespace, ClientNamespace
from .simple_client import SimpleClient

__version__: str = _native.ferrio_version()

__all__ = [
    "AckRoundTrips",
    "AsyncClient",
    "AsyncClientNamespace",
    "BadNamespaceError",
    "BufferFullError",
    "BufferedEmits",
    "CertificatePinError",
    "Client",
    "ClientNamespace",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionStats",
    "DisconnectedError",
    "EmitError",
    "Event",
    "FerrioError",
    "InternalError",
    "InvalidOptionError",
    "ManagerEvents",
    "ProxyError",
    "ProxyErrorKind",
    "SimpleClient",
    "TimeoutError",
    "__version__",
]
