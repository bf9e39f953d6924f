// Creates the HTTP(S) server and the Socket.IO server on it, and stops them.

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { Server } from "socket.io";
import { serverOptions } from "./config.js";
import { registerNamespaces } from "./namespaces.js";
import { holdWhileStalled } from "./stall.js";
import { changed, log } from "./state.js";

// The `name=value` part of a Set-Cookie value.
function cookiePair(setCookie) {
  return setCookie.split(";")[0].trim();
}

function carriesCookie(req, pair) {
  const header = req.headers.cookie ?? "";
  return header.split(";").some((part) => part.trim() === pair);
}

function watchEngine(io, config, state) {
  const engine = io.engine;
  engine.on("connection", (conn) => {
    state.stats.engineConnections += 1;
    conn.on("upgrade", () => {
      state.stats.upgrades += 1;
      changed(state);
    });
    conn.on("close", (reason) => {
      state.stats.engineCloses.push({ sid: conn.id, reason });
      changed(state);
    });
    changed(state);
  });
  engine.on("connection_error", (error) => {
    state.stats.engineErrors.push({ code: error.code, message: error.message });
    changed(state);
  });
  if (config.cookie !== undefined) {
    const pair = cookiePair(config.cookie);
    engine.on("initial_headers", (headers) => {
      headers["Set-Cookie"] = config.cookie;
    });
    engine.on("headers", (_headers, req) => {
      state.cookies.push({
        method: req.method,
        transport: req._query?.transport ?? null,
        sid: req._query?.sid ?? null,
        initial: !req._query?.sid,
        carried: carriesCookie(req, pair),
      });
      changed(state);
    });
  }
}

// Options of `https.createServer` for the `tls` configuration: the server's certificate and
// key and, with `clientCa`, mutual TLS (a client certificate signed by that CA is required).
function tlsOptions(tls) {
  const options = { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
  if (tls.clientCa !== undefined) {
    options.ca = readFileSync(tls.clientCa);
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

// Starts a fresh HTTP(S) + Socket.IO server on `port` (0: ephemeral) and resolves once it
// listens. Returns `{ io, httpServer, port }`.
export function startIo(config, state, port) {
  const httpServer = config.tls ? https.createServer(tlsOptions(config.tls)) : http.createServer();
  const io = new Server(httpServer, serverOptions(config));
  watchEngine(io, config, state);
  registerNamespaces(io, state);
  // The address of every TCP connection accepted: the proxy tests' proof that the client
  // came through the proxy (each proxy connects out from 127.0.0.2).
  httpServer.on("connection", (socket) => state.peers.push(socket.remoteAddress));
  // A session cut by the control action `cut`: every later request or upgrade naming its sid
  // loses its TCP connection at once, as on a network that is down.
  const cutIfNamed = (req) => {
    const sid = new URL(req.url, "http://server").searchParams.get("sid");
    if (sid !== null && state.cutSids.has(sid)) {
      req.socket.destroy();
    }
  };
  httpServer.prependListener("request", cutIfNamed);
  // A server stalled by the control action `stall` reads nothing more (stall.js).
  holdWhileStalled(io.engine, state);
  // Only where engine.io takes upgrades: an "upgrade" listener stops Node from answering an
  // upgrade request as a plain request, which a polling-only server must do (its 400).
  if (config.transports.includes("websocket")) {
    httpServer.prependListener("upgrade", cutIfNamed);
  }
  return new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, "127.0.0.1", () => {
      httpServer.off("error", reject);
      const actual = httpServer.address().port;
      log(`socket.io listening on 127.0.0.1:${actual}${config.tls ? " (TLS)" : ""}`);
      resolve({ io, httpServer, port: actual });
    });
  });
}

// Closes every connection (without a DISCONNECT packet, as on a real shutdown) and the
// listening socket. Resolves once the port is free.
export function stopIo({ io, httpServer }) {
  return new Promise((resolve) => {
    const straggler = setTimeout(() => httpServer.closeAllConnections(), 500);
    io.close(() => {
      clearTimeout(straggler);
      resolve();
    });
  });
}
