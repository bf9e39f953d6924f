// A Socket.IO 2.x server (Engine.IO v3, Socket.IO protocol 4), for the tests of what the
// client does with a server that speaks the older protocol. Started like the reference
// server (tests/server): `node tests/server-v2/server.js '{}'` listens on an ephemeral
// loopback port and prints `READY {"port":P,"control":C}`; the control port answers every
// POST with `{}` (the harness expects one). With FERRIO_EXIT_ON_STDIN_CLOSE=1 it exits when
// its stdin closes.
"use strict";

const http = require("http");
const path = require("path");

const io = require(path.join(__dirname, "node_modules", "socket.io"));

const server = http.createServer();
const sockets = io(server, { pingInterval: 2000, pingTimeout: 5000 });

function echo(socket) {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
}
sockets.on("connection", echo);
sockets.of("/custom").on("connection", echo);

const control = http.createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.setHeader("content-type", "application/json");
    response.end("{}");
  });
});

server.listen(0, "127.0.0.1", () => {
  control.listen(0, "127.0.0.1", () => {
    const ready = { port: server.address().port, control: control.address().port };
    process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
  });
});

if (process.env.FERRIO_EXIT_ON_STDIN_CLOSE === "1") {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
