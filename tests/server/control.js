// The control channel: a plain HTTP server on its own loopback port. Every action is
// `POST /<action>` with a JSON body (empty means `{}`) and answers JSON.

import http from "node:http";
import { stallConn, thaw } from "./stall.js";
import { fromJson, toJson } from "./state.js";

class BadRequest extends Error {}

function namespace(ctx, name = "/") {
  // `io.of()` would create a namespace that does not exist: look it up instead.
  const nsp = ctx.io._nsps.get(name);
  if (nsp === undefined) {
    throw new BadRequest(`unknown namespace ${JSON.stringify(name)}`);
  }
  return nsp;
}

function namespaces(ctx) {
  return [...ctx.io._nsps.values()];
}

function eventArgs(body) {
  const args = body.args ?? [];
  if (!Array.isArray(args)) {
    throw new BadRequest("`args` must be an array");
  }
  return fromJson(args);
}

function requireString(body, key) {
  if (typeof body[key] !== "string") {
    throw new BadRequest(`\`${key}\` must be a string`);
  }
  return body[key];
}

// The sockets of `body.nsp` (default `/`), or only the one whose id is `body.id`.
function targetSockets(ctx, body) {
  const sockets = [...namespace(ctx, body.nsp).sockets.values()];
  return body.id === undefined ? sockets : sockets.filter((socket) => socket.id === body.id);
}

function clients(ctx) {
  const result = { engineClients: ctx.io.engine.clientsCount, namespaces: {} };
  for (const nsp of namespaces(ctx)) {
    result.namespaces[nsp.name] = [...nsp.sockets.values()].map((socket) => ({
      id: socket.id,
      engineId: socket.conn.id,
      transport: socket.conn.transport.name,
      // The WebSocket extensions the server accepted ("permessage-deflate" or ""); "" on polling.
      extensions:
        socket.conn.transport.name === "websocket" ? socket.conn.transport.socket.extensions : "",
      recovered: socket.recovered,
      rooms: [...socket.rooms],
    }));
  }
  return result;
}

function receivedIn(ctx, body) {
  return ctx.state.received.filter((entry) => body.nsp === undefined || entry.nsp === body.nsp);
}

// Resolves with `check()`'s result once it is not `undefined`, re-checking on every
// recorded change; rejects after `timeoutMs`.
function waitUntil(ctx, timeoutMs, what, check) {
  return new Promise((resolve, reject) => {
    const { changes } = ctx.state;
    const onChange = () => {
      const result = check();
      if (result !== undefined) {
        clearTimeout(timer);
        changes.off("change", onChange);
        resolve(result);
      }
    };
    const timer = setTimeout(() => {
      changes.off("change", onChange);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    changes.on("change", onChange);
    onChange();
  });
}

// The engine's heartbeat and upgrades as configured: what `clear` restores after
// `setHeartbeat`, `setUpgrades` and `setMaxPayload`.
function resetHeartbeat(ctx) {
  ctx.io.engine.opts.pingInterval = ctx.config.pingInterval;
  ctx.io.engine.opts.pingTimeout = ctx.config.pingTimeout;
  ctx.io.engine.opts.allowUpgrades = ctx.config.allowUpgrades;
  ctx.io.engine.opts.maxHttpBufferSize = ctx.config.maxHttpBufferSize;
}

// Freezes one Engine.IO session: it writes nothing more (no ping, no event) and acts on
// nothing it reads, and its own heartbeat timers stop (so the client, not the server, times
// out first). The transport still notices when the client closes it, which ends the
// session; a frozen session still open when the next Engine.IO connection arrives (the
// client's reconnection) or at `clear` is closed then.
function freezeConn(ctx, conn) {
  clearTimeout(conn.pingIntervalTimer);
  clearTimeout(conn.pingTimeoutTimer);
  conn.pingIntervalTimer = null;
  conn.pingTimeoutTimer = null;
  conn.sendPacket = () => {};
  conn.flush = () => {};
  conn.transport.removeAllListeners("packet");
  ctx.state.frozen.add(conn);
  ctx.io.engine.once("connection", () => closeFrozen(ctx));
}

function closeFrozen(ctx) {
  for (const conn of ctx.state.frozen) {
    conn.onClose("forced close");
  }
  ctx.state.frozen.clear();
}

// Cuts one Engine.IO session as a lost network would: its TCP connections destroyed (no
// WebSocket close frame, no HTTP response), and every later request or upgrade naming its
// sid destroyed as it arrives (io.js).
function cutConn(ctx, conn) {
  ctx.state.cutSids.add(conn.id);
  const { transport } = conn;
  if (transport.name === "websocket") {
    transport.socket?._socket?.destroy();
  } else {
    transport.req?.socket?.destroy();
    transport.dataReq?.socket?.destroy();
  }
}

// Answers once every socket of namespace `name` (at least one) is on `transport`.
function onTransport(ctx, name, transport) {
  const nsp = ctx.io._nsps.get(name);
  if (nsp === undefined || nsp.sockets.size === 0) {
    return undefined;
  }
  const sockets = [...nsp.sockets.values()];
  return sockets.every((socket) => socket.conn.transport.name === transport) ? clients(ctx) : undefined;
}

const actions = {
  emit(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    nsp.emit(requireString(body, "event"), ...eventArgs(body));
    return { sockets: nsp.sockets.size };
  },
  emitVolatile(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    nsp.volatile.emit(requireString(body, "event"), ...eventArgs(body));
    return { sockets: nsp.sockets.size };
  },
  // Emits `event` with 0, 1, ..., count - 1 to the namespace, one every `intervalMs`, and
  // answers once all were emitted: a steady stream for fault tests.
  async tick(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    const event = requireString(body, "event");
    const count = body.count ?? 100;
    const intervalMs = body.intervalMs ?? 10;
    for (let n = 0; n < count; n += 1) {
      nsp.emit(event, n);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return { emitted: count };
  },
  // Emits `event` with n and `bytes` characters of padding, for n = 0, 1, ..., count - 1,
  // all in one go: over polling they wait for the next poll together (one payload of many
  // packets); one large padding makes a message over the client's size limit.
  emitMany(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    const event = requireString(body, "event");
    const count = body.count ?? 1;
    const padding = "x".repeat(body.bytes ?? 0);
    for (let n = 0; n < count; n += 1) {
      nsp.emit(event, n, padding);
    }
    return { sockets: nsp.sockets.size };
  },
  // Writes `data` as a raw Engine.IO message to every socket of the namespace: Socket.IO
  // text the client must decode (garbage included, to test parse errors).
  raw(ctx, body) {
    const sockets = targetSockets(ctx, body);
    sockets.forEach((socket) => socket.conn.write(requireString(body, "data")));
    return { sent: sockets.length };
  },
  // Writes `bytes` (base64) as they are onto the TCP connection of every WebSocket socket
  // of the namespace, past the WebSocket framing: bad frames and text that is not UTF-8,
  // to test how the client names them. Sockets on polling are left alone.
  rawFrame(ctx, body) {
    const bytes = Buffer.from(requireString(body, "bytes"), "base64");
    let sent = 0;
    for (const socket of targetSockets(ctx, body)) {
      const ws = socket.conn.transport.name === "websocket" ? socket.conn.transport.socket : null;
      if (ws && ws._socket) {
        ws._socket.write(bytes);
        sent += 1;
      }
    }
    return { sent };
  },
  emitToRoom(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    nsp.to(requireString(body, "room")).emit(requireString(body, "event"), ...eventArgs(body));
    return {};
  },
  // Asks every socket of the namespace and answers with their acknowledgements.
  async emitWithAck(ctx, body) {
    const nsp = namespace(ctx, body.nsp);
    const timeoutMs = body.timeoutMs ?? 5000;
    try {
      const responses = await nsp.timeout(timeoutMs).emitWithAck(requireString(body, "event"), ...eventArgs(body));
      return { responses: toJson(responses) };
    } catch (error) {
      return { error: error.message, responses: toJson(error.responses ?? []) };
    }
  },
  disconnect(ctx, body) {
    const sockets = targetSockets(ctx, body);
    sockets.forEach((socket) => socket.disconnect());
    return { disconnected: sockets.length };
  },
  disconnectAll(ctx) {
    let count = 0;
    for (const nsp of namespaces(ctx)) {
      for (const socket of [...nsp.sockets.values()]) {
        socket.disconnect(true);
        count += 1;
      }
    }
    return { disconnected: count };
  },
  closeTransport(ctx, body) {
    const conns = body.nsp === undefined && body.id === undefined
      ? Object.values(ctx.io.engine.clients)
      : targetSockets(ctx, body).map((socket) => socket.conn);
    conns.forEach((conn) => conn.close());
    return { closed: conns.length };
  },
  received(ctx, body) {
    const events = receivedIn(ctx, body);
    if (body.clear) {
      ctx.state.received = [];
    }
    return { events };
  },
  clear(ctx) {
    ctx.state.received = [];
    ctx.state.cutOnce.clear();
    ctx.state.cutSids.clear();
    thaw(ctx.state);
    closeFrozen(ctx);
    resetHeartbeat(ctx);
    delete ctx.io.engine.opts.allowRequest;
    return {};
  },
  // The ping interval and timeout (ms) of sessions opened from now on, until `clear`. A
  // session already open keeps its interval (engine.io re-arms its interval timer with the
  // duration it was created with) and takes the new timeout at its next ping.
  setHeartbeat(ctx, body) {
    const { opts } = ctx.io.engine;
    for (const key of ["pingInterval", "pingTimeout"]) {
      if (body[key] !== undefined) {
        if (!Number.isInteger(body[key]) || body[key] <= 0) {
          throw new BadRequest(`\`${key}\` must be a positive integer`);
        }
        opts[key] = body[key];
      }
    }
    return { pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout };
  },
  // Whether the Engine.IO sessions opened from now on offer the upgrade to WebSocket, until
  // `clear`.
  // The `maxPayload` (engine.io's `maxHttpBufferSize`) of the Engine.IO sessions opened from
  // now on: their handshake announces it and their polling requests are held to it.
  setMaxPayload(ctx, body) {
    if (!Number.isInteger(body.maxPayload) || body.maxPayload <= 0) {
      throw new BadRequest("`maxPayload` must be a positive integer");
    }
    ctx.io.engine.opts.maxHttpBufferSize = body.maxPayload;
    return { maxPayload: body.maxPayload };
  },
  setUpgrades(ctx, body) {
    if (typeof body.allowUpgrades !== "boolean") {
      throw new BadRequest("`allowUpgrades` must be a boolean");
    }
    ctx.io.engine.opts.allowUpgrades = body.allowUpgrades;
    return { allowUpgrades: body.allowUpgrades };
  },
  // Refuses (`refuse: true`) or accepts again every new Engine.IO connection: the
  // handshake answers 403, which the client's reconnection counts as a failed attempt.
  // `clear` accepts again.
  refuseConnections(ctx, body) {
    if (body.refuse) {
      ctx.io.engine.opts.allowRequest = (_req, callback) => callback("refused by the control channel", false);
    } else {
      delete ctx.io.engine.opts.allowRequest;
    }
    return { refusing: Boolean(body.refuse) };
  },
  freeze(ctx, body) {
    const sockets = targetSockets(ctx, body);
    const conns = new Set(sockets.map((socket) => socket.conn));
    conns.forEach((conn) => freezeConn(ctx, conn));
    return { frozen: conns.size };
  },
  // Stops reading the TCP connections of the session of each socket (its heartbeat
  // stopped), so the client's writes block once the sockets' buffers are full; new
  // connections wait unanswered until `thaw` (stall.js).
  stall(ctx, body) {
    const sockets = targetSockets(ctx, body);
    const conns = new Set(sockets.map((socket) => socket.conn));
    conns.forEach((conn) => stallConn(ctx.state, conn));
    return { stalled: conns.size };
  },
  thaw(ctx) {
    return { thawed: thaw(ctx.state) };
  },
  cut(ctx, body) {
    const sockets = targetSockets(ctx, body);
    const conns = new Set(sockets.map((socket) => socket.conn));
    conns.forEach((conn) => cutConn(ctx, conn));
    return { cut: conns.size };
  },
  // Answers once `count` (default 1) events named `event` (in `nsp` if given) were received.
  waitForEvent(ctx, body) {
    const event = requireString(body, "event");
    const count = body.count ?? 1;
    return waitUntil(ctx, body.timeoutMs ?? 10000, `${count} × ${event}`, () => {
      const events = receivedIn(ctx, body).filter((entry) => entry.event === event);
      return events.length >= count ? { events } : undefined;
    });
  },
  // Answers once namespace `nsp` (default `/`) has exactly `count` connected sockets.
  waitForSockets(ctx, body) {
    const count = body.count ?? 1;
    const name = body.nsp ?? "/";
    return waitUntil(ctx, body.timeoutMs ?? 10000, `${count} sockets in ${name}`, () => {
      const nsp = ctx.io._nsps.get(name);
      return nsp !== undefined && nsp.sockets.size === count ? clients(ctx) : undefined;
    });
  },
  // Answers once every socket of `nsp` (default `/`; at least one) is on `transport`
  // ("polling" or "websocket"): e.g. once an upgrade is done.
  waitForTransport(ctx, body) {
    const name = body.nsp ?? "/";
    const transport = requireString(body, "transport");
    return waitUntil(ctx, body.timeoutMs ?? 10000, `${name} on ${transport}`, () => onTransport(ctx, name, transport));
  },
  clients,
  handshakes(ctx) {
    return { handshakes: ctx.state.handshakes };
  },
  setToken(ctx, body) {
    ctx.state.validToken = requireString(body, "token");
    return {};
  },
  async restart(ctx, body) {
    await ctx.restart(body.delayMs ?? 0);
    return { port: ctx.port };
  },
  cookies(ctx) {
    return { requests: ctx.state.cookies };
  },
  peers(ctx) {
    return { peers: ctx.state.peers };
  },
  stats(ctx) {
    return { ...ctx.state.stats, engineClients: ctx.io.engine.clientsCount };
  },
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function reply(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function handle(ctx, req, res) {
  const name = new URL(req.url, "http://control").pathname.slice(1);
  const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
  if (req.method !== "POST" || action === undefined) {
    reply(res, 404, { error: `unknown action: ${req.method} /${name}` });
    return;
  }
  try {
    const text = await readBody(req);
    const body = text.trim() === "" ? {} : JSON.parse(text);
    reply(res, 200, (await action(ctx, body)) ?? {});
  } catch (error) {
    const status = error instanceof BadRequest || error instanceof SyntaxError ? 400 : 500;
    reply(res, status, { error: error.message });
  }
}

// Starts the control server on an ephemeral loopback port; resolves with the port.
export function startControl(ctx) {
  const server = http.createServer((req, res) => {
    handle(ctx, req, res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}
