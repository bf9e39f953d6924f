// Reference Socket.IO server for Ferrio's integration tests.
//
//   node tests/server/server.js '<json config>'
//
// Prints exactly one line, `READY {"port":P,"control":C}`, on stdout once listening; logs
// go to stderr. See README.md for the configuration, namespaces and control actions.

import { parseConfig } from "./config.js";
import { startControl } from "./control.js";
import { startIo, stopIo } from "./io.js";
import { createState, log } from "./state.js";

const config = parseConfig(process.argv[2]);
const state = createState();

// What the control actions work on; `io` and `httpServer` change on every restart.
const ctx = {
  config,
  state,
  io: undefined,
  httpServer: undefined,
  port: undefined,
  async restart(delayMs) {
    log(`restart: stopping, listening again in ${delayMs} ms`);
    await stopIo(ctx);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    Object.assign(ctx, await startIo(config, state, ctx.port));
    state.stats.restarts += 1;
  },
};

// The harness sets this so that the server never outlives a test process that died.
if (process.env.FERRIO_EXIT_ON_STDIN_CLOSE === "1") {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
  process.stdin.resume();
}

Object.assign(ctx, await startIo(config, state, config.port));
const control = await startControl(ctx);
process.stdout.write(`READY ${JSON.stringify({ port: ctx.port, control })}\n`);
