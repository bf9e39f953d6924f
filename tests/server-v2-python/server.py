"""A python-socketio 4.x server (Engine.IO v3, Socket.IO protocol 4) for Ferrio's tests.

The second Socket.IO 2.x implementation the tests run against, beside the npm one
(tests/server-v2/server.js, which this one mirrors): python-socketio 4.6.1 on
python-engineio 3.14.2 in aiohttp mode, which serves polling, WebSocket and the upgrade.
Started like the other test servers: `python server.py '{}'` (in the venv of
`make deps-python-v2`) listens on an ephemeral loopback port and prints
`READY {"port":P,"control":C}`. The control port takes the same actions as the npm
server's (POST /<action> with a JSON body, a JSON answer): emit, emitWithAck, received,
clear, waitForEvent, waitForPings, waitForSockets, disconnect, disconnectAll,
closeTransport, clients. With FERRIO_EXIT_ON_STDIN_CLOSE=1 it exits when its stdin closes.

Namespaces: `/` and `/custom` answer `echo` (acknowledged with its arguments), record every
event, and take `disconnectMe` and `closeTransport`; `/refused` refuses every socket with
the message "not authorized" (a string), `/refused-data` with an object carrying it and a
code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import engineio.asyncio_socket
import engineio.packet
import socketio
import socketio.exceptions
from aiohttp import web

#: The namespaces that answer and record events, as in server.js.
NAMESPACES = ("/", "/custom")
#: How long a `waitFor*` action waits before it fails, and how often it looks.
WAIT_TIMEOUT = 10.0
WAIT_STEP = 0.02


class State:
    """What the control channel reports: the events received and the clients' pings."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.pings = 0


STATE = State()
#: The closes of `closeTransport` under way (kept so that they are not collected).
CLOSING: set[asyncio.Future[Any]] = set()


def count_pings() -> None:
    """Counts the heartbeat pings the clients send (Engine.IO v3: the client pings).

    python-engineio 3.x tells nothing of them, so its socket's `receive` is wrapped; the
    version is pinned exactly, so this private method does not move."""
    receive = engineio.asyncio_socket.AsyncSocket.receive

    async def counting(self: Any, pkt: Any) -> Any:
        if pkt.packet_type == engineio.packet.PING:
            STATE.pings += 1
        return await receive(self, pkt)

    engineio.asyncio_socket.AsyncSocket.receive = counting


def to_json(value: Any) -> Any:
    """Bytes (anywhere nested) as `{"$binary": base64}`, so they survive JSON."""
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def from_json(value: Any) -> Any:
    """`{"$binary": base64}` (anywhere nested) as bytes."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, dict):
        if list(value) == ["$binary"] and isinstance(value["$binary"], str):
            return base64.b64decode(value["$binary"])
        return {key: from_json(item) for key, item in value.items()}
    return value


def socket_id(namespace: str, sid: str) -> str:
    """The id socket.io 2 gives a socket: the engine session's in `/`, `nsp#sid` elsewhere
    (python-socketio 4 names every namespace's socket after the engine session)."""
    return sid if namespace == "/" else f"{namespace}#{sid}"


class Manager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio 4.6.1's AsyncManager, its `emit` fixed for Python 3.11: it hands
    `asyncio.wait` bare coroutines, which Python 3.11 refuses ("Passing coroutines is
    forbidden"), so every server-side emit fails. Here each send is awaited in turn."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if namespace not in self.rooms or room not in self.rooms[namespace]:
            return
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        for sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            id = None if callback is None else self._generate_ack_id(sid, namespace, callback)
            await self.server._emit_internal(sid, event, data, namespace, id)


class RecordingServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that records every event of the answering namespaces, as server.js's
    middleware does (python-socketio 4.x has no catch-all handler: its pinned event
    dispatch is wrapped)."""

    async def _handle_event(self, sid: str, namespace: str | None, id: Any, data: Any) -> Any:
        namespace = namespace or "/"
        if namespace in NAMESPACES and self.manager.is_connected(sid, namespace):
            STATE.received.append(
                {
                    "nsp": namespace,
                    "id": socket_id(namespace, sid),
                    "event": data[0],
                    "args": to_json(data[1:]),
                    "ack": id is not None,
                }
            )
        return await super()._handle_event(sid, namespace, id, data)


def socketio_server() -> RecordingServer:
    """The Socket.IO server, its namespaces set up as server.js's."""
    # The client pings every second (Engine.IO v3: the client sends the heartbeat).
    sio = RecordingServer(
        client_manager=Manager(),
        async_mode="aiohttp",
        ping_interval=1,
        ping_timeout=5,
        cors_allowed_origins="*",
    )

    for namespace in NAMESPACES:

        async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
            return args

        async def disconnect_me(sid: str, *args: Any, namespace: str = namespace) -> None:
            await sio.disconnect(sid, namespace=namespace)

        async def close_transport(sid: str, *args: Any) -> None:
            await sio.eio.disconnect(sid)

        sio.on("echo", echo, namespace=namespace)
        sio.on("disconnectMe", disconnect_me, namespace=namespace)
        sio.on("closeTransport", close_transport, namespace=namespace)

    async def refuse(sid: str, environ: dict[str, Any]) -> None:
        raise socketio.exceptions.ConnectionRefusedError("not authorized")

    async def refuse_with_data(sid: str, environ: dict[str, Any]) -> None:
        data = {"message": "not authorized", "code": 42}
        raise socketio.exceptions.ConnectionRefusedError(data)

    sio.on("connect", refuse, namespace="/refused")
    sio.on("connect", refuse_with_data, namespace="/refused-data")
    return sio


def namespace_sids(sio: RecordingServer, namespace: str | None) -> list[str]:
    """The engine sessions connected to `namespace` (`/` when not given)."""
    namespace = namespace or "/"
    if namespace not in sio.manager.rooms:
        return []
    return [sid for sid in sio.manager.get_participants(namespace, None)]


def clients(sio: RecordingServer) -> dict[str, Any]:
    """The clients, as server.js's `clients` action reports them."""
    namespaces: dict[str, list[dict[str, Any]]] = {}
    for namespace in sorted(set(NAMESPACES) | set(sio.manager.get_namespaces())):
        entries = []
        for sid in namespace_sids(sio, namespace):
            engine = sio.eio.sockets.get(sid)
            query = urllib.parse.parse_qs(sio.environ.get(sid, {}).get("QUERY_STRING", ""))
            entries.append(
                {
                    "id": socket_id(namespace, sid),
                    "engineId": sid,
                    "transport": "websocket" if engine and engine.upgraded else "polling",
                    "query": {key: values[-1] for key, values in query.items()},
                }
            )
        namespaces[namespace] = entries
    return {"engineClients": len(sio.eio.sockets), "namespaces": namespaces}


async def wait_until(ready: Callable[[], Any], what: str) -> Any:
    """The first value other than None that `ready()` gives, looking every 20 ms; fails
    after 10 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_TIMEOUT
    while (value := ready()) is None:
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(WAIT_STEP)
    return value


def received_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    nsp = body.get("nsp")
    return [entry for entry in STATE.received if nsp is None or entry["nsp"] == nsp]


def actions(sio: RecordingServer) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    """The control channel's actions, each taking the request's JSON body."""

    async def emit(body: dict[str, Any]) -> Any:
        targets = namespace_sids(sio, body.get("nsp"))
        args = tuple(from_json(body.get("args") or []))
        for sid in targets:
            await sio.emit(body["event"], args, room=sid, namespace=body.get("nsp") or "/")
        return {"sockets": len(targets)}

    async def emit_with_ack(body: dict[str, Any]) -> Any:
        timeout = (body.get("timeoutMs") or 10000) / 1000
        args = tuple(from_json(body.get("args") or []))
        namespace = body.get("nsp") or "/"

        async def ask(sid: str) -> Any:
            answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

            def callback(*reply: Any) -> None:
                if not answer.done():
                    answer.set_result(to_json(list(reply)))

            await sio.emit(body["event"], args, room=sid, namespace=namespace, callback=callback)
            try:
                return await asyncio.wait_for(answer, timeout)
            except asyncio.TimeoutError:
                return None

        answers = await asyncio.gather(*(ask(sid) for sid in namespace_sids(sio, namespace)))
        responses = [answer for answer in answers if answer is not None]
        result: dict[str, Any] = {"responses": responses}
        if len(responses) < len(answers):
            result["error"] = "operation has timed out"
        return result

    async def received(body: dict[str, Any]) -> Any:
        return {"events": received_in(body)}

    async def clear(body: dict[str, Any]) -> Any:
        STATE.received = []
        return {}

    async def wait_for_event(body: dict[str, Any]) -> Any:
        count = body.get("count") or 1

        def ready() -> list[dict[str, Any]] | None:
            events = [entry for entry in received_in(body) if entry["event"] == body["event"]]
            return events if len(events) >= count else None

        events = await wait_until(ready, f"{count} {body['event']} in {body.get('nsp')}")
        return {"events": events}

    async def wait_for_pings(body: dict[str, Any]) -> Any:
        pings = await wait_until(
            lambda: STATE.pings if STATE.pings >= body["count"] else None,
            f"{body['count']} pings",
        )
        return {"pings": pings}

    async def wait_for_sockets(body: dict[str, Any]) -> Any:
        await wait_until(
            lambda: True if len(namespace_sids(sio, body.get("nsp"))) == body["count"] else None,
            f"{body['count']} sockets in {body.get('nsp')}",
        )
        return clients(sio)

    async def disconnect(body: dict[str, Any]) -> Any:
        namespace = body.get("nsp") or "/"
        targets = namespace_sids(sio, namespace)
        for sid in targets:
            await sio.disconnect(sid, namespace=namespace)
        return {"disconnected": len(targets)}

    async def disconnect_all(body: dict[str, Any]) -> Any:
        # Every namespace's socket, `/` last: python-socketio closes the engine session with it.
        targets = [
            (namespace, sid)
            for namespace in sorted(sio.manager.get_namespaces(), key=lambda name: name == "/")
            for sid in namespace_sids(sio, namespace)
        ]
        for namespace, sid in targets:
            await sio.disconnect(sid, namespace=namespace)
        return {"disconnected": len(targets)}

    async def close_transport(body: dict[str, Any]) -> Any:
        engines = list(sio.eio.sockets)
        for sid in engines:
            # Not awaited: python-engineio 3.x waits until a GET took the close packet, but
            # refuses the GETs of a session it closed, so a polling client between two GETs
            # would hold this answer forever (that client sees its next GET refused).
            task = asyncio.ensure_future(sio.eio.disconnect(sid))
            CLOSING.add(task)
            task.add_done_callback(CLOSING.discard)
        return {"closed": len(engines)}

    async def report_clients(body: dict[str, Any]) -> Any:
        return clients(sio)

    return {
        "emit": emit,
        "emitWithAck": emit_with_ack,
        "received": received,
        "clear": clear,
        "waitForEvent": wait_for_event,
        "waitForPings": wait_for_pings,
        "waitForSockets": wait_for_sockets,
        "disconnect": disconnect,
        "disconnectAll": disconnect_all,
        "closeTransport": close_transport,
        "clients": report_clients,
    }


def control_app(sio: RecordingServer) -> web.Application:
    """The control channel: POST /<action> with a JSON body; a JSON answer (404 for an
    unknown action, 500 with the error when one fails)."""
    known = actions(sio)

    async def answer(request: web.Request) -> web.Response:
        text = await request.text()
        action = known.get(request.match_info["action"])
        if action is None:
            return web.json_response({"error": f"unknown action {request.path}"}, status=404)
        try:
            return web.json_response(await action(json.loads(text) if text else {}))
        except Exception as error:  # reported to the test, as server.js does
            return web.json_response({"error": str(error)}, status=500)

    app = web.Application()
    app.router.add_route("*", "/{action:.*}", answer)
    return app


async def serve(app: web.Application) -> int:
    """Serves `app` on an ephemeral loopback port; returns the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    port: int = listener.getsockname()[1]
    return port


async def stdin_closed() -> None:
    """Returns when this process's stdin reaches its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def main() -> None:
    count_pings()
    sio = socketio_server()
    app = web.Application()
    sio.attach(app)
    port = await serve(app)
    control = await serve(control_app(sio))
    ready = json.dumps({"port": port, "control": control}, separators=(",", ":"))
    print(f"READY {ready}", flush=True)
    if os.environ.get("FERRIO_EXIT_ON_STDIN_CLOSE") == "1":
        await stdin_closed()
    else:
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
