"""Python bench client, Ferrio's AsyncClient or python-socketio's AsyncClient.

    python python_client.py <ferrio|python-socketio> <scenario> <url> <n>
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

PAYLOAD = "0123456789abcdef"


def cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_rss_kib() -> int:
    """VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's
    memory before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def report(value: dict) -> None:
    value["peak_rss_kib"] = peak_rss_kib()
    print("RESULT " + json.dumps(value), flush=True)


def pct(samples: list[float], p: float) -> float:
    samples.sort()
    return samples[round((len(samples) - 1) * p)]


class Meter:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, cpu() - self.cpu


def throughput(n: int, wall: float, c: float, **extra: object) -> None:
    report({"n": n, "wall_s": wall, "cpu_s": c, "per_s": n / wall,
            "cpu_us_per_msg": c / n * 1e6, **extra})


def latencies(samples: list[float], wall: float, c: float) -> None:
    n = len(samples)
    report({"n": n, "wall_s": wall, "cpu_s": c, "cpu_us_per_msg": c / n * 1e6,
            "p50_us": pct(samples, 0.5), "p99_us": pct(samples, 0.99)})


def new_client(impl: str):  # type: ignore[no-untyped-def]
    if impl == "ferrio":
        import ferrio

        return ferrio.AsyncClient(reconnection=False)
    import socketio

    return socketio.AsyncClient(reconnection=False)


async def connect(impl: str, url: str, websocket_only: bool, client=None):  # type: ignore[no-untyped-def]
    client = client or new_client(impl)
    transports = ["websocket"] if websocket_only else ["polling", "websocket"]
    await client.connect(url, transports=transports, wait_timeout=20)
    if not websocket_only:
        while client.transport() != "websocket":
            await asyncio.sleep(0.001)
    return client


async def main(impl: str, scenario: str, url: str, n: int) -> None:
    if scenario == "emit":
        client = await connect(impl, url, True)
        await client.call("echo", "warm up")
        m = Meter()
        for i in range(n):
            await client.emit("e", {"n": i, "s": PAYLOAD})
        count = await client.call("count", timeout=120)
        wall, c = m.stop()
        assert count == n, count
        throughput(n, wall, c)
        await client.disconnect()
    elif scenario == "receive":
        client = new_client(impl)
        received = 0
        last = time.perf_counter()
        done = asyncio.get_running_loop().create_future()

        @client.on("r")
        def on_r(message: object) -> None:
            nonlocal received, last
            if message:
                received += 1
                last = time.perf_counter()

        @client.on("done")
        def on_done(count: int) -> None:
            if not done.done():
                done.set_result(count)

        await connect(impl, url, True, client)
        await client.call("echo", "warm up")
        m = Meter()
        await client.emit("send", n)
        # `done` may itself be dropped by a client that drops what it cannot keep up with:
        # then the run ends after 2 s without events, timed to the last one.
        while not done.done():
            await asyncio.wait([done], timeout=0.5)
            if received and time.perf_counter() - last > 2:
                break
        wall, c = m.stop()
        if not done.done():
            wall = last - m.wall
        throughput(n, wall, c, received=received, dropped=n - received)
        await client.disconnect()
    elif scenario in ("ack", "binary"):
        client = await connect(impl, url, True)
        await client.call("echo", "warm up")
        data = bytes([7]) * (64 * 1024)
        samples = []
        m = Meter()
        for i in range(n):
            t = time.perf_counter()
            if scenario == "ack":
                await client.call("echo", {"n": i, "s": PAYLOAD})
            else:
                echoed = await client.call("bin", data)
                assert len(echoed) == len(data)
            samples.append((time.perf_counter() - t) * 1e6)
        wall, c = m.stop()
        latencies(samples, wall, c)
        await client.disconnect()
    elif scenario in ("connect_ws", "connect_upgrade"):
        samples = []
        m = Meter()
        for _ in range(n):
            t = time.perf_counter()
            client = await connect(impl, url, scenario == "connect_ws")
            samples.append((time.perf_counter() - t) * 1e6)
            await client.disconnect()
        wall, c = m.stop()
        latencies(samples, wall, c)
    elif scenario == "memory":
        # Two rounds of n idle connections; kib_per_conn is the second round's growth (the
        # marginal cost: the import and other one-off costs fall in the first round),
        # kib_per_conn_first the first round's (benches/README.md, "Memory").
        await asyncio.sleep(0.2)
        readings = [rss_kib()]
        clients = []
        for _ in range(2):
            for start in range(0, n, 100):
                k = min(100, n - start)
                clients += await asyncio.gather(*(connect(impl, url, True) for _ in range(k)))
            await asyncio.sleep(1)
            readings.append(rss_kib())
        before, mid, after = readings
        report({"n": n, "rss_before_kib": before, "rss_mid_kib": mid, "rss_after_kib": after,
                "kib_per_conn": (after - mid) / n, "kib_per_conn_first": (mid - before) / n})
        await asyncio.gather(*(c.disconnect() for c in clients))
    else:
        raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
