// socket.io-client bench client: `node client.mjs <scenario> <url> <n>`.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const [scenario, url, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 0);
const PAYLOAD = "0123456789abcdef";

// VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's memory
// before exec).
const peakRssKiB = () => {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
};
const report = (v) => console.log(`RESULT ${JSON.stringify({ ...v, peak_rss_kib: peakRssKiB() })}`);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const now = () => Number(process.hrtime.bigint()) / 1e9;
const meter = () => {
  const w = now(), c = cpu();
  return () => [now() - w, cpu() - c];
};
const pct = (s, p) => {
  s.sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
};
const latencies = (s, wall, c) =>
  report({ n: s.length, wall_s: wall, cpu_s: c, cpu_us_per_msg: (c / s.length) * 1e6, p50_us: pct(s, 0.5), p99_us: pct(s, 0.99) });
const throughput = (wall, c, extra = {}) =>
  report({ n, wall_s: wall, cpu_s: c, per_s: n / wall, cpu_us_per_msg: (c / n) * 1e6, ...extra });

const connect = (websocketOnly) =>
  new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: websocketOnly ? ["websocket"] : ["polling", "websocket"],
      reconnection: false,
      forceNew: true,
    });
    socket.once("connect", () => {
      if (websocketOnly || socket.io.engine.transport.name === "websocket") resolve(socket);
      else socket.io.engine.once("upgrade", () => resolve(socket));
    });
    socket.once("connect_error", reject);
  });

const rssKiB = () => Math.round(process.memoryUsage().rss / 1024);

switch (scenario) {
  case "emit": {
    const socket = await connect(true);
    await socket.emitWithAck("echo", "warm up");
    const stop = meter();
    for (let i = 0; i < n; i++) socket.emit("e", { n: i, s: PAYLOAD });
    const count = await socket.timeout(120000).emitWithAck("count");
    const [wall, c] = stop();
    if (count !== n) throw new Error(`server count ${count}`);
    throughput(wall, c);
    socket.disconnect();
    break;
  }
  case "receive": {
    const socket = await connect(true);
    let received = 0;
    socket.on("r", (m) => {
      if (m) received++;
    });
    const done = new Promise((resolve) => socket.once("done", resolve));
    await socket.emitWithAck("echo", "warm up");
    const stop = meter();
    socket.emit("send", n);
    await done;
    const [wall, c] = stop();
    throughput(wall, c, { received, dropped: n - received });
    socket.disconnect();
    break;
  }
  case "ack":
  case "binary": {
    const socket = await connect(true);
    await socket.emitWithAck("echo", "warm up");
    const data = Buffer.alloc(64 * 1024, 7);
    const samples = [];
    const stop = meter();
    for (let i = 0; i < n; i++) {
      const t = now();
      if (scenario === "ack") await socket.emitWithAck("echo", { n: i, s: PAYLOAD });
      else {
        const b = await socket.emitWithAck("bin", data);
        if (b.length !== data.length) throw new Error("bad echo");
      }
      samples.push((now() - t) * 1e6);
    }
    const [wall, c] = stop();
    latencies(samples, wall, c);
    socket.disconnect();
    break;
  }
  case "connect_ws":
  case "connect_upgrade": {
    const samples = [];
    const stop = meter();
    for (let i = 0; i < n; i++) {
      const t = now();
      const socket = await connect(scenario === "connect_ws");
      samples.push((now() - t) * 1e6);
      socket.disconnect();
    }
    const [wall, c] = stop();
    latencies(samples, wall, c);
    break;
  }
  case "memory": {
    // Two rounds of n idle connections: kib_per_conn is the second round's growth (the
    // marginal cost), kib_per_conn_first the first round's (benches/README.md, "Memory").
    await new Promise((r) => setTimeout(r, 200));
    global.gc?.();
    const readings = [rssKiB()];
    const sockets = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < n; i += 100) {
        const k = Math.min(100, n - i);
        sockets.push(...(await Promise.all(Array.from({ length: k }, () => connect(true)))));
      }
      await new Promise((r) => setTimeout(r, 1000));
      global.gc?.();
      readings.push(rssKiB());
    }
    const [before, mid, after] = readings;
    report({
      n,
      rss_before_kib: before,
      rss_mid_kib: mid,
      rss_after_kib: after,
      kib_per_conn: (after - mid) / n,
      kib_per_conn_first: (mid - before) / n,
    });
    sockets.forEach((s) => s.disconnect());
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
process.exit(0);
