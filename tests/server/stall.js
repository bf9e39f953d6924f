// A server that stops taking anything (the control actions `stall` and `thaw`), as a
// stopped or overloaded process: the TCP connections of a stalled session are no longer
// read, so what the client writes piles up in the sockets' buffers until its writes block;
// its later requests and upgrades are left unread too, and every new connection's
// handshake waits unanswered until `thaw`.

// Stops reading `socket` until `thaw`. ws and the HTTP parser resume a socket they paused
// themselves; a stalled one stays paused.
export function pauseSocket(socket) {
  socket.pause();
  socket.resume = () => socket;
}

// Reads `socket` again.
function resumeSocket(socket) {
  delete socket.resume;
  socket.resume();
}

// The sid a request names, or null for a new connection's handshake.
function sidOf(req) {
  return new URL(req.url, "http://server").searchParams.get("sid");
}

// Leaves unread the requests and upgrades of stalled sessions and, while the server is
// stalled, the handshakes of new connections: each is handled once thawed.
export function holdWhileStalled(engine, state) {
  const { stall } = state;
  const handleRequest = engine.handleRequest.bind(engine);
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  const holds = (req, socket, resume) => {
    const sid = sidOf(req);
    if (sid !== null) {
      if (!stall.sids.has(sid)) {
        return false;
      }
    } else if (!stall.holding) {
      return false;
    }
    pauseSocket(socket);
    stall.held.push(() => {
      resumeSocket(socket);
      resume();
    });
    return true;
  };
  engine.handleRequest = (req, res) => {
    if (!holds(req, req.socket, () => handleRequest(req, res))) {
      handleRequest(req, res);
    }
  };
  engine.handleUpgrade = (req, socket, head) => {
    if (!holds(req, socket, () => handleUpgrade(req, socket, head))) {
      handleUpgrade(req, socket, head);
    }
  };
}

// Stalls the Engine.IO session `conn`: its heartbeat stops (no ping, and no timeout of the
// client's pongs, which it does not read), its TCP connections are no longer read, nor are
// its later requests, and the server holds new connections until `thaw`.
export function stallConn(state, conn) {
  const { stall } = state;
  stall.holding = true;
  stall.sids.add(conn.id);
  stall.conns.add(conn);
  clearTimeout(conn.pingIntervalTimer);
  clearTimeout(conn.pingTimeoutTimer);
  conn.pingIntervalTimer = null;
  conn.pingTimeoutTimer = null;
  const { transport } = conn;
  const sockets =
    transport.name === "websocket"
      ? [transport.socket?._socket]
      : [transport.req?.socket, transport.dataReq?.socket];
  for (const socket of sockets) {
    if (socket) {
      pauseSocket(socket);
      stall.sockets.add(socket);
    }
  }
}

// Undoes `stall`, as a stopped process that runs again: the stalled connections are read
// again (what piled up in them is taken), the requests left unread and the held handshakes
// are handled, and the stalled sessions still open ping again. Returns how many sessions
// were stalled.
export function thaw(state) {
  const { stall } = state;
  const count = stall.conns.size;
  stall.holding = false;
  stall.sids.clear();
  for (const socket of stall.sockets) {
    resumeSocket(socket);
  }
  stall.sockets.clear();
  for (const conn of stall.conns) {
    if (conn.readyState === "open") {
      conn.schedulePing();
    }
  }
  stall.conns.clear();
  for (const resume of stall.held.splice(0)) {
    resume();
  }
  return count;
}
