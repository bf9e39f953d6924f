"""``proxy=`` and ``trust_env=`` through a real tinyproxy (Debian's; ``make test-python``
installs it) started by the test on an ephemeral port. tinyproxy connects out from
127.0.0.2 and the reference server records the address of every connection it accepted,
so a test sees whether the client came through the proxy."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ferrio

#: The address tinyproxy connects out from.
PROXY_OUTGOING_ADDRESS = "127.0.0.2"
#: Runs tinyproxy and kills it once its stdin, a pipe from this process, closes: in
#: ``stop``, and when the test process dies, so that no proxy outlives the tests.
GUARD_SCRIPT = (
    'exec 3<&0; "$@" </dev/null & child=$!; '
    '(cat <&3 >/dev/null; kill -KILL "$child" 2>/dev/null) & exec 3<&-; wait "$child"'
)
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Tinyproxy:
    """tinyproxy on 127.0.0.1, its configuration and log in ``directory``."""

    def __init__(self, directory: Path, credentials: tuple[str, str] | None = None) -> None:
        program = shutil.which("tinyproxy")
        if program is None:
            raise RuntimeError("tinyproxy is not installed: apt-get install tinyproxy")
        self.port = free_port()
        config = directory / "tinyproxy.conf"
        config.write_text(
            f"Port {self.port}\nListen 127.0.0.1\nBind {PROXY_OUTGOING_ADDRESS}\n"
            f'Timeout 60\nLogFile "{directory / "proxy.log"}"\nLogLevel Info\n'
            "MaxClients 64\nAllow 127.0.0.1\n"
            + ("" if credentials is None else "BasicAuth {} {}\n".format(*credentials))
        )
        self.process = subprocess.Popen(
            ["sh", "-c", GUARD_SCRIPT, "sh", program, "-d", "-c", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyproxy exited ({self.process.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("tinyproxy does not listen") from None
                time.sleep(0.02)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path)
    yield proxy
    proxy.stop()


@pytest.fixture
def tinyproxy_with_credentials(tmp_path: Path) -> Iterator[Tinyproxy]:
    """tinyproxy that wants Basic credentials ``user:secret``."""
    proxy = Tinyproxy(tmp_path, ("user", "secret"))
    yield proxy
    proxy.stop()


def all_from(peers: list[str], address: str) -> bool:
    return bool(peers) and all(peer == address for peer in peers)


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
async def test_proxy_carries_every_transport(
    fresh_server: Any, tinyproxy: Tinyproxy, transports: list[str] | None
) -> None:
    server = fresh_server()
    client = ferrio.AsyncClient(proxy=tinyproxy.url, reconnection=False)
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "proxied") == "proxied"
    finally:
        await client.disconnect()
    peers = (await server.acontrol("peers"))["peers"]
    assert all_from(peers, PROXY_OUTGOING_ADDRESS), peers


def test_the_blocking_client_takes_a_proxy_too(fresh_server: Any, tinyproxy: Tinyproxy) -> None:
    server = fresh_server()
    with ferrio.SimpleClient(proxy=tinyproxy.url, reconnection=False) as client:
        client.connect(server.url)
        assert client.call("echo", "blocking") == "blocking"
    assert all_from(server.control("peers")["peers"], PROXY_OUTGOING_ADDRESS)


async def test_trust_env_false_ignores_the_environments_proxy(
    fresh_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fresh_server()
    # A proxy that is not there: a client that used it could not connect.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    client = ferrio.AsyncClient(trust_env=False, reconnection=False)
    await client.connect(server.url)
    try:
        assert await client.call("echo", "direct") == "direct"
    finally:
        await client.disconnect()
    # The control channel (urllib) reads HTTP_PROXY too.
    monkeypatch.delenv("HTTP_PROXY")
    assert all_from((await server.acontrol("peers"))["peers"], "127.0.0.1")


async def test_the_environments_proxy_is_used_by_default(
    fresh_server: Any, tinyproxy: Tinyproxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fresh_server()
    monkeypatch.setenv("HTTP_PROXY", tinyproxy.url)
    client = ferrio.AsyncClient(reconnection=False)
    await client.connect(server.url)
    try:
        assert await client.call("echo", "from the environment") == "from the environment"
    finally:
        await client.disconnect()
    monkeypatch.delenv("HTTP_PROXY")
    assert all_from((await server.acontrol("peers"))["peers"], PROXY_OUTGOING_ADDRESS)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_an_unreachable_proxy_is_a_typed_proxy_error_naming_it(
    server: Any, transport: str
) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"
    client = ferrio.AsyncClient(proxy=proxy, reconnection=False)
    with pytest.raises(ferrio.ProxyError, match="cannot reach the proxy") as raised:
        await client.connect(server.url, transports=[transport], wait_timeout=10)
    assert proxy in str(raised.value)
    assert raised.value.kind is ferrio.ProxyErrorKind.UNREACHABLE
    assert raised.value.proxy == proxy
    assert isinstance(raised.value, ferrio.ConnectionError)


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
async def test_wrong_proxy_credentials_are_a_typed_authentication_failure(
    fresh_server: Any, tinyproxy_with_credentials: Tinyproxy, transports: list[str] | None
) -> None:
    server = fresh_server()
    port = tinyproxy_with_credentials.port
    client = ferrio.AsyncClient(proxy=f"http://user:wrong@127.0.0.1:{port}", reconnection=False)
    with pytest.raises(ferrio.ProxyError) as raised:
        await client.connect(server.url, transports=transports, wait_timeout=10)
    assert raised.value.kind is ferrio.ProxyErrorKind.AUTHENTICATION_FAILED
    # Named without its credentials.
    assert raised.value.proxy == f"http://127.0.0.1:{port}"
    assert "wrong" not in str(raised.value)
    # The right ones go through.
    client = ferrio.AsyncClient(proxy=f"http://user:secret@127.0.0.1:{port}", reconnection=False)
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "authenticated") == "authenticated"
    finally:
        await client.disconnect()


def test_the_blocking_clients_raise_proxy_errors_too(server: Any) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ferrio.ProxyError) as raised:
        ferrio.SimpleClient(proxy=proxy, reconnection=False).connect(server.url)
    assert raised.value.kind is ferrio.ProxyErrorKind.UNREACHABLE
    client = ferrio.Client(proxy=proxy, reconnection=False)
    with pytest.raises(ferrio.ProxyError) as raised:
        client.connect(server.url)
    assert raised.value.kind is ferrio.ProxyErrorKind.UNREACHABLE
