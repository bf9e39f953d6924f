// The namespaces of the reference server and what they do, modelled on the official
// socket.io-client test fixture (see shared/reference/protocol.md 3.3).

import { changed, log, toJson } from "./state.js";

const UTF8_STRINGS = ["てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string"];

// Splits a trailing acknowledgement callback off an event's arguments.
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

function rejection(message, data) {
  const error = new Error(message);
  if (data !== undefined) {
    error.data = data;
  }
  return error;
}

// Records every connection, event and disconnection of a namespace.
function track(nsp, state) {
  nsp.on("connection", (socket) => {
    const { auth, query, headers } = socket.handshake;
    state.stats.connections[nsp.name] = (state.stats.connections[nsp.name] ?? 0) + 1;
    state.handshakes.push({
      nsp: nsp.name,
      id: socket.id,
      transport: socket.conn.transport.name,
      recovered: socket.recovered,
      auth: toJson(auth),
      query: toJson(query),
      headers: toJson(headers),
    });
    log(`connect ${nsp.name} ${socket.id} (${socket.conn.transport.name}, recovered: ${socket.recovered})`);
    socket.onAny((event, ...rawArgs) => {
      const [args, ack] = splitAck(rawArgs);
      state.stats.eventsReceived += 1;
      state.received.push({ nsp: nsp.name, id: socket.id, event, args: toJson(args), ack: ack !== undefined });
      changed(state);
    });
    socket.on("disconnect", (reason, description) => {
      state.stats.disconnects.push({ nsp: nsp.name, id: socket.id, reason });
      log(`disconnect ${nsp.name} ${socket.id}: ${reason}${description ? ` (${description.message ?? description})` : ""}`);
      changed(state);
    });
    changed(state);
  });
}

// Records a middleware rejection, then passes it on.
function reject(state, socket, next, error) {
  state.stats.connectErrors.push({ nsp: socket.nsp.name, message: error.message, auth: toJson(socket.handshake.auth) });
  changed(state);
  next(error);
}

// Handlers every namespace has.
function common(socket) {
  socket.on("echo", (...rawArgs) => {
    const [args, ack] = splitAck(rawArgs);
    ack?.(...args);
  });
  socket.on("getId", (ack) => ack?.(socket.id));
  socket.on("getHandshake", (ack) => {
    const { auth, query, headers } = socket.handshake;
    ack?.({ auth, query, headers });
  });
}

function mainHandlers(socket, nsp, state) {
  let count = 0;
  socket.on("hi", () => socket.emit("hi"));
  socket.on("message", (...args) => socket.emit("message-back", ...splitAck(args)[0]));
  socket.on("getUtf8", () => {
    for (const text of UTF8_STRINGS) {
      socket.emit("takeUtf8", text);
    }
  });
  // Without an argument the time now; with one (an ISO string or epoch ms), that Date, also
  // nested: socket.io sends Dates as their ISO strings.
  socket.on("getDate", (when) => {
    if (when === undefined || typeof when === "function") {
      socket.emit("takeDate", new Date());
    } else {
      socket.emit("takeDate", new Date(when), { at: [new Date(when)] });
    }
  });
  socket.on("false", () => socket.emit("false", false));
  socket.on("getbin", () => socket.emit("takebin", Buffer.from([1, 2, 3])));
  socket.on("getNestedBin", () => {
    socket.emit("nestedbin", Buffer.from([1, 2, 3]), { nested: { deep: [Buffer.from([4, 5])] }, text: "x" });
  });
  // Server-initiated acknowledgement: the client's answer comes back as `answer`, or
  // `answer-error` when the client does not acknowledge within `timeoutMs` (default 5 s).
  socket.on("askMe", (n, timeoutMs) => {
    const timeout = typeof timeoutMs === "number" ? timeoutMs : 5000;
    socket.timeout(timeout).emit("question", n, (error, ...answer) => {
      if (error) {
        socket.emit("answer-error", error.message);
      } else {
        socket.emit("answer", ...answer);
      }
    });
  });
  socket.on("countMe", () => {
    count += 1;
  });
  socket.on("count", (ack) => ack?.(count));
  socket.on("disconnectMe", () => socket.disconnect());
  socket.on("closeTransport", () => socket.conn.close());
  // The first time a key is seen: closes the connection instead of acknowledging (the
  // client's ack is lost in the cut); afterwards acknowledges with the arguments.
  socket.on("cutOnce", (...rawArgs) => {
    const [args, ack] = splitAck(rawArgs);
    const key = JSON.stringify(args[0] ?? null);
    if (state.cutOnce.has(key)) {
      ack?.(...args);
    } else {
      state.cutOnce.add(key);
      socket.conn.close();
    }
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack?.(true);
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    ack?.(true);
  });
  socket.on("toRoom", (room, ...rawArgs) => {
    nsp.to(room).emit("room-message", ...splitAck(rawArgs)[0]);
  });
}

export function registerNamespaces(io, state) {
  const main = io.of("/");
  main.use((socket, next) => {
    if (socket.handshake.query.fail) {
      reject(state, socket, next, rejection("Auth failed (main namespace)"));
    } else {
      next();
    }
  });
  track(main, state);
  main.on("connection", (socket) => {
    common(socket);
    mainHandlers(socket, main, state);
  });

  const custom = io.of("/custom");
  track(custom, state);
  custom.on("connection", (socket) => {
    common(socket);
    socket.emit("auth", socket.handshake.auth);
  });

  const abc = io.of("/abc");
  track(abc, state);
  abc.on("connection", (socket) => {
    common(socket);
    socket.emit("handshake", { auth: socket.handshake.auth, query: socket.handshake.query });
  });

  const no = io.of("/no");
  no.use((socket, next) => {
    reject(state, socket, next, rejection("Auth failed (custom namespace)", { reason: "denied", code: 42 }));
  });
  track(no, state);

  const auth = io.of("/auth");
  auth.use((socket, next) => {
    const token = socket.handshake.auth?.token;
    if (token === "secret" || token === state.validToken) {
      next();
    } else {
      reject(state, socket, next, rejection("invalid token", { token: token ?? null }));
    }
  });
  track(auth, state);
  auth.on("connection", (socket) => {
    common(socket);
    socket.emit("welcome", socket.handshake.auth.token);
  });

  const slow = io.of("/slow");
  slow.use((_socket, next) => {
    setTimeout(next, 200);
  });
  track(slow, state);
  slow.on("connection", (socket) => common(socket));

  // Closes the Engine.IO connection instead of answering the CONNECT: the client loses
  // its connection while the namespace waits for the reply.
  const dropping = io.of("/drop-before-reply");
  dropping.use((socket) => {
    socket.conn.close();
  });
  track(dropping, state);

  // A misbehaving server: sends `auth.events` events `early(n, padding)` (`auth.bytes`
  // characters of padding) before its CONNECT reply, all in one go (so over polling most
  // come in one payload). The client keeps a bounded number for after the reply.
  const early = io.of("/early");
  early.use((socket, next) => {
    const { events = 0, bytes = 0 } = socket.handshake.auth ?? {};
    const padding = "x".repeat(bytes);
    for (let n = 0; n < events; n += 1) {
      socket.conn.write(`2/early,${JSON.stringify(["early", n, padding])}`);
    }
    next();
  });
  track(early, state);
  early.on("connection", (socket) => common(socket));
}
