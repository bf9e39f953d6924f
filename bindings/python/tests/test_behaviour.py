"""The behaviour table's Python driver: every scenario of tests/behaviour/scenarios.json run
by ``ferrio.AsyncClient`` against a reference server of its own, over each transport;
results in target/behaviour/python.json (tests/behaviour/coverage.py reads them).

The client is python-socketio's shape: one ``connect()`` for all of a client's namespaces
(the scenario's namespaces that the server accepts, with one auth), so a scenario's
``connect`` steps start that call and wait for it; a namespace the server refuses is
connected by a client of its own. Emits made while ``connect()`` is under way are the
buffered ones. Handlers are one per event and namespace, as in python-socketio.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ferrio
from conftest import TestServer
from ferrio._auth import Auth
from ferrio.asyncio_client import EventIterator

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "tests" / "behaviour" / "scenarios.json"
LANGUAGE = "python"
STEP_WAIT = 30.0
SCENARIO_WAIT = 120.0
TRANSPORTS = {"P": ["polling"], "W": ["websocket"], "U": None}
#: The record the manager's ``reconnect_failed`` events go to.
RECONNECT_FAILED = "manager reconnect_failed"
#: The manager's events (``client.io.on``), as the catalogue's ``on_manager`` steps name them.
MANAGER_EVENTS = [
    "open",
    "close",
    "reconnect_attempt",
    "reconnect_error",
    "reconnect",
    "reconnect_failed",
]

SCENARIOS: list[dict[str, Any]] = json.loads(CATALOGUE.read_text(encoding="utf-8"))["scenarios"]
RUNS = [(s, t) for s in SCENARIOS for t in s["transports"]]
RESULTS: list[dict[str, str]] = []


def to_native(value: Any) -> Any:
    """A catalogue value as the client takes it: ``{"$binary": ...}`` becomes bytes."""
    if isinstance(value, dict):
        if list(value) == ["$binary"]:
            return base64.b64decode(value["$binary"])
        return {k: to_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_native(v) for v in value]
    return value


def to_catalogue(value: Any) -> Any:
    """A client value as the catalogue writes it: bytes become ``{"$binary": ...}``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$binary": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: to_catalogue(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_catalogue(v) for v in value]
    return value


def matches(expected: Any, actual: Any) -> bool:
    """Objects by the expected keys, arrays element by element, numbers by value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and matches(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def stats_observed(stats: ferrio.ConnectionStats) -> dict[str, Any]:
    """Connection statistics in the catalogue's names (``expect_stats``)."""
    acks = stats.ack_round_trips
    return {
        "bytes_in": stats.bytes_in,
        "bytes_out": stats.bytes_out,
        "packets_in": stats.packets_in,
        "packets_out": stats.packets_out,
        "reconnects": stats.reconnects,
        "acks": acks.count,
        "acks_ordered": acks.p50 <= acks.p90 <= acks.p99 <= acks.max
        and (acks.count == 0 or acks.max > 0),
    }


def stats_match(expected: dict[str, Any], observed: dict[str, Any]) -> bool:
    """Each expected value equal, or at least ``n`` where it is ``{"at_least": n}``."""
    return all(
        observed[key] >= want["at_least"]
        if isinstance(want, dict)
        else matches(want, observed[key])
        for key, want in expected.items()
    )


class Records:
    """What the handlers recorded, by record name (handlers run on the event loop)."""

    def __init__(self) -> None:
        self.calls: dict[str, list[Any]] = {}
        self.changed = asyncio.Event()

    def push(self, record: str, call: Any) -> None:
        self.calls.setdefault(record, []).append(to_catalogue(call))
        self.changed.set()

    async def wait_for(self, record: str, count: int) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_WAIT
        while len(self.calls.get(record, [])) < count:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"{record}: {count} expected, got {self.calls.get(record, [])}"
                ) from None
        return list(self.calls[record])

    async def expect(self, step: dict[str, Any]) -> None:
        expected = step["calls"]
        seen = await self.wait_for(step["record"], len(expected))
        assert matches(expected, seen[: len(expected)]), f"expected {expected}, got {seen}"
        if step.get("exact"):
            assert len(seen) == len(expected), f"expected exactly {expected}, got {seen}"


class Run:
    """One scenario over one transport: the client and the clients of refused namespaces."""

    def __init__(self, scenario: dict[str, Any], transport: str, server: TestServer) -> None:
        self.server = server
        self.transports = TRANSPORTS[transport]
        self.records = Records()
        options = scenario.get("options", {})
        # The first and the longest reconnection delay (None: the default).
        delay = options.get("reconnection_delay_ms")
        delay = None if delay is None else delay / 1000
        self.client = ferrio.AsyncClient(
            retries=options.get("retries"),
            reconnection_attempts=options.get("reconnection_attempts"),
            reconnection_delay=delay,
            reconnection_delay_max=delay,
            max_buffered_emits=options.get("max_buffered_emits"),
            buffer_policy=options.get("buffer_policy"),
            max_incoming_bytes=options.get("max_incoming_bytes"),
            max_payload_packets=options.get("max_payload_packets"),
            max_preconnect_events=options.get("max_preconnect_events"),
            max_preconnect_bytes=options.get("max_preconnect_bytes"),
        )
        #: The records of the ``on_manager`` steps and the event kinds each takes.
        self.manager_records: list[tuple[str, list[str]]] = []
        for kind in MANAGER_EVENTS:
            self.client.io.on(kind, lambda *args, k=kind: self.manager_event(k, list(args)))
        self.transport = transport
        self.others: list[ferrio.AsyncClient] = []
        connects = [s for s in scenario["steps"] if s["op"] == "connect"]
        self.accepted = list(dict.fromkeys(s["nsp"] for s in connects if "error" not in s))
        auths = [s["auth"] for s in connects if "auth" in s and "error" not in s]
        first: dict[str, Any] | None = auths[-1] if auths else None
        self.auth: Auth = first
        if "reconnect_auth" in options:
            # python-socketio's token refresh: a callable, called by connect() and then
            # before every reconnection attempt.
            calls = iter([first])
            self.auth = lambda: next(calls, options["reconnect_auth"])
        self.connecting: asyncio.Future[None] | None = None
        self.readers: list[asyncio.Future[None]] = []
        # python-socketio's way: the query in the URL, headers as an argument.
        query = urllib.parse.urlencode(options.get("query", {}))
        self.url = f"{server.url}/?{query}" if query else server.url
        self.headers: dict[str, str] | None = options.get("headers")

    async def start_connecting(self) -> None:
        """Starts the one ``connect()`` and yields until it registered its namespaces."""
        if self.connecting is not None:
            return
        self.connecting = asyncio.ensure_future(
            self.client.connect(
                self.url,
                headers=self.headers,
                namespaces=self.accepted,
                auth=self.auth,
                transports=self.transports,
            )
        )
        while not all(n in self.client._namespaces for n in self.accepted):
            if self.connecting.done():
                self.connecting.result()
                break
            await asyncio.sleep(0)

    def manager_event(self, kind: str, args: list[Any]) -> None:
        """A manager event, to the records that take its kind (``reconnect_error`` without
        its text, which names the cause in words)."""
        if kind == "reconnect_failed":
            self.records.push(RECONNECT_FAILED, [])
        call = [kind] if kind == "reconnect_error" else [kind, *args]
        for record, kinds in self.manager_records:
            if kind in kinds:
                self.records.push(record, call)

    def handler(self, step: dict[str, Any]) -> Any:
        record = step["record"]
        reply = step.get("reply")
        block = step.get("block_ms", 0) / 1000

        def handle(*args: Any) -> Any:
            if block:
                time.sleep(block)  # a slow handler: it holds the event loop
            self.records.push(record, list(args))
            if reply is not None:
                return tuple(to_native(reply))
            return None

        return handle

    async def step(self, step: dict[str, Any]) -> None:
        op = step["op"]
        nsp = step.get("nsp", "/")
        if op == "connect" and "error" in step:
            refused = ferrio.AsyncClient()
            self.others.append(refused)
            with pytest.raises(ferrio.ConnectionRefusedError) as raised:
                await refused.connect(
                    self.server.url,
                    namespaces=[nsp],
                    auth=step.get("auth"),
                    transports=self.transports,
                )
            seen = {"message": raised.value.message, "data": to_catalogue(raised.value.data)}
            assert matches(step["error"], seen), f"expected {step['error']}, got {seen}"
        elif op == "connect":
            if self.connecting is not None and self.connecting.done() and not self.client.connected:
                self.connecting = None  # connect() again after a disconnect
            await self.start_connecting()
            assert self.connecting is not None
            await asyncio.wait_for(asyncio.shield(self.connecting), STEP_WAIT)
        elif op == "emit":
            await self.start_connecting()
            for args in step.get("args_each", [step.get("args", [])]):
                if step.get("error") == "reserved":
                    with pytest.raises(ferrio.EmitError, match="reserved"):
                        await self.client.emit(step["event"], tuple(to_native(args)), namespace=nsp)
                else:
                    await self.client.emit(step["event"], tuple(to_native(args)), namespace=nsp)
        elif op == "flood":
            await self.start_connecting()
            await self.flood(step, nsp)
        elif op == "emit_mixed":
            await self.start_connecting()
            await self.emit_mixed(step, nsp)
        elif op == "emit_volatile":
            await self.start_connecting()
            args = tuple(to_native(step["args"]))
            await self.client.emit(step["event"], args, namespace=nsp, volatile=True)
        elif op == "join_room":
            await self.client.join_room(step["room"], namespace=nsp)
        elif op == "leave_room":
            await self.client.leave_room(step["room"], namespace=nsp)
        elif op == "emit_ack":
            await self.emit_ack(step, nsp)
        elif op in ("on", "once"):
            register = self.client.on if op == "on" else self.client.once
            register(step["event"], self.handler(step), namespace=nsp)
        elif op == "off":
            self.client.off(step["event"], namespace=nsp)
        elif op == "on_any":
            record = step["record"]
            self.client.on("*", lambda *call: self.records.push(record, list(call)), namespace=nsp)
        elif op == "off_any":
            self.client.off("*", namespace=nsp)
        elif op == "on_any_outgoing":
            record = step["record"]
            self.client.on_any_outgoing(
                lambda *call: self.records.push(record, list(call)), namespace=nsp
            )
        elif op == "stream":
            events = self.client.events(nsp)  # receiving from now on
            self.readers.append(asyncio.ensure_future(self.read(events, step["record"])))
        elif op == "on_manager":
            self.manager_records.append((step["record"], step["events"]))
        elif op == "expect":
            await self.records.expect(step)
        elif op == "clear_buffer":
            await self.client.clear_buffer(nsp)
        elif op == "expect_buffered":
            # No event says the count changed: it is read every few milliseconds.
            deadline = asyncio.get_running_loop().time() + STEP_WAIT
            while (buffered := await self.client.buffered(nsp)).emits != step["emits"]:
                assert asyncio.get_running_loop().time() < deadline, f"buffered: {buffered}"
                await asyncio.sleep(0.005)
        elif op == "reconnect_now":
            await self.client.reconnect_now()
        elif op == "expect_reconnect_failed":
            await self.records.wait_for(RECONNECT_FAILED, 1)
        elif op == "expect_ended":
            # python-socketio's way to know the connection has ended for good.
            await asyncio.wait_for(self.client.wait(), STEP_WAIT)
        elif op == "disconnect":
            await self.client.disconnect()
        elif op == "expect_disconnect":
            seen = (await self.records.wait_for(f"disconnect {nsp}", 1))[0]
            reasons = step["reason"] if isinstance(step["reason"], list) else [step["reason"]]
            assert len(seen) == 1 and seen[0] in reasons, f"expected {reasons}, got {seen}"
        elif op == "expect_recovered":
            recovered = self.client.get_recovered(nsp)
            assert recovered == step["recovered"], f"recovered: {recovered}"
        elif op == "expect_connected":
            assert (nsp in self.client.namespaces) == step["connected"]
        elif op == "expect_stats":
            # No event says the statistics changed: they are read every few milliseconds.
            deadline = asyncio.get_running_loop().time() + STEP_WAIT
            while not stats_match(step["stats"], observed := stats_observed(self.client.stats())):
                assert asyncio.get_running_loop().time() < deadline, f"stats: {observed}"
                await asyncio.sleep(0.005)
        elif op == "server":
            answer = await self.server.acontrol(step["action"], step.get("body", {}))
            expected = step.get("expect", {})
            assert matches(expected, answer), f"expected {expected}, answered {answer}"
        else:
            raise AssertionError(f"unknown op {op}")

    async def flood(self, step: dict[str, Any], nsp: str) -> None:
        """The ``flood`` step: ``count`` emits of ``(n, "k" * bytes)``, the first ``awaited``
        by the step, the rest in a task of their own; once all returned, the outcomes seen
        go to the record, sorted: ``sent``, or the typed error's name."""
        payload = "k" * step["bytes"]
        count = step["count"]
        awaited = min(step.get("awaited", 0), count)
        outcomes: set[str] = set()

        async def emit(n: int) -> None:
            try:
                await self.client.emit(step["event"], (n, payload), namespace=nsp)
                outcomes.add("sent")
            except ferrio.BufferFullError:
                outcomes.add("buffer_full")
            except ferrio.EmitError as error:
                outcomes.add(str(error))

        async def rest() -> None:
            for n in range(awaited, count):
                await emit(n)
            self.records.push(step["record"], sorted(outcomes))

        for n in range(awaited):
            await emit(n)
        self.readers.append(asyncio.ensure_future(rest()))

    async def emit_mixed(self, step: dict[str, Any], nsp: str) -> None:
        """The ``emit_mixed`` step: ``count`` calls of ``(n,)``, every ``ack_every``-th an
        emit with a callback whose reply is awaited (it must be ``[n]``), the others plain
        emits, one after another."""
        every = step["ack_every"]
        for n in range(step["count"]):
            if n % every != every - 1:
                await self.client.emit(step["event"], (n,), namespace=nsp)
                continue
            replied: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            await self.client.emit(
                step["event"],
                (n,),
                namespace=nsp,
                callback=lambda *values, f=replied: f.set_result(list(values)),
            )
            got = await asyncio.wait_for(replied, STEP_WAIT)
            assert got == [n], f"ack of {step['event']} {n}: got {got}"

    async def read(self, events: EventIterator, record: str) -> None:
        """A ``stream`` step's reader: ``async for`` over the namespace's events."""
        async for event in events:
            self.records.push(record, [event.name, *event.args])

    async def emit_ack(self, step: dict[str, Any], nsp: str) -> None:
        args = tuple(to_native(step["args"]))
        errors = {
            "timeout": ferrio.TimeoutError,
            "disconnected": ferrio.DisconnectedError,
            "buffer_full": ferrio.BufferFullError,
            "payload_too_large": ferrio.EmitError,
        }
        if "error" in step:
            # An emit larger than the server's maxPayload: an EmitError that names it.
            match = "maxPayload" if step["error"] == "payload_too_large" else None
            with pytest.raises(errors[step["error"]], match=match):
                await self.client.call(
                    step["event"],
                    args,
                    namespace=nsp,
                    timeout=step.get("timeout_ms", STEP_WAIT * 1000) / 1000,
                )
            return
        # A callback gets the reply's values as they are (call() returns one value bare).
        replied: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self.client.emit(
            step["event"],
            args,
            namespace=nsp,
            callback=lambda *values: replied.set_result(list(values)),
        )
        got = to_catalogue(await asyncio.wait_for(replied, STEP_WAIT))
        assert matches(step["reply"], got), f"expected {step['reply']}, got {got}"

    async def run(self, scenario: dict[str, Any]) -> None:
        for nsp in self.accepted:
            self.client.on(
                "disconnect",
                lambda *args, n=nsp: self.records.push(f"disconnect {n}", list(args)),
                namespace=nsp,
            )
        try:
            for n, step in enumerate(scenario["steps"], start=1):
                if self.transport not in step.get("transports", [self.transport]):
                    continue
                try:
                    await self.step(step)
                except AssertionError as error:
                    raise AssertionError(f"step {n} ({json.dumps(step)}): {error}") from None
        finally:
            if self.connecting is not None and not self.connecting.done():
                self.connecting.cancel()
            for client in [self.client, *self.others]:
                await client.disconnect()
            for reader in self.readers:
                reader.cancel()


@pytest.fixture(scope="module")
def behaviour_server() -> Iterator[TestServer]:
    """A server of the table's own (its records are cleared before every run); the results
    file is written once every run is done."""
    started = TestServer()
    yield started
    started.stop()
    directory = Path(os.environ.get("FERRIO_BEHAVIOUR_RESULTS", REPO / "target" / "behaviour"))
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"language": LANGUAGE, "results": RESULTS}, indent=2, ensure_ascii=False)
    (directory / f"{LANGUAGE}.json").write_text(text + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def recovering_server() -> Iterator[TestServer]:
    """The server of the scenarios that ask for connection state recovery (``"server":
    "recovering"``)."""
    started = TestServer({"connectionStateRecovery": True})
    yield started
    started.stop()


@pytest.mark.parametrize(("scenario", "transport"), RUNS, ids=[f"{s['id']}-{t}" for s, t in RUNS])
async def test_behaviour(
    behaviour_server: TestServer,
    recovering_server: TestServer,
    scenario: dict[str, Any],
    transport: str,
) -> None:
    result = {"scenario": scenario["id"], "transport": transport, "language": LANGUAGE}
    reason = scenario.get("not_applicable", {}).get(LANGUAGE)
    if reason is not None:
        RESULTS.append({**result, "outcome": "not-applicable", "detail": reason})
        return
    server = recovering_server if scenario.get("server") == "recovering" else behaviour_server
    await server.acontrol("clear")
    try:
        await asyncio.wait_for(Run(scenario, transport, server).run(scenario), SCENARIO_WAIT)
        used = dict.fromkeys(
            s["nsp"] for s in scenario["steps"] if s["op"] == "connect" and "error" not in s
        )
        for nsp in used:
            await server.acontrol("waitForSockets", {"nsp": nsp, "count": 0, "timeoutMs": 30000})
    except BaseException as error:
        RESULTS.append({**result, "outcome": "fail", "detail": f"{type(error).__name__}: {error}"})
        raise
    RESULTS.append({**result, "outcome": "pass", "detail": ""})
