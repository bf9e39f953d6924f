"""The package's option defaults are the Rust core's, read through the FFI, never written
again in Python."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import ferrio
from ferrio._ffi import ferrio_ffi as ffi
from ferrio._options import Options, Settings

URL = "http://localhost:3000"

#: The options a client takes from the core when they are not given.
CORE_OPTIONS = [
    "reconnection",
    "reconnection_attempts",
    "reconnection_delay",
    "reconnection_delay_max",
    "randomization_factor",
    "ack_timeout",
]


def fields(options: ffi.ClientOptions) -> dict[str, Any]:
    return dict(vars(options))


def connect_options(settings: Settings) -> ffi.ClientOptions:
    return settings.options(
        URL, headers=None, auth=None, transports=None, socketio_path=None, wait_timeout=None
    )


@pytest.mark.parametrize("client_class", [ferrio.AsyncClient, ferrio.Client, ferrio.SimpleClient])
def test_every_option_of_a_client_defaults_to_the_core(client_class: type[Any]) -> None:
    # The constructors take the options of one place, ``Options``, none with a default of
    # its own: ``Settings`` leaves what was not given to the core.
    constructor = inspect.signature(client_class.__init__).parameters
    assert constructor["options"].kind is inspect.Parameter.VAR_KEYWORD
    assert set(CORE_OPTIONS) <= set(Options.__annotations__)
    connect = inspect.signature(client_class.connect).parameters
    assert connect["wait_timeout"].default is None
    assert connect["socketio_path"].default is None


def test_an_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="reconection"):
        ferrio.Client(reconection=False)  # type: ignore[call-arg]


def test_the_options_of_a_client_given_nothing_are_the_cores_defaults() -> None:
    core = ffi.default_client_options(URL)
    assert fields(connect_options(Settings())) == fields(core)
    assert Settings().ack_timeout == core.ack_timeout_ms / 1000


def test_given_options_replace_the_defaults_in_python_socketio_units() -> None:
    settings = Settings(
        reconnection=False,
        reconnection_attempts=0,
        reconnection_delay=0.25,
        reconnection_delay_max=2,
        randomization_factor=0.1,
        ack_timeout=1.5,
    )
    options = settings.options(
        URL,
        headers={"X-A": "1"},
        auth={"token": "t"},
        transports="polling",
        socketio_path="io",
        wait_timeout=3,
    )
    assert not options.reconnection
    assert options.reconnection_attempts is None  # 0 is unlimited, as in python-socketio
    assert (options.reconnection_delay_ms, options.reconnection_delay_max_ms) == (250, 2000)
    assert options.randomization_factor == 0.1
    assert options.ack_timeout_ms == 1500 and settings.ack_timeout == 1.5
    assert options.timeout_ms == 3000
    assert options.path == "/io/"
    assert options.transports == [ffi.Transport.POLLING] and not options.upgrade
    assert options.extra_headers == {"X-A": "1"}
    assert options.auth_json == '{"token": "t"}'
    assert connect_options(Settings(reconnection_attempts=3)).reconnection_attempts == 3


#: The core's size limits, each a keyword argument of the same name and the same default.
LIMITS = [
    "max_incoming_bytes",
    "max_payload_packets",
    "max_write_buffer_bytes",
    "max_cookies_per_host",
    "max_cookie_bytes_per_host",
    "max_incoming_attachments",
    "max_incoming_attachment_bytes",
    "max_incoming_packet_bytes",
    "max_incoming_binary_bytes",
    "max_incoming_json_values",
    "max_outgoing_attachments",
    "command_capacity",
    "incoming_capacity",
    "max_incoming_queue_bytes",
    "max_preconnect_events",
    "max_preconnect_bytes",
]


def test_every_limit_of_the_core_is_a_keyword_argument_that_reaches_the_native_options() -> None:
    core = ffi.default_client_options(URL)
    assert set(LIMITS) <= set(Options.__annotations__)
    for number, name in enumerate(LIMITS, start=7):
        assert getattr(connect_options(Settings()), name) == getattr(core, name)
        limit: dict[str, Any] = {name: number}
        given = connect_options(Settings(**limit))
        assert getattr(given, name) == number
    other = connect_options(
        Settings(
            try_all_transports=False,
            reconnect_on_server_disconnect=True,
            reconnect_hook_timeout=2.5,
        )
    )
    assert not other.try_all_transports
    assert other.reconnect_on_server_disconnect
    assert other.reconnect_hook_timeout_ms == 2500


@pytest.mark.parametrize("name", ["max_incoming_bytes", "max_payload_packets", "incoming_capacity"])
def test_a_limit_of_zero_that_would_refuse_everything_is_an_invalid_option_error(
    name: str,
) -> None:
    # Checked by the core when the connection is made (no request is sent): the same
    # error, with the same message, as in every language.
    zero: dict[str, Any] = {name: 0}
    client = ferrio.SimpleClient(**zero)
    message = f"{name} must be at least 1, not 0"
    with pytest.raises(ferrio.InvalidOptionError, match=message) as error:
        client.connect("http://127.0.0.1:9")
    assert isinstance(error.value, ValueError)
    assert isinstance(error.value, ferrio.ConnectionError)
