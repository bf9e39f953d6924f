"""TLS options against the reference server over HTTPS/WSS: certificate pins (the server's
key, the CA's, a mismatch), mutual TLS, and ``ssl_verify=False``. The certificates come
from tests/server/test-certs.sh (openssl)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import ferrio
from conftest import TestServer

CERTS_SH = Path(__file__).resolve().parents[3] / "tests" / "server" / "test-certs.sh"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, server and client certificates and their pins (see test-certs.sh)."""
    directory = tmp_path_factory.mktemp("certs")
    subprocess.run([str(CERTS_SH), str(directory)], check=True)
    return directory


def pin(certs: Path, name: str) -> str:
    return (certs / f"{name}.pin").read_text().strip()


@pytest.fixture
def tls_server(certs: Path) -> Iterator[Callable[..., TestServer]]:
    """Starts HTTPS servers (``mutual=True``: requiring a client certificate)."""
    servers: list[TestServer] = []

    def start(mutual: bool = False) -> TestServer:
        tls: dict[str, Any] = {
            "cert": str(certs / "server.pem"),
            "key": str(certs / "server-key.pem"),
        }
        if mutual:
            tls["clientCa"] = str(certs / "ca.pem")
        started = TestServer({"tls": tls})
        started.url = f"https://localhost:{started.port}"
        servers.append(started)
        return started

    yield start
    for started in servers:
        started.stop()


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
@pytest.mark.parametrize("pinned", ["server", "ca"])
async def test_a_pinned_key_connects(
    certs: Path, tls_server: Callable[..., TestServer], transports: Any, pinned: str
) -> None:
    server = tls_server()
    client = ferrio.AsyncClient(
        ca_cert=str(certs / "ca.pem"),
        certificate_pins=[pin(certs, "other"), pin(certs, pinned)],
    )
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "pinned") == "pinned"
    finally:
        await client.disconnect()


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
async def test_a_wrong_pin_raises_certificate_pin_error(
    certs: Path, tls_server: Callable[..., TestServer], transports: Any
) -> None:
    server = tls_server()
    client = ferrio.AsyncClient(
        reconnection=False,
        ca_cert=(certs / "ca.pem").read_text(),
        certificate_pins=[pin(certs, "other")],
    )
    with pytest.raises(ferrio.CertificatePinError) as raised:
        await client.connect(server.url, transports=transports)
    assert raised.value.seen == [pin(certs, "server"), pin(certs, "ca")]
    assert isinstance(raised.value, ferrio.ConnectionError)
    assert pin(certs, "server") in str(raised.value)


def test_a_pin_that_does_not_parse_is_a_connection_error(
    tls_server: Callable[..., TestServer],
) -> None:
    server = tls_server()
    with (
        ferrio.SimpleClient(reconnection=False, certificate_pins=["md5/abc"]) as client,
        pytest.raises(ferrio.ConnectionError, match="sha256/"),
    ):
        client.connect(server.url)


def test_the_blocking_client_checks_pins_too(
    certs: Path, tls_server: Callable[..., TestServer]
) -> None:
    server = tls_server()
    with ferrio.SimpleClient(
        ca_cert=str(certs / "ca.pem"), certificate_pins=[pin(certs, "server")]
    ) as client:
        client.connect(server.url)
        assert client.call("echo", 1) == 1
    with (
        ferrio.SimpleClient(
            reconnection=False,
            ca_cert=str(certs / "ca.pem"),
            certificate_pins=[pin(certs, "other")],
        ) as client,
        pytest.raises(ferrio.CertificatePinError),
    ):
        client.connect(server.url)


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
async def test_mutual_tls_connects_with_the_client_certificate(
    certs: Path, tls_server: Callable[..., TestServer], transports: Any
) -> None:
    server = tls_server(mutual=True)
    client = ferrio.AsyncClient(
        ca_cert=str(certs / "ca.pem"),
        client_cert=str(certs / "client.pem"),
        client_key=(certs / "client-key.pem").read_text(),
    )
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "mtls") == "mtls"
    finally:
        await client.disconnect()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_mutual_tls_without_the_client_certificate_fails(
    certs: Path, tls_server: Callable[..., TestServer], transport: str
) -> None:
    server = tls_server(mutual=True)
    client = ferrio.AsyncClient(reconnection=False, ca_cert=str(certs / "ca.pem"))
    with pytest.raises(ferrio.ConnectionError, match="TLS"):
        await client.connect(server.url, transports=[transport])


def test_a_client_certificate_without_its_key_is_refused() -> None:
    with pytest.raises(ValueError, match="client_key"):
        ferrio.AsyncClient(client_cert="client.pem")


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None])
async def test_ssl_verify_false_connects_without_the_ca(
    tls_server: Callable[..., TestServer], transports: Any
) -> None:
    server = tls_server()
    untrusted = ferrio.AsyncClient(reconnection=False)
    with pytest.raises(ferrio.ConnectionError, match="TLS"):
        await untrusted.connect(server.url, transports=transports)
    client = ferrio.AsyncClient(ssl_verify=False)
    await client.connect(server.url, transports=transports)
    try:
        assert await client.call("echo", "unverified") == "unverified"
    finally:
        await client.disconnect()
