"""Emulator capacity: devices hosted by one process and the events/s they deliver.

The emulator runs as its own process (``porteiro emulate --devices N --traffic R``);
this process is the consumer, so its costs are not charged to the emulator. Two
measurements, each against a baseline of ONE device measured in the same run:

* attach streams: one ``eventManager`` stream per device, events parsed and counted;
* push: every device in DeviceMode=1 POSTing to a receiver here, POSTs counted.

Targets: 1,000 devices in one process; 5,000 events/s aggregate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time

import httpx
from aiohttp import web

from _proc import free_base as _free_base
from porteiro.wire import AttachStreamParser, RawEvent
from porteiro.wire.push import parse_push_body

AUTH = ("admin", "admin123")
TARGET_DEVICES = 1000
TARGET_EVENTS = 5000



def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:  # noqa: PTH123
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _wait_up(base: int, count: int, timeout: float) -> float:
    start = time.monotonic()
    async with httpx.AsyncClient(auth=httpx.DigestAuth(*AUTH), timeout=2) as client:
        for port in (base, base + count - 1):
            while True:
                try:
                    await client.get(f"http://127.0.0.1:{port}/cgi-bin/magicBox.cgi"
                                     "?action=getSerialNo")
                    break
                except httpx.TransportError:
                    if time.monotonic() - start > timeout:
                        raise
                    await asyncio.sleep(0.2)
    return time.monotonic() - start


def _spawn(count: int, base: int, rate: float, push: str | None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "porteiro", "emulate", "--devices", str(count),
            "--base-port", str(base), "--traffic", str(rate)]
    if push:
        args += ["--push", push]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})


async def _count_streams(base: int, count: int, seconds: float) -> tuple[int, int]:
    """Open one stream per device; once all are up (or 60 s passed), count events for
    ``seconds``. Returns (events, streams connected)."""
    total = 0
    connected = 0
    window: list[float] = []  # [start, stop] once every stream is up
    all_up = asyncio.Event()
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)

    async def one(client: httpx.AsyncClient, port: int) -> None:
        nonlocal total, connected
        url = (f"http://127.0.0.1:{port}/cgi-bin/eventManager.cgi?action=attach"
               "&codes=[All]&heartbeat=5")
        for attempt in range(3):
            # A thousand digest handshakes at once: a pooled connection the emulator
            # already closed fails once now and then; a real client retries, so do we.
            try:
                async with client.stream("GET", url) as stream:
                    parser = AttachStreamParser.for_content_type(
                        stream.headers.get("content-type"))
                    connected += 1
                    if connected == count:
                        all_up.set()
                    async for chunk in stream.aiter_raw():
                        items = parser.feed(chunk)
                        if window and window[0] <= time.monotonic() < window[1]:
                            total += sum(isinstance(i, RawEvent) for i in items)
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.2)
            else:
                return

    async with httpx.AsyncClient(auth=httpx.DigestAuth(*AUTH), limits=limits,
                                 timeout=httpx.Timeout(60, read=30)) as client:
        tasks = [asyncio.create_task(one(client, base + i)) for i in range(count)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_up.wait(), 60)
        start = time.monotonic()
        window.extend([start, start + seconds])
        await asyncio.sleep(seconds + 0.5)
        failed = [t.exception() for t in tasks if t.done() and not t.cancelled()
                  and t.exception() is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        kinds = sorted({f"{type(e).__name__}: {e}"[:120] for e in failed})
        print(f"  {len(failed)} stream(s) failed: {'; '.join(kinds[:3])}")
    return total, connected


async def _count_push(port: int, seconds: float, ready: asyncio.Event, start_at: list[float]
                      ) -> int:
    received = 0
    posts = 0

    async def notification(request: web.Request) -> web.Response:
        nonlocal received, posts
        body = await request.read()
        if start_at and time.monotonic() >= start_at[0]:
            received += len(parse_push_body(body, request.headers.get("Content-Type")).events)
            posts += 1
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/notification", notification)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ready.set()
    try:
        while not start_at:
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, start_at[0] - time.monotonic()) + seconds)
    finally:
        await runner.cleanup()
    print(f"  push: {posts / seconds:,.0f} POSTs/s carrying {received / seconds:,.0f} events/s")
    return received


async def measure(count: int, rate: float, seconds: float, mode: str) -> tuple[float, float, float]:
    """(events/s, start-up seconds, emulator RSS MiB) for ``count`` devices."""
    base = _free_base(count + 1)
    if mode == "stream":
        proc = _spawn(count, base, rate, None)
        try:
            started = await _wait_up(base, count, timeout=120)
            rss = _rss_mib(proc.pid)
            events, connected = await _count_streams(base, count, seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        if connected < count:
            print(f"  warning: only {connected} of {count} streams connected")
        return events / seconds, started, rss
    receiver_port = base + count
    ready = asyncio.Event()
    start_at: list[float] = []
    counter = asyncio.create_task(_count_push(receiver_port, seconds, ready, start_at))
    await ready.wait()
    proc = _spawn(count, base, rate, f"http://127.0.0.1:{receiver_port}/notification")
    try:
        started = await _wait_up(base, count, timeout=120)
        rss = _rss_mib(proc.pid)
        start_at.append(time.monotonic() + 2)
        received = await counter
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if not counter.done():
            counter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await counter
    return received / seconds, started, rss


async def main_async(args: argparse.Namespace) -> bool:
    ok = True
    for mode in ("stream", "push"):
        one, _, rss_one = await measure(1, args.rate, args.seconds, mode)
        many, started, rss = await measure(args.devices, args.rate, args.seconds, mode)
        ideal = one * args.devices
        print(f"[{mode}] 1 device: {one:,.1f} events/s (RSS {rss_one:.0f} MiB)")
        print(f"[{mode}] {args.devices:,} devices in one process: {many:,.0f} events/s aggregate;"
              f" up in {started:.1f} s; RSS {rss:.0f} MiB")
        print(f"[{mode}] scaling vs {args.devices:,} x the 1-device baseline: {many / ideal:.2f}"
              f"  (target aggregate >= {TARGET_EVENTS:,} events/s:"
              f" {'met' if many >= TARGET_EVENTS else 'MISSED'})")
        ok = ok and many >= TARGET_EVENTS
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=TARGET_DEVICES)
    # 6 actions/s per device: 1,000 devices then offer more than the 5,000 events/s the
    # target asks the process to carry (each action is about one event).
    parser.add_argument("--rate", type=float, default=6.0, help="actions/s per device")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    ok = asyncio.run(main_async(args))
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
