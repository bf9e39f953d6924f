"""``proxy=`` and ``trust_env=`` through a real tinyproxy (HTTP) and a real microsocks
(SOCKS5), Debian's (``make test-python`` installs them), started by the test on an
ephemeral port. Both proxies connect out from 127.0.0.2 and the reference server records
the address of every connection it accepted, so a test sees whether the client came
through the proxy."""

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

#: The address the proxies connect out from.
PROXY_OUTGOING_ADDRESS = "127.0.0.2"
#: Runs a proxy and kills it once its stdin, a pipe from this process, closes: in
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


class LocalProxy:
    """A proxy program from Debian on 127.0.0.1:``port``, started with ``arguments``."""

    def __init__(self, program_name: str, scheme: str, port: int, arguments: list[str]) -> None:
        program = shutil.which(program_name)
        if program is None:
            raise RuntimeError(f"{program_name} is not installed: apt-get install {program_name}")
        self.port = port
        self.process = subprocess.Popen(
            ["sh", "-c", GUARD_SCRIPT, "sh", program, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.name = program_name
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} does not listen") from None
                time.sleep(0.02)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Tinyproxy(LocalProxy):
    """tinyproxy (HTTP), its configuration and log in ``directory``."""

    def __init__(self, directory: Path, credentials: tuple[str, str] | None = None) -> None:
        port = free_port()
        config = directory / "tinyproxy.conf"
        config.write_text(
            f"Port {port}\nListen 127.0.0.1\nBind {PROXY_OUTGOING_ADDRESS}\n"
            f'Timeout 60\nLogFile "{directory / "proxy.log"}"\nLogLevel Info\n'
            "MaxClients 64\nAllow 127.0.0.1\n"
            + ("" if credentials is None else "BasicAuth {} {}\n".format(*credentials))
        )
        super().__init__("tinyproxy", "http", port, ["-d", "-c", str(config)])


class Microsocks(LocalProxy):
    """microsocks (SOCKS5), wanting username/password ``credentials`` when given. Its URL is
    ``socks5h://``: the proxy, not the client, resolves the server's host name."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        port = free_port()
        arguments = ["-i", "127.0.0.1", "-p", str(port), "-b", PROXY_OUTGOING_ADDRESS]
        if credentials is not None:
            arguments += ["-u", credentials[0], "-P", credentials[1]]
        super().__init__("microsocks", "socks5h", port, arguments)


@pytest.fixture
def microsocks() -> Iterator[Microsocks]:
    proxy = Microsocks()
    yield proxy
    proxy.stop()


@pytest.fixture
def microsocks_with_credentials() -> Iterator[Microsocks]:
    """microsocks that wants the username/password ``user:secret``."""
    proxy = Microsocks(("user", "secret"))
    yield proxy
    proxy.stop()


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


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
async def test_a_socks5h_proxy_carries_every_transport(
    fresh_server: Any, microsocks: Microsocks, transports: list[str] | None
) -> None:
    server = fresh_server()
    # By host name: the proxy, not the client, resolves localhost.
    url = server.url.replace("127.0.0.1", "localhost")
    assert "localhost" in url
    client = ferrio.AsyncClient(proxy=microsocks.url, reconnection=False)
    await client.connect(url, transports=transports)
    try:
        assert await client.call("echo", "through socks") == "through socks"
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
@pytest.mark.parametrize(
    "proxy_name", ["tinyproxy_with_credentials", "microsocks_with_credentials"]
)
async def test_wrong_proxy_credentials_are_a_typed_authentication_failure(
    fresh_server: Any,
    request: pytest.FixtureRequest,
    proxy_name: str,
    transports: list[str] | None,
) -> None:
    server = fresh_server()
    # tinyproxy (HTTP Basic) or microsocks (SOCKS5), wanting ``user:secret``.
    proxy: LocalProxy = request.getfixturevalue(proxy_name)
    scheme = proxy.url.split("://")[0]
    client = ferrio.AsyncClient(
        proxy=f"{scheme}://user:wrong@127.0.0.1:{proxy.port}", reconnection=False
    )
    with pytest.raises(ferrio.ProxyError) as raised:
        await client.connect(server.url, transports=transports, wait_timeout=10)
    assert raised.value.kind is ferrio.ProxyErrorKind.AUTHENTICATION_FAILED
    # Named without its credentials.
    assert raised.value.proxy == proxy.url
    assert "wrong" not in str(raised.value)
    # The right ones go through.
    client = ferrio.AsyncClient(
        proxy=f"{scheme}://user:secret@127.0.0.1:{proxy.port}", reconnection=False
    )
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "authenticated") == "authenticated"
    finally:
        await client.disconnect()
    assert all_from((await server.acontrol("peers"))["peers"], PROXY_OUTGOING_ADDRESS)


def test_the_blocking_clients_raise_proxy_errors_too(server: Any) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ferrio.ProxyError) as raised:
        ferrio.SimpleClient(proxy=proxy, reconnection=False).connect(server.url)
    assert raised.value.kind is ferrio.ProxyErrorKind.UNREACHABLE
    client = ferrio.Client(proxy=proxy, reconnection=False)
    with pytest.raises(ferrio.ProxyError) as raised:
        client.connect(server.url)
    assert raised.value.kind is ferrio.ProxyErrorKind.UNREACHABLE
