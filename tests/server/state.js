// Everything the server remembers for the control channel. It outlives restarts of the
// Socket.IO server, so a test can inspect what happened before and after one.

import { EventEmitter } from "node:events";

// Turns Buffers (anywhere nested) into `{"$binary": base64}` so they survive JSON.
export function toJson(value) {
  if (Buffer.isBuffer(value)) {
    return { $binary: value.toString("base64") };
  }
  if (value instanceof ArrayBuffer) {
    return { $binary: Buffer.from(value).toString("base64") };
  }
  if (ArrayBuffer.isView(value)) {
    return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (Array.isArray(value)) {
    return value.map(toJson);
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toJson(inner)]));
  }
  return value;
}

// The inverse of `toJson`: `{"$binary": base64}` objects become Buffers.
export function fromJson(value) {
  if (Array.isArray(value)) {
    return value.map(fromJson);
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$binary" && typeof value.$binary === "string") {
      return Buffer.from(value.$binary, "base64");
    }
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fromJson(inner)]));
  }
  return value;
}

export function createState() {
  return {
    // Emits "change" whenever something a test may wait for was recorded.
    changes: new EventEmitter().setMaxListeners(0),
    validToken: "secret",
    received: [],
    // The keys `cutOnce` has seen (it cuts the connection the first time only).
    cutOnce: new Set(),
    // The sids the control action `cut` cut: their later requests are destroyed (io.js).
    cutSids: new Set(),
    // The Engine.IO sessions the control action `freeze` froze, closed at the next
    // Engine.IO connection or `clear`.
    frozen: new Set(),
    // The control action `stall` (stall.js): the stalled sids and sessions, the sockets no
    // longer read, whether new connections are held, and the held handshakes.
    stall: { sids: new Set(), conns: new Set(), sockets: new Set(), holding: false, held: [] },
    handshakes: [],
    cookies: [],
    peers: [],
    stats: {
      engineConnections: 0,
      engineCloses: [],
      engineErrors: [],
      upgrades: 0,
      connections: {},
      connectErrors: [],
      disconnects: [],
      eventsReceived: 0,
      restarts: 0,
    },
  };
}

export function changed(state) {
  state.changes.emit("change");
}

export function log(message) {
  process.stderr.write(`${message}\n`);
}
