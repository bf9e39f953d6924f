"""Maps python-socketio style keyword arguments to the native ``ClientOptions``."""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ._auth import AuthValue
from ._ffi import ferrio_ffi as ffi

if TYPE_CHECKING:
    from typing_extensions import Unpack

_TRANSPORTS = {"polling": ffi.Transport.POLLING, "websocket": ffi.Transport.WEBSOCKET}
_BUFFER_POLICIES = {"reject": ffi.BufferPolicy.REJECT, "drop_oldest": ffi.BufferPolicy.DROP_OLDEST}
_SERVER_VERSIONS: dict[object, ffi.ServerVersion] = {
    "detect": ffi.ServerVersion.DETECT,
    2: ffi.ServerVersion.V2,
    4: ffi.ServerVersion.V4,
}


def _millis(seconds: float) -> int:
    return max(0, int(seconds * 1000))


#: Options given as the native field takes them, and options in seconds (native: ms).
_SAME_UNITS = {
    "compression": "compression",
    "max_buffered_emits": "max_buffered_emits",
    "max_buffered_bytes": "max_buffered_bytes",
    "reconnection": "reconnection",
    "randomization_factor": "randomization_factor",
    "retries": "retries",
    "room_join_event": "room_join_event",
    "room_leave_event": "room_leave_event",
    "try_all_transports": "try_all_transports",
    "reconnect_on_server_disconnect": "reconnect_on_server_disconnect",
    "max_incoming_bytes": "max_incoming_bytes",
    "max_payload_packets": "max_payload_packets",
    "max_write_buffer_bytes": "max_write_buffer_bytes",
    "max_cookies_per_host": "max_cookies_per_host",
    "max_cookie_bytes_per_host": "max_cookie_bytes_per_host",
    "max_incoming_attachments": "max_incoming_attachments",
    "max_incoming_attachment_bytes": "max_incoming_attachment_bytes",
    "max_incoming_packet_bytes": "max_incoming_packet_bytes",
    "max_incoming_binary_bytes": "max_incoming_binary_bytes",
    "max_incoming_json_values": "max_incoming_json_values",
    "max_outgoing_attachments": "max_outgoing_attachments",
    "command_capacity": "command_capacity",
    "incoming_capacity": "incoming_capacity",
    "max_incoming_queue_bytes": "max_incoming_queue_bytes",
    "max_preconnect_events": "max_preconnect_events",
    "max_preconnect_bytes": "max_preconnect_bytes",
}
_SECONDS = {
    "reconnection_delay": "reconnection_delay_ms",
    "reconnection_delay_max": "reconnection_delay_max_ms",
    "ack_timeout": "ack_timeout_ms",
    "reconnect_hook_timeout": "reconnect_hook_timeout_ms",
}


def default_options(url: str = "") -> ffi.ClientOptions:
    """The native options of a connection to ``url`` with the core's defaults: the one
    place every default of this package comes from."""
    return ffi.default_client_options(url)


class Options(TypedDict, total=False):
    """The keyword arguments of every client's constructor (:class:`AsyncClient`,
    :class:`Client`, :class:`SimpleClient`), python-socketio's names, times in seconds.
    An option not given (or ``None``) keeps the Rust core's default, the same in every
    language.

    - ``reconnection``, ``reconnection_attempts`` (``0``: unlimited),
      ``reconnection_delay``, ``reconnection_delay_max``, ``randomization_factor``: how a
      lost connection is reconnected.
    - ``ack_timeout``: the default timeout of an emit with acknowledgement.
    - ``ca_cert``: an extra CA certificate (PEM text or a file path); ``ssl_verify=False``
      accepts any server certificate (development only, logged by the core);
      ``certificate_pins``: ``["sha256/<base64>", ...]`` public keys one certificate of
      the verified chain must hold; ``client_cert`` and ``client_key``: a client
      certificate for mutual TLS (PEM text or file paths).
    - ``compression``: ask for compressed polling responses and offer permessage-deflate
      on the WebSocket (on by default).
    - ``server_version``: the Socket.IO version of the server: ``"detect"`` (the default:
      found out on the first connection, so a Socket.IO 2.x server needs no setting),
      ``2`` (Socket.IO 2.x servers) or ``4`` (Socket.IO 3.x and 4.x servers only: a 2.x
      server is refused with :class:`ConnectionRefusedError`).
    - ``fallback_urls``: servers tried in order when the URL cannot be reached.
    - ``max_buffered_emits``, ``max_buffered_bytes``: the offline buffer's bounds (emits made
      while not connected); ``buffer_policy``: ``"reject"`` (the emit raises
      :class:`BufferFullError`) or ``"drop_oldest"`` when it is full.
    - ``retries`` (the JavaScript client's): tries per emit beyond the first, for
      at-least-once delivery: every emit then waits in an ordered queue for the server's
      acknowledgement (``ack_timeout`` per try) and is sent again, after a reconnection
      if need be, until acknowledged or out of tries; the server must acknowledge every
      event, and may see one more than once.
    - ``room_join_event``, ``room_leave_event``: the events :meth:`AsyncClient.join_room`
      and ``leave_room`` emit with the room name (``"join"``, ``"leave"``).
    - ``proxy``: the proxy of both transports: ``"http://user:pass@host:port"``
      (CONNECT, or plain proxying of polling to ``http://`` servers),
      ``"socks5h://host:port"`` (the proxy resolves the server's name) or
      ``"socks5://host:port"``. Without it the environment's ``HTTPS_PROXY``,
      ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` are read as curl reads them, unless
      ``trust_env=False`` (as in httpx and requests). A proxy that cannot be used raises
      :class:`ferrio.ProxyError`.
    - ``try_all_transports``: when the first transport cannot be opened, try the next
      one (on by default: a blocked WebSocket falls back to polling);
      ``reconnect_on_server_disconnect``: reconnect a namespace the server disconnected
      (off by default, as in python-socketio); ``reconnect_hook_timeout``: seconds an
      ``auth`` callable has before each reconnection attempt.
    - Size limits, each the Rust core's default when not given (``0`` where it would
      refuse everything raises :class:`InvalidOptionError` when connecting):
      ``max_incoming_bytes`` (the largest HTTP body or WebSocket message taken from the
      server, decompressed: a larger one ends the connection with ``message too large``,
      then it reconnects), ``max_payload_packets`` (packets in one polling response:
      more end the connection the same way), ``max_write_buffer_bytes`` (bytes the
      WebSocket holds for a server that does not read: past it, ``write stalled``),
      ``max_cookies_per_host`` and ``max_cookie_bytes_per_host`` (the cookie jar),
      ``max_incoming_attachments``, ``max_incoming_attachment_bytes``,
      ``max_incoming_packet_bytes``, ``max_incoming_binary_bytes`` and
      ``max_incoming_json_values`` (one incoming packet's decoding),
      ``max_outgoing_attachments`` (the server's ``maxAttachments``),
      ``command_capacity`` and ``incoming_capacity`` (the native queues of emits and of
      each namespace's events), ``max_incoming_queue_bytes`` (bytes of events waiting
      for the handlers), ``max_preconnect_events`` and ``max_preconnect_bytes`` (events
      a namespace keeps when the server sends them before its CONNECT reply; the rest
      are dropped, with a warning logged).
    - ``logger``, ``engineio_logger``: python-socketio's; ``True`` logs the ``ferrio``
      logger's messages from ``INFO`` on to stderr when logging is not configured.
    """

    reconnection: bool | None
    reconnection_attempts: int | None
    reconnection_delay: float | None
    reconnection_delay_max: float | None
    randomization_factor: float | None
    ack_timeout: float | None
    ca_cert: str | None
    ssl_verify: bool
    certificate_pins: list[str] | None
    client_cert: str | None
    client_key: str | None
    compression: bool | None
    server_version: Literal["detect", 2, 4] | None
    max_buffered_emits: int | None
    max_buffered_bytes: int | None
    buffer_policy: Literal["reject", "drop_oldest"] | None
    retries: int | None
    room_join_event: str | None
    room_leave_event: str | None
    try_all_transports: bool | None
    reconnect_on_server_disconnect: bool | None
    reconnect_hook_timeout: float | None
    max_incoming_bytes: int | None
    max_payload_packets: int | None
    max_write_buffer_bytes: int | None
    max_cookies_per_host: int | None
    max_cookie_bytes_per_host: int | None
    max_incoming_attachments: int | None
    max_incoming_attachment_bytes: int | None
    max_incoming_packet_bytes: int | None
    max_incoming_binary_bytes: int | None
    max_incoming_json_values: int | None
    max_outgoing_attachments: int | None
    command_capacity: int | None
    incoming_capacity: int | None
    max_incoming_queue_bytes: int | None
    max_preconnect_events: int | None
    max_preconnect_bytes: int | None
    fallback_urls: list[str] | None
    proxy: str | None
    trust_env: bool
    logger: bool
    engineio_logger: bool


class Settings:
    """What the client constructor was given (see :class:`Options`); ``None`` keeps the
    core's default."""

    def __init__(self, **given: Unpack[Options]) -> None:
        unknown = sorted(set(given) - set(Options.__annotations__))
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        # Copied to a plain dict: a TypedDict's optional keys have no defaults. Lists are
        # copied too: a later change of the caller's list does not change the client.
        options: dict[str, Any] = dict(given)
        for key in ("fallback_urls", "certificate_pins"):
            if options.get(key) is not None:
                options[key] = list(options[key])
        #: What was given, from which `options` makes each connection's native options
        #: (a client keeps no record of all of them: about 1.6 KiB a client).
        self._given = options
        base = self._base()
        self._ack_timeout_ms = int(base.ack_timeout_ms)
        self.client_cert: str | None = options.get("client_cert")
        self.client_key: str | None = options.get("client_key")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together (mutual TLS)")
        self.ca_cert: str | None = options.get("ca_cert")
        if options.get("logger") or options.get("engineio_logger"):
            _log_to_stderr()

    def _base(self) -> ffi.ClientOptions:
        """The native options of what was given, without a URL; raises ``ValueError`` on
        an unknown value."""
        options = self._given
        base = default_options()
        base.proxy = options.get("proxy")
        base.proxy_from_environment = options.get("trust_env", True)
        for name, field in _SAME_UNITS.items():
            if options.get(name) is not None:
                setattr(base, field, options[name])
        for name, field in _SECONDS.items():
            if options.get(name) is not None:
                setattr(base, field, _millis(options[name]))
        if options.get("buffer_policy") is not None:
            try:
                base.buffer_policy = _BUFFER_POLICIES[options["buffer_policy"]]
            except KeyError:
                raise ValueError(f"unknown buffer_policy {options['buffer_policy']!r}") from None
        if options.get("server_version") is not None:
            try:
                base.server_version = _SERVER_VERSIONS[options["server_version"]]
            except KeyError:
                version = options["server_version"]
                raise ValueError(f"unknown server_version {version!r}: 'detect', 2 or 4") from None
        if options.get("fallback_urls") is not None:
            base.fallback_urls = list(options["fallback_urls"])
        if options.get("reconnection_attempts") is not None:
            base.reconnection_attempts = options["reconnection_attempts"] or None
        if not options.get("ssl_verify", True):
            base.danger_accept_invalid_certs = True
        if options.get("certificate_pins") is not None:
            base.certificate_pins = list(options["certificate_pins"])
        return base

    @property
    def ack_timeout(self) -> float:
        """The default timeout of an emit with acknowledgement, in seconds."""
        return self._ack_timeout_ms / 1000

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
        options = self._base()
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


def _log_to_stderr() -> None:
    """``logger=True``: the ``ferrio`` logger's messages from ``INFO`` on go to stderr,
    unless logging has been configured (python-socketio's behaviour)."""
    logger = logging.getLogger("ferrio")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        logger.addHandler(logging.StreamHandler(sys.stderr))
