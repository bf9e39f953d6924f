"""ferrio: a fast Socket.IO v5 client, with an asyncio API in the style of python-socketio
(:class:`AsyncClient`) and a blocking one for scripts (:class:`Client`), over a Rust core."""

from __future__ import annotations

from ._event import Event
from ._ffi import ferrio_ffi as _native
from ._stats import AckRoundTrips, ConnectionStats
from .asyncio_client import AsyncClient
from .client import Client
from .exceptions import (
    BadNamespaceError,
    CertificatePinError,
    ConnectionError,
    ConnectionRefusedError,
    DisconnectedError,
    EmitError,
    FerrioError,
    InternalError,
    TimeoutError,
)
from .namespace import AsyncClientNamespace

__version__: str = _native.ferrio_version()

__all__ = [
    "AckRoundTrips",
    "AsyncClient",
    "AsyncClientNamespace",
    "BadNamespaceError",
    "CertificatePinError",
    "Client",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionStats",
    "DisconnectedError",
    "EmitError",
    "Event",
    "FerrioError",
    "InternalError",
    "TimeoutError",
    "__version__",
]
