// Captures real Engine.IO / Socket.IO traffic from the reference server (tests/server) and
// writes it as seed inputs of the fuzz targets into fuzz/seeds/<target>/ (see ../README.md).
//
// Run from the repository root, after `make deps-node`:
//   node fuzz/seeds/capture.mjs
// It starts the server on an ephemeral loopback port, drives one long-polling session (with
// an upgrade probe) and one WebSocket session through the server's namespaces and events
// (text, UTF-8, binary, nested binary, acks, refused namespaces, pings), records every
// body and frame the server sent and the client sent, and stops the server. Seeds are
// written only from what was captured, plus the examples of the protocol reference.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const require = createRequire(path.join(root, "tests/server/package.json"));
const WebSocket = require("ws");

const SEP = "\x1e";

// ---- the reference server -------------------------------------------------------------

function startServer() {
  const config = JSON.stringify({ pingInterval: 300, pingTimeout: 2000 });
  const child = spawn(process.execPath, [path.join(root, "tests/server/server.js"), config], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, FERRIO_EXIT_ON_STDIN_CLOSE: "1" },
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("READY ")) {
        resolve({ child, ...JSON.parse(line.slice("READY ".length)) });
      }
    });
  });
}

async function control(server, action, body) {
  const response = await fetch(`http://127.0.0.1:${server.control}/${action}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return response.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- what the client sends ------------------------------------------------------------

// Socket.IO packets (without the Engine.IO `4`), each with its attachments.
const CLIENT_PACKETS = [
  ["0", []],
  ['0/custom,{"token":"abc"}', []],
  ['0/abc,{"k":[1,2]}', []],
  ["0/no,", []],
  ['0/auth,{"token":"secret"}', []],
  ["0/nope,", []],
  ['2["hi"]', []],
  ['2["getUtf8"]', []],
  ['2["getDate"]', []],
  ['2["false"]', []],
  ['2["getbin"]', []],
  ['2["getNestedBin"]', []],
  ['21["echo",1,"a",{"b":[true,null]},-0.5,1e300,18446744073709551615]', []],
  ['22["getId"]', []],
  ['2/custom,3["getHandshake"]', []],
  ['2["message","x",{"deep":{"er":[[],{}]}}]', []],
  ['2["askMe",7]', []],
  ['51-4["echo",{"_placeholder":true,"num":0}]', [Buffer.from([1, 2, 3])]],
  [
    '52-5["echo",{"a":{"_placeholder":true,"num":1},"b":[{"_placeholder":true,"num":0}]}]',
    [Buffer.from([4, 5]), Buffer.alloc(0)],
  ],
  ['2["countMe"]', []],
  ['26["count"]', []],
  ['27["join","room1"]', []],
  ['2["toRoom","room1","hello",2]', []],
];

function answerQuestion(text) {
  // The server's `question(n)` wants an ack: `3<id>[...]`.
  const m = /^2(\d+)\["question"/.exec(text);
  return m ? `3${m[1]}["answer",${Number(m[1])}]` : null;
}

// ---- long polling, then an upgrade probe ----------------------------------------------

async function pollingSession(server, record) {
  const base = `http://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=polling`;
  const get = async (url) => {
    const body = await (await fetch(url)).text();
    record.pollBodies.push(body);
    return body;
  };
  const post = async (url, body) => {
    record.postBodies.push(body);
    const response = await fetch(url, { method: "POST", body });
    await response.text();
  };
  const open = await get(`${base}&t=1`);
  const sid = JSON.parse(open.slice(1)).sid;
  const url = `${base}&sid=${sid}`;

  const drain = async (rounds) => {
    for (let i = 0; i < rounds; i += 1) {
      const body = await get(url);
      const replies = [];
      for (const segment of body.split(SEP)) {
        if (segment === "2") replies.push("3");
        const answer = segment.startsWith("4") ? answerQuestion(segment.slice(1)) : null;
        if (answer) replies.push(`4${answer}`);
      }
      if (replies.length > 0) await post(url, replies.join(SEP));
    }
  };

  for (const [text, attachments] of CLIENT_PACKETS) {
    const segments = [`4${text}`, ...attachments.map((a) => `b${a.toString("base64")}`)];
    await post(url, segments.join(SEP));
  }
  await sleep(300);
  await control(server, "emit", {
    event: "pushed",
    args: [{ $binary: "AAEC/w==" }, { n: 1, list: [{ $binary: "" }] }, "tail"],
  });
  await control(server, "emit", { nsp: "/custom", event: "plain", args: ["é😀", null, 3.25] });
  await drain(4);

  // Upgrade probe: the pending GET ends with a noop (`6`) once the WebSocket sends `5`.
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  await new Promise((resolve) => ws.once("open", resolve));
  const pending = get(url);
  const probe = new Promise((resolve) => ws.once("message", (data) => resolve(data.toString())));
  ws.send("2probe");
  record.wsClientFrames.push("2probe");
  record.wsTexts.push(await probe);
  ws.send("5");
  record.wsClientFrames.push("5");
  await pending;
  ws.send("41");
  record.wsClientFrames.push("41");
  ws.close();
  await new Promise((resolve) => ws.once("close", resolve));
}

// ---- WebSocket only -------------------------------------------------------------------

async function websocketSession(server, record) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.on("message", (data, isBinary) => {
    if (isBinary) {
      record.wsFrames.push({ binary: Buffer.from(data) });
      return;
    }
    const text = data.toString();
    record.wsFrames.push({ text });
    record.wsTexts.push(text);
    if (text === "2") ws.send("3");
    const answer = text.startsWith("4") ? answerQuestion(text.slice(1)) : null;
    if (answer) ws.send(`4${answer}`);
  });
  const closed = new Promise((resolve) => ws.once("close", resolve));
  await new Promise((resolve) => ws.once("open", resolve));
  for (const [text, attachments] of CLIENT_PACKETS) {
    ws.send(`4${text}`);
    record.wsClientFrames.push(`4${text}`);
    for (const attachment of attachments) ws.send(attachment);
  }
  await sleep(300);
  await control(server, "emit", {
    event: "pushed",
    args: [{ $binary: "AAEC/w==" }, { n: 1, list: [{ $binary: "" }] }, "tail"],
  });
  await sleep(700);
  // Last: a message the server's parser refuses ends the session.
  await control(server, "raw", { data: "4garbage" });
  ws.close();
  await closed;
}

// ---- seeds ----------------------------------------------------------------------------

// Examples of the protocol reference (shared/reference/protocol.md), as text.
const REFERENCE_PAYLOADS = [
  '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
  `4hello${SEP}bAQIDBA==`,
  `4test1${SEP}4test2${SEP}4test3`,
  `40{"sid":"zVqJnpAp-jwH6AIzAAAA"}${SEP}42["auth",{}]`,
  `451-["message-back",{"_placeholder":true,"num":0}]${SEP}bAQID`,
  `452-["bin-back",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]${SEP}bAQID${SEP}bBAU=`,
  `6${SEP}1`,
  "2probe",
  "3probe",
  "44{\"message\":\"Not authorized\",\"data\":{\"code\":1}}",
  "44/admin,\"Not authorized\"",
  "42/admin,13[\"project:delete\",123]",
  "43/admin,13[]",
  "46/admin,1-13[{\"_placeholder\":true,\"num\":0}]",
];

// The `ferrio connect` input lines of the CLI's documentation and tests.
const CLI_LINES = [
  '{"emit":"echo","args":[1,"a",{"$binary":"AQI="}],"ack":true,"timeout_ms":300,"namespace":"/x"}',
  '{"emit":"hi"}',
  '{"emit":"e","ack":true}',
  '{"disconnect":true}',
  '{"disconnect":"/x"}',
  "emit chat hello {\"n\":1}",
  "emit /admin chat \"two words\" [1,2] true null -1.5 {\"$binary\":\"AQI=\"}",
  "ack echo 1 2",
  "disconnect /x",
  "disconnect",
  "help",
  "quit",
  "   ",
];

function writeSeeds(dir, seeds) {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (name.startsWith("seed-")) rmSync(path.join(dir, name));
  }
  const unique = new Map();
  for (const seed of seeds) {
    const bytes = Buffer.isBuffer(seed) ? seed : Buffer.from(seed, "utf8");
    unique.set(createHash("sha1").update(bytes).digest("hex").slice(0, 16), bytes);
  }
  for (const [hash, bytes] of unique) writeFileSync(path.join(dir, `seed-${hash}`), bytes);
  return unique.size;
}

// A Socket.IO packet text's JSON data: what follows the type, `N-`, `/nsp,` and the id.
function packetData(text) {
  const m = /^[0-6](?:\d+-)?(?:\/[^,]*,)?\d*(.*)$/s.exec(text);
  return m ? m[1] : "";
}

function seedsFrom(record) {
  const payloads = [...record.pollBodies, ...record.postBodies, ...REFERENCE_PAYLOADS];
  const packets = [
    ...payloads.flatMap((body) => body.split(SEP)),
    ...record.wsTexts,
    ...record.wsClientFrames,
  ];
  const handshakes = packets.filter((p) => p.startsWith("0{")).map((p) => p.slice(1));

  // Socket.IO messages with their attachments, in order: from the WebSocket frames and
  // from the polling bodies (base64 segments turned back into bytes).
  const conversations = [];
  let current = null;
  const push = (message) => {
    if (message.text !== undefined) {
      current = { text: message.text, attachments: [] };
      conversations.push(current);
    } else if (current) {
      current.attachments.push(message.binary);
    }
  };
  for (const frame of record.wsFrames) {
    if (frame.binary) push(frame);
    else if (frame.text.startsWith("4")) push({ text: frame.text.slice(1) });
  }
  for (const body of payloads) {
    for (const segment of body.split(SEP)) {
      if (segment.startsWith("4")) push({ text: segment.slice(1) });
      else if (segment.startsWith("b")) push({ binary: Buffer.from(segment.slice(1), "base64") });
    }
  }
  for (const [text, attachments] of CLIENT_PACKETS) conversations.push({ text, attachments });

  const framed = (parts) =>
    Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from([0xff]), part])));
  const socketio = conversations.flatMap(({ text, attachments }) => {
    const messages = [Buffer.from(text), ...attachments.map((a) => Buffer.concat([Buffer.from([0xfe]), a]))];
    // The default limits, and the tiny ones.
    return [0, 1].map((selector) => Buffer.concat([Buffer.from([selector]), framed(messages)]));
  });
  const ffi = conversations
    .map(({ text, attachments }) => ({ data: packetData(text), attachments }))
    .filter(({ data }) => data.startsWith("["))
    .map(({ data, attachments }) => framed([Buffer.from(data), ...attachments]));

  const cliFromEvents = conversations
    .map(({ text }) => packetData(text))
    .filter((data) => data.startsWith("[") && !data.includes("_placeholder"))
    .flatMap((data) => {
      const [event, ...args] = JSON.parse(data);
      if (typeof event !== "string") return [];
      return [JSON.stringify({ emit: event, args }), `emit ${event} ${args.map((a) => JSON.stringify(a)).join(" ")}`];
    });

  const target = (name) => path.join(here, name);
  return {
    engineio_packet: writeSeeds(target("engineio_packet"), packets),
    engineio_payload: writeSeeds(target("engineio_payload"), payloads),
    handshake: writeSeeds(target("handshake"), handshakes),
    socketio_decoder: writeSeeds(target("socketio_decoder"), socketio),
    ffi_json: writeSeeds(target("ffi_json"), ffi),
    cli_input: writeSeeds(target("cli_input"), [...CLI_LINES, ...cliFromEvents]),
  };
}

const server = await startServer();
try {
  const record = { pollBodies: [], postBodies: [], wsFrames: [], wsTexts: [], wsClientFrames: [] };
  await pollingSession(server, record);
  await websocketSession(server, record);
  console.log(JSON.stringify(seedsFrom(record)));
} finally {
  server.child.stdin.end();
  server.child.kill();
}
