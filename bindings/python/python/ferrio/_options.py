"""Maps python-socketio style keyword arguments to the native ``ClientOptions``."""

from __future__ import annotations

import json
from typing import Any, Callable, Union

from ._ffi import ferrio_ffi as ffi

Auth = Union[dict[str, Any], Callable[[], dict[str, Any]], None]

_TRANSPORTS = {"polling": ffi.Transport.POLLING, "websocket": ffi.Transport.WEBSOCKET}


def _millis(seconds: float) -> int:
    return max(0, int(seconds * 1000))


class Settings:
    """What the client constructor was given (python-socketio names, seconds)."""

    def __init__(
        self,
        *,
        reconnection: bool = True,
        reconnection_attempts: int = 0,
        reconnection_delay: float = 1,
        reconnection_delay_max: float = 5,
        randomization_factor: float = 0.5,
        ack_timeout: float = 30,
        ca_cert: str | None = None,
    ) -> None:
        self.reconnection = reconnection
        self.reconnection_attempts = reconnection_attempts
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = reconnection_delay_max
        self.randomization_factor = randomization_factor
        self.ack_timeout = ack_timeout
        self.ca_cert = ca_cert

    def options(
        self,
        url: str,
        *,
        headers: dict[str, str] | None,
        auth: Auth,
        transports: str | list[str] | None,
        socketio_path: str,
        wait_timeout: float,
    ) -> ffi.ClientOptions:
        """The native options of one connection."""
        if isinstance(transports, str):
            transports = [transports]
        try:
            kinds = [_TRANSPORTS[t] for t in transports or []]
        except KeyError as error:
            raise ValueError(f"unknown transport {error.args[0]!r}") from None
        if callable(auth):
            auth = auth()
        path = "/" + socketio_path.strip("/") + "/"
        ca_pem = None
        if self.ca_cert is not None:
            ca_pem = self.ca_cert
            if "-----BEGIN" not in ca_pem:
                with open(ca_pem, encoding="ascii") as file:
                    ca_pem = file.read()
        return ffi.ClientOptions(
            url=url,
            path=path,
            extra_headers=dict(headers or {}),
            transports=kinds,
            upgrade=kinds != [ffi.Transport.POLLING],
            timeout_ms=_millis(wait_timeout),
            ack_timeout_ms=_millis(self.ack_timeout),
            reconnection=self.reconnection,
            reconnection_attempts=self.reconnection_attempts or None,
            reconnection_delay_ms=_millis(self.reconnection_delay),
            reconnection_delay_max_ms=_millis(self.reconnection_delay_max),
            randomization_factor=self.randomization_factor,
            ca_cert_pem=ca_pem,
            auth_json=None if auth is None else json.dumps(auth),
        )


def transport_name(transport: ffi.Transport | None) -> str | None:
    """``"polling"``, ``"websocket"`` or ``None``."""
    if transport is None:
        return None
    return "websocket" if transport == ffi.Transport.WEBSOCKET else "polling"
