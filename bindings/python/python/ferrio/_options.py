"""Maps python-socketio style keyword arguments to the native ``ClientOptions``."""

from __future__ import annotations

import copy
import json

from ._auth import AuthValue
from ._ffi import ferrio_ffi as ffi

_TRANSPORTS = {"polling": ffi.Transport.POLLING, "websocket": ffi.Transport.WEBSOCKET}


def _millis(seconds: float) -> int:
    return max(0, int(seconds * 1000))


def default_options(url: str = "") -> ffi.ClientOptions:
    """The native options of a connection to ``url`` with the core's defaults: the one
    place every default of this package comes from."""
    return ffi.default_client_options(url)


class Settings:
    """What the client constructor was given (python-socketio names, seconds); ``None``
    keeps the core's default."""

    def __init__(
        self,
        *,
        reconnection: bool | None = None,
        reconnection_attempts: int | None = None,
        reconnection_delay: float | None = None,
        reconnection_delay_max: float | None = None,
        randomization_factor: float | None = None,
        ack_timeout: float | None = None,
        ca_cert: str | None = None,
        ssl_verify: bool = True,
        certificate_pins: list[str] | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        compression: bool | None = None,
        fallback_urls: list[str] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> None:
        base = default_options()
        base.proxy = proxy
        base.proxy_from_environment = trust_env
        if compression is not None:
            base.compression = compression
        if fallback_urls is not None:
            base.fallback_urls = list(fallback_urls)
        if reconnection is not None:
            base.reconnection = reconnection
        if reconnection_attempts is not None:
            base.reconnection_attempts = reconnection_attempts or None
        if reconnection_delay is not None:
            base.reconnection_delay_ms = _millis(reconnection_delay)
        if reconnection_delay_max is not None:
            base.reconnection_delay_max_ms = _millis(reconnection_delay_max)
        if randomization_factor is not None:
            base.randomization_factor = randomization_factor
        if ack_timeout is not None:
            base.ack_timeout_ms = _millis(ack_timeout)
        if not ssl_verify:
            base.danger_accept_invalid_certs = True
        if certificate_pins is not None:
            base.certificate_pins = list(certificate_pins)
        if (client_cert is None) != (client_key is None):
            raise ValueError("client_cert and client_key go together (mutual TLS)")
        self._base = base
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key

    @property
    def ack_timeout(self) -> float:
        """The default timeout of an emit with acknowledgement, in seconds."""
        return int(self._base.ack_timeout_ms) / 1000

    def options(
        self,
        url: str,
        *,
        headers: dict[str, str] | None,
        auth: AuthValue,
        transports: str | list[str] | None,
        socketio_path: str | None,
        wait_timeout: float | None,
    ) -> ffi.ClientOptions:
        """The native options of one connection."""
        if isinstance(transports, str):
            transports = [transports]
        try:
            kinds = [_TRANSPORTS[t] for t in transports or []]
        except KeyError as error:
            raise ValueError(f"unknown transport {error.args[0]!r}") from None
        options = copy.copy(self._base)
        options.url = url
        if socketio_path is not None:
            options.path = "/" + socketio_path.strip("/") + "/"
        options.extra_headers = dict(headers or {})
        if kinds:
            options.transports = kinds
            options.upgrade = kinds != [ffi.Transport.POLLING]
        if wait_timeout is not None:
            options.timeout_ms = _millis(wait_timeout)
        if self.ca_cert is not None:
            options.ca_cert_pem = _pem(self.ca_cert)
        if self.client_cert is not None and self.client_key is not None:
            options.client_cert_pem = _pem(self.client_cert)
            options.client_key_pem = _pem(self.client_key)
        if auth is not None:
            options.auth_json = json.dumps(auth)
        return options


def _pem(text_or_path: str) -> str:
    """PEM text as given, or the content of the file it names."""
    if "-----BEGIN" in text_or_path:
        return text_or_path
    with open(text_or_path, encoding="ascii") as file:
        return file.read()


def transport_name(transport: ffi.Transport | None) -> str | None:
    """``"polling"``, ``"websocket"`` or ``None``."""
    if transport is None:
        return None
    return "websocket" if transport == ffi.Transport.WEBSOCKET else "polling"
