// One node of the scaled-out deployment of the cluster tests: the reference server
// (tests/server: same configuration, namespaces and control channel) with the Redis adapter,
// so that broadcasts reach the sockets of every node.
//
//   node tests/cluster/node.js '<server config json>' '{"redis":"redis://127.0.0.1:P","name":"A"}'
//
// The first argument is the reference server's configuration (tests/server/README.md); the
// harness gives each node a `cookie` (`srv=A; Path=/`) that nginx routes on. Prints exactly
// one line, `READY {"port":P,"control":C}`, once listening and connected to Redis; logs go
// to stderr. With `FERRIO_EXIT_ON_STDIN_CLOSE=1` it exits when its stdin closes.

import { createRequire } from "node:module";
import { parseConfig } from "../server/config.js";
import { startControl } from "../server/control.js";
import { startIo, stopIo } from "../server/io.js";
import { createState, log } from "../server/state.js";

// The packages are the reference server's (tests/server/package-lock.json).
const require = createRequire(new URL("../server/package.json", import.meta.url));
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

function parseCluster(argument) {
  const cluster = JSON.parse(argument ?? "{}");
  if (typeof cluster.redis !== "string" || typeof cluster.name !== "string") {
    throw new Error('the second argument must be {"redis": "redis://host:port", "name": "A"}');
  }
  return cluster;
}

const config = parseConfig(process.argv[2]);
const cluster = parseCluster(process.argv[3]);
const state = createState();

if (process.env.FERRIO_EXIT_ON_STDIN_CLOSE === "1") {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
  process.stdin.resume();
}

const pub = createClient({ url: cluster.redis });
const sub = pub.duplicate();
for (const client of [pub, sub]) {
  client.on("error", (error) => log(`node ${cluster.name}: redis: ${error.message}`));
}
await Promise.all([pub.connect(), sub.connect()]);

// The reference server's Socket.IO server, its namespaces' in-memory adapters replaced by
// Redis adapters before any client can connect.
async function start(port) {
  const started = await startIo(config, state, port);
  started.io.adapter(createAdapter(pub, sub));
  log(`node ${cluster.name}: Redis adapter on ${cluster.redis}`);
  return started;
}

const ctx = {
  config,
  state,
  io: undefined,
  httpServer: undefined,
  port: undefined,
  async restart(delayMs) {
    log(`node ${cluster.name}: restart, listening again in ${delayMs} ms`);
    await stopIo(ctx);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    Object.assign(ctx, await start(ctx.port));
    state.stats.restarts += 1;
  },
};

Object.assign(ctx, await start(config.port));
const control = await startControl(ctx);
process.stdout.write(`READY ${JSON.stringify({ port: ctx.port, control })}\n`);
