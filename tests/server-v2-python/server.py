"""A python-socketio 4.x server (Engine.IO v3, Socket.IO protocol 4) for Ferrio's tests.

The second Socket.IO 2.x implementation the tests run against, beside the npm one
(tests/server-v2): python-socketio 4.6.1 on python-engineio 3.14.2 in aiohttp mode, which
serves both polling and WebSocket. Started like the other test servers:
`python server.py '{}'` (in the venv of `make deps-python-v2`) listens on an ephemeral
loopback port and prints `READY {"port":P,"control":C}`; the control port answers every
request with `{}` (the harness expects one). With FERRIO_EXIT_ON_STDIN_CLOSE=1 it exits
when its stdin closes.
"""

import asyncio
import json
import os
import socket
import sys

import socketio
from aiohttp import web

NAMESPACES = ("/", "/custom")


def socketio_app() -> web.Application:
    """The Socket.IO server: `echo` acknowledged with its arguments in each namespace."""
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        ping_interval=2,
        ping_timeout=5,
        cors_allowed_origins="*",
    )

    async def connect(sid: str, environ: dict[str, object]) -> bool:
        return True

    async def echo(sid: str, *args: object) -> tuple[object, ...]:
        return args

    for namespace in NAMESPACES:
        sio.on("connect", connect, namespace=namespace)
        sio.on("echo", echo, namespace=namespace)

    app = web.Application()
    sio.attach(app)
    return app


def control_app() -> web.Application:
    """The control channel: every request is answered with `{}`."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({})

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
    return listener.getsockname()[1]


async def stdin_closed() -> None:
    """Returns when this process's stdin reaches its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def main() -> None:
    port = await serve(socketio_app())
    control = await serve(control_app())
    ready = json.dumps({"port": port, "control": control}, separators=(",", ":"))
    print(f"READY {ready}", flush=True)
    if os.environ.get("FERRIO_EXIT_ON_STDIN_CLOSE") == "1":
        await stdin_closed()
    else:
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
