// The benchmark server: socket.io (tests/server's locked copy) on loopback, with only the
// handlers the scenarios need. Prints `READY {"port":P}`; exits when stdin closes.
//
//   e(...)            counted per socket (emit throughput)
//   count(ack)        ack(count of `e` so far); resets it
//   send(n)           emits n `r` events ({n:i,s:"..."}), then `done`(n) (receive throughput)
//   echo(...a, ack)   ack(...a)              (ack round trip)
//   bin(buf, ack)     ack(buf)               (binary echo)
//   chat(n)           emits n `m` chat messages ({id, room, user, text, sentAt}), then
//                     `done`(n) (compression; `node server.mjs --compress` turns on the
//                     server's httpCompression and perMessageDeflate, off otherwise for
//                     every scenario)
import http from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "tests", "server", "package.json"));
const { Server } = require("socket.io");

const PAYLOAD = "0123456789abcdef";
const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e7,
  // --compress: httpCompression for polling and permessage-deflate for the WebSocket, its
  // threshold lowered from ws's 1 KiB to 0 so that chat messages (about 150 bytes each)
  // are compressed at all, each one taking the previous ones as context.
  perMessageDeflate: process.argv.includes("--compress") ? { threshold: 0 } : false,
  httpCompression: process.argv.includes("--compress"),
});

const USERS = ["alice", "bob", "carol", "dave"];
const TEXTS = [
  "hello everyone, is the build green again?",
  "yes, the last run passed on every platform",
  "great, shipping the release this afternoon",
  "can someone review the proxy change first?",
];

io.on("connection", (socket) => {
  let count = 0;
  socket.on("e", () => {
    count += 1;
  });
  socket.on("count", (ack) => {
    const n = count;
    count = 0;
    ack(n);
  });
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("bin", (buf, ack) => ack(buf));
  socket.on("chat", (n) => {
    let i = 0;
    const step = () => {
      const end = Math.min(n, i + 256);
      for (; i < end; i++) {
        socket.emit("m", {
          id: i,
          room: "general",
          user: USERS[i % USERS.length],
          text: TEXTS[(i * 7) % TEXTS.length],
          sentAt: 1765000000000 + i * 1375,
        });
      }
      if (i < n) setImmediate(step);
      else socket.emit("done", n);
    };
    step();
  });
  socket.on("send", (n) => {
    let i = 0;
    // Chunks of 256 per macrotask so the server's own I/O keeps flowing.
    const step = () => {
      const end = Math.min(n, i + 256);
      for (; i < end; i++) socket.emit("r", { n: i, s: PAYLOAD });
      if (i < n) setImmediate(step);
      else socket.emit("done", n);
    };
    step();
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${JSON.stringify({ port: httpServer.address().port })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
