// A Socket.IO 2.x server (Engine.IO v3, Socket.IO protocol 4) for Ferrio's tests against
// servers that speak the older protocol. Started like the reference server (tests/server):
// `node tests/server-v2/server.js '{}'` listens on an ephemeral loopback port and prints
// `READY {"port":P,"control":C}`. The control port takes the reference server's actions
// that make sense here (POST /<action> with a JSON body, a JSON answer): emit, emitWithAck,
// received, clear, waitForEvent, waitForSockets, disconnect, disconnectAll, closeTransport,
// clients, and its own waitForPings (the heartbeat pings the clients sent). With FERRIO_EXIT_ON_STDIN_CLOSE=1 it exits when its stdin closes.
//
// Namespaces: `/` and `/custom` answer `echo` (acknowledged with its arguments), record
// every event, and take `disconnectMe` (socket.disconnect()) and `closeTransport`
// (socket.conn.close()); `/refused` refuses every socket with a middleware error (sent as
// its message, a string), `/refused-data` with one carrying `err.data` (sent as that object).
"use strict";

const http = require("http");
const path = require("path");

const io = require(path.join(__dirname, "node_modules", "socket.io"));

const server = http.createServer();
// The client pings every second (Engine.IO v3: the client sends the heartbeat).
const sockets = io(server, { pingInterval: 1000, pingTimeout: 5000 });

const state = { received: [], pings: 0 };
sockets.engine.on("connection", (conn) => {
  conn.on("packet", (packet) => {
    if (packet.type === "ping") state.pings += 1;
  });
});

// Buffers (anywhere nested) as `{"$binary": base64}`, so they survive JSON; and back.
function toJson(value) {
  if (Buffer.isBuffer(value)) return { $binary: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $binary: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = toJson(item);
    return out;
  }
  return value;
}

function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$binary" && typeof value.$binary === "string") {
      return Buffer.from(value.$binary, "base64");
    }
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = fromJson(item);
    return out;
  }
  return value;
}

function setUp(nsp) {
  nsp.on("connection", (socket) => {
    socket.use((packet, next) => {
      const [event, ...rest] = packet;
      const ack = typeof rest[rest.length - 1] === "function";
      const args = ack ? rest.slice(0, -1) : rest;
      state.received.push({ nsp: nsp.name, id: socket.id, event, args: toJson(args), ack });
      next();
    });
    socket.on("echo", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (ack) ack(...args);
    });
    socket.on("disconnectMe", () => socket.disconnect());
    socket.on("closeTransport", () => socket.conn.close());
  });
}

setUp(sockets.of("/"));
setUp(sockets.of("/custom"));
sockets.of("/refused").use((socket, next) => next(new Error("not authorized")));
sockets.of("/refused-data").use((socket, next) => {
  const error = new Error("not authorized");
  error.data = { message: "not authorized", code: 42 };
  next(error);
});

function namespaceSockets(name) {
  const nsp = sockets.nsps[name || "/"];
  return nsp ? Object.values(nsp.connected) : [];
}

function allSockets() {
  return Object.keys(sockets.nsps).flatMap((name) => namespaceSockets(name));
}

function clients() {
  const namespaces = {};
  for (const name of Object.keys(sockets.nsps)) {
    namespaces[name] = namespaceSockets(name).map((socket) => ({
      id: socket.id,
      engineId: socket.conn.id,
      transport: socket.conn.transport.name,
      query: socket.handshake.query,
    }));
  }
  return { engineClients: sockets.engine.clientsCount, namespaces };
}

// Answers once `ready()` gives a value, checking every 20 ms, or fails after 10 s.
function waitUntil(ready, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      const value = ready();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > 10000) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

function receivedIn(body) {
  return state.received.filter((entry) => body.nsp === undefined || entry.nsp === body.nsp);
}

const actions = {
  emit(body) {
    const targets = namespaceSockets(body.nsp);
    targets.forEach((socket) => socket.emit(body.event, ...fromJson(body.args || [])));
    return { sockets: targets.length };
  },
  // Every socket of `nsp` is asked for an ack; answers with each one's arguments.
  async emitWithAck(body) {
    const timeoutMs = body.timeoutMs || 10000;
    const asked = namespaceSockets(body.nsp).map(
      (socket) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(null), timeoutMs);
          socket.emit(body.event, ...fromJson(body.args || []), (...args) => {
            clearTimeout(timer);
            resolve(toJson(args));
          });
        }),
    );
    const answers = await Promise.all(asked);
    const responses = answers.filter((answer) => answer !== null);
    const answer = { responses };
    if (responses.length < answers.length) answer.error = "operation has timed out";
    return answer;
  },
  received(body) {
    return { events: receivedIn(body) };
  },
  clear() {
    state.received = [];
    return {};
  },
  async waitForEvent(body) {
    const count = body.count || 1;
    const events = await waitUntil(() => {
      const events = receivedIn(body).filter((entry) => entry.event === body.event);
      return events.length >= count ? events : undefined;
    }, `${count} ${body.event} in ${body.nsp}`);
    return { events };
  },
  // Answers once the clients sent `count` heartbeat pings since the server started.
  async waitForPings(body) {
    const pings = await waitUntil(
      () => (state.pings >= body.count ? state.pings : undefined),
      `${body.count} pings`,
    );
    return { pings };
  },
  async waitForSockets(body) {
    await waitUntil(
      () => (namespaceSockets(body.nsp).length === body.count ? true : undefined),
      `${body.count} sockets in ${body.nsp}`,
    );
    return clients();
  },
  disconnect(body) {
    const targets = namespaceSockets(body.nsp);
    targets.forEach((socket) => socket.disconnect());
    return { disconnected: targets.length };
  },
  disconnectAll() {
    const targets = allSockets();
    targets.forEach((socket) => socket.disconnect(true));
    return { disconnected: targets.length };
  },
  closeTransport() {
    const engines = Object.values(sockets.engine.clients);
    engines.forEach((conn) => conn.close());
    return { closed: engines.length };
  },
  clients,
};

const control = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", async () => {
    response.setHeader("content-type", "application/json");
    const action = actions[request.url.slice(1)];
    if (!action) {
      response.statusCode = 404;
      response.end(JSON.stringify({ error: `unknown action ${request.url}` }));
      return;
    }
    try {
      const text = Buffer.concat(chunks).toString();
      const answer = await action(text ? JSON.parse(text) : {});
      response.end(JSON.stringify(answer));
    } catch (error) {
      response.statusCode = 500;
      response.end(JSON.stringify({ error: String(error && error.message ? error.message : error) }));
    }
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
