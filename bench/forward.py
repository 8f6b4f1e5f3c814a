"""Event forwarding: events/s delivered to a webhook and to MQTT, and the lag under load.

Every party is its own process: the hub (``python -m porteiro serve``), the webhook
receiver (``--role hook``: aiohttp answering 200 after checking each request's HMAC
signature with :func:`porteiro.forward.webhook.verify`), the MQTT subscriber (``--role
sub``: aiomqtt, QoS 1, on ``<prefix>/+/event/+`` only: the retained ``last_access``
messages would double its work), the baselines (``--role post``: a bare aiohttp client POSTing
the same signed bodies at the sink's concurrency; ``--role pub``: a bare aiomqtt
publisher publishing the sink's messages, QoS 1, 200 in flight like the sink) and the
push load generator (``--role load``). Receivers time every event's first arrival and
report to this process over a control HTTP port.

Measured:

* drain, per sink and database (SQLite in a temporary directory; PostgreSQL in a
  database ``porteiro_bench_fwd_<pid>_<run>`` created and dropped here): N distinct
  events of 32 devices written with :class:`porteiro.store.Writer`, then a hub with one
  sink (``start = "beginning"``); events/s at the receiver from the first event's
  arrival to the last's, against the baseline into the same receiver. Every event id
  must arrive (at least once) and each device's events must first arrive in id order;
* lag, one hub (SQLite) with both sinks (``start = "now"``) under 32 push devices
  paced at 1,000 events/s (one event per POST, each device waiting for its 200): per
  sink p50/p99/max of (first arrival at the receiver - the load generator's send time
  of that card number), the most events sent but not yet at the receiver, and the
  hub's ``porteiro_sink_queue_depth`` / ``porteiro_sink_lag_seconds`` at the end. Every
  acknowledged event must reach both receivers.

Targets (2 cores): each sink drains >= 5,000 events/s; at 1,000 events/s the p99 lag is
under 1 s and the queue ends at 0. A lost event fails the run (exit 2). Only 127.0.0.1
is used; every run is bounded in time and kills its children.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _proc import BenchDatabase, HubProcess
from _proc import cpu_s as _cpu_s
from _proc import free_port as _free_port
from _proc import kill as _kill
from _proc import mac as _mac
from _proc import pct as _pct

TARGET_EPS = 5000
TARGET_P99_S = 1.0
PACED_EPS = 1000
DEVICES = 32
SECRET = "bench-secret-0123"
CONCURRENCY = 16  # the webhook sink's default `concurrency`
CHUNK = 200  # the MQTT sink's messages in flight
BROKER = ("127.0.0.1", 1883)
PLACEHOLDER = b"@@@@@@@@@@@@"  # 12 characters, replaced by a card number per event
REFRESH_WAIT = 5.5  # the hub measures its queues every 5 s
STALL_S = 30.0  # a receiver getting nothing new for this long: the run is over


class BenchmarkFailedError(Exception):
    """Lost events, order broken, errors."""


# -- helpers -------------------------------------------------------------------------------


def _busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _env() -> dict[str, str]:
    """Children's environment: no PORTEIRO_* overrides (or experiments) leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEIRO_")}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _broker_pid() -> int | None:
    """Mosquitto's pid, when it can be found (for its CPU share)."""
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/run/mosquitto/mosquitto.pid").read_text().strip())
    return None


def _broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=2):
            return True
    except OSError:
        return False


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return None


def _raw_event(device: int, card: str, utc: int) -> Any:
    from porteiro.wire.records import RawEvent  # noqa: PLC0415

    return RawEvent("AccessControl", "Pulse", 0, {
        "CardName": "Ana Souza", "CardNo": card, "CardType": 0, "CreateTime": utc, "Door": 0,
        "ErrorCode": 0, "Method": 1, "ReaderID": "1", "Status": 1, "Type": "Entry",
        "UTC": utc, "UserID": f"{1000 + device}", "UserType": 0},
        {"PhysicalAddress": _mac(device)})


# -- the receivers (their own processes) -------------------------------------------------


class Recorder:
    """First arrivals of events: by id (with order per device) and by card number."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.first: dict[int, float] = {}
        self.cards: dict[str, float] = {}
        self.last_id: dict[str, int] = {}
        self.duplicates = 0
        self.out_of_order = 0
        self.bad = 0
        self.received_lag: list[float] = []

    def add(self, event: dict[str, Any], now: float) -> None:
        event_id = int(event["id"])
        if event_id in self.first:
            self.duplicates += 1
            return
        self.first[event_id] = now
        device = str(event.get("device"))
        if event_id < self.last_id.get(device, 0):
            self.out_of_order += 1
        self.last_id[device] = event_id
        card = event.get("card_no")
        if card:
            self.cards.setdefault(str(card), now)

    def report(self, query: dict[str, str]) -> dict[str, Any]:
        times = self.first.values()
        out: dict[str, Any] = {
            "count": len(self.first), "duplicates": self.duplicates,
            "out_of_order": self.out_of_order, "bad": self.bad,
            "first_t": min(times, default=None), "last_t": max(times, default=None)}
        if query.get("ids"):
            out["ids"] = sorted(self.first)
        if query.get("cards"):
            out["cards"] = self.cards
        return out


def _control_routes(app: Any, recorder: Recorder) -> None:
    from aiohttp import web  # noqa: PLC0415

    async def report(request: web.Request) -> web.Response:
        return web.json_response(recorder.report(dict(request.query)))

    async def reset(_request: web.Request) -> web.Response:
        recorder.reset()
        return web.Response(text="ok")

    app.router.add_get("/_report", report)
    app.router.add_post("/_reset", reset)


async def _serve_forever(app: Any, port: int) -> None:
    from aiohttp import web  # noqa: PLC0415

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


async def _hook_main(port: int) -> None:
    """The webhook receiver: checks the signature, answers 200, records."""
    import msgspec  # noqa: PLC0415
    from aiohttp import web  # noqa: PLC0415

    from porteiro.forward.webhook import SIGNATURE_HEADER, verify  # noqa: PLC0415

    recorder = Recorder()
    decode = msgspec.json.Decoder().decode

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        headers = request.headers
        if not verify(SECRET, headers.get("X-Porteiro-Timestamp", ""), body,
                      headers.get(SIGNATURE_HEADER, "")):
            recorder.bad += 1
            return web.Response(status=401)
        recorder.add(decode(body), now)
        return web.Response()

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/hook", hook)
    _control_routes(app, recorder)
    await _serve_forever(app, port)


async def _sub_main(control: int, prefix: str) -> None:
    """The MQTT subscriber (QoS 1) on the event topics; control over HTTP."""
    import aiomqtt  # noqa: PLC0415
    import msgspec  # noqa: PLC0415
    from aiohttp import web  # noqa: PLC0415

    recorder = Recorder()
    decode = msgspec.json.Decoder().decode
    app = web.Application()
    _control_routes(app, recorder)
    server = asyncio.create_task(_serve_forever(app, control))
    async with aiomqtt.Client(*BROKER, identifier=f"bench-sub-{os.getpid()}",
                              max_inflight_messages=CHUNK) as client:
        await client.subscribe(f"{prefix}/+/event/+", qos=1)
        reader = asyncio.create_task(_sub_read(client, recorder, decode))
        await asyncio.wait({server, reader}, return_when=asyncio.FIRST_COMPLETED)
        reader.cancel()


async def _sub_read(client: Any, recorder: Recorder, decode: Any) -> None:
    async for message in client.messages:
        recorder.add(decode(message.payload), time.time())


# -- the baselines (their own processes) ------------------------------------------------


def _bodies(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


async def _post_main(port: int, bodies_file: Path) -> None:
    """Bare webhook client: the same signed bodies, the same concurrency, no store."""
    import aiohttp  # noqa: PLC0415

    from porteiro import __version__  # noqa: PLC0415
    from porteiro.forward.webhook import SIGNATURE_HEADER, sign  # noqa: PLC0415

    bodies = _bodies(bodies_file)
    url = f"http://127.0.0.1:{port}/hook"
    errors = 0
    items = iter(bodies)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector,
                                     headers={"User-Agent": f"porteiro/{__version__}"}
                                     ) as client:
        async def worker() -> None:
            nonlocal errors
            for body in items:
                stamp = str(int(time.time()))
                event_id = body.split(b'"id":', 1)[1].split(b",", 1)[0].decode()
                headers = {"Content-Type": "application/json", "X-Porteiro-Event-Id": event_id,
                           "X-Porteiro-Timestamp": stamp,
                           SIGNATURE_HEADER: sign(SECRET, stamp, body)}
                async with client.post(url, data=body, headers=headers) as reply:
                    if reply.status != 200:
                        errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    print(json.dumps({"sent": len(bodies), "errors": errors,
                      "seconds": time.monotonic() - started}))


async def _pub_main(prefix: str, bodies_file: Path) -> None:
    """Bare MQTT publisher: the sink's messages for these events (event + retained
    last_access), QoS 1, 200 awaited together, one connection."""
    import aiomqtt  # noqa: PLC0415
    import msgspec  # noqa: PLC0415

    decode = msgspec.json.Decoder().decode
    encode = msgspec.json.Encoder().encode
    messages: list[tuple[str, bytes, bool]] = []
    for body in _bodies(bodies_file):
        event = decode(body)
        device = event["device"]
        messages.append((f"{prefix}/{device}/event/{event['kind']}", body, False))
        last = {key: event.get(key) for key in
                ("id", "time", "summary", "granted", "user_id", "user_name", "card_no")}
        last["door"] = event["door"] + 1
        messages.append((f"{prefix}/{device}/last_access", encode(last), True))
    started = time.monotonic()
    async with aiomqtt.Client(*BROKER, identifier=f"bench-pub-{os.getpid()}",
                              max_inflight_messages=CHUNK) as client:
        client.pending_calls_threshold = 10 * CHUNK
        for start in range(0, len(messages), CHUNK):
            await asyncio.gather(*(client.publish(topic, payload, qos=1, retain=retain,
                                                  timeout=15)
                                   for topic, payload, retain in messages[start:start + CHUNK]))
    print(json.dumps({"sent": len(messages) // 2, "errors": 0,
                      "seconds": time.monotonic() - started}))


# -- the push load generator (its own process) -------------------------------------------


def _template(device: int) -> list[bytes]:
    from porteiro.wire.push import format_push_body  # noqa: PLC0415

    body, ctype = format_push_body([_raw_event(device, PLACEHOLDER.decode(), int(time.time()))],
                                   time=time.strftime("%d-%m-%Y %H:%M:%S"))
    head = (f"POST /notification HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return (head + body).split(PLACEHOLDER)


async def _device(index: int, port: int, stats: dict[str, Any], *, start: float,
                  stop_at: float, interval: float) -> None:
    parts = _template(index)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    serial = 0
    next_at = start + interval * index / DEVICES
    try:
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if next_at >= stop_at:
                return
            next_at += interval
            serial += 1
            card = f"9{index:04d}{serial:07d}"
            sent = time.time()
            writer.write(parts[0] + card.encode() + parts[1])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if head[9:12] != b"200":
                stats["errors"] += 1
                continue
            acked = time.time()
            stats["cards"][card] = (sent, acked)
            stats["ack"].append(acked - sent)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _load_main(port: int, rate: float, seconds: float) -> None:
    stats: dict[str, Any] = {"errors": 0, "cards": {}, "ack": []}
    started = time.monotonic() + 0.2
    results = await asyncio.gather(
        *(_device(i, port, stats, start=started, stop_at=started + seconds,
                  interval=DEVICES / rate)
          for i in range(DEVICES)), return_exceptions=True)
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    print(json.dumps({"errors": stats["errors"], "failures": failures[:5],
                      "cards": stats["cards"], "seconds": time.monotonic() - started,
                      "ack_p50": _pct(stats["ack"], 0.5), "ack_p99": _pct(stats["ack"], 0.99)}))


# -- databases and the hub ----------------------------------------------------------------


class Database(BenchDatabase):
    """A store for one hub run (``run`` names it)."""

    def __init__(self, kind: str, workdir: Path, run: str) -> None:
        super().__init__(kind, workdir / run / "data", f"porteiro_bench_fwd_{os.getpid()}_{run}")


def _devices_toml() -> str:
    return "".join(f'[[devices]]\nname = "bench-{i:03d}"\nhost = "127.0.0.1"\nmode = "push"\n'
                   f'mac = "{_mac(i)}"\n\n' for i in range(DEVICES))


SINK_EXTRA = ""
"""Extra keys for every sink (``--batch``)."""


def _webhook_toml(name: str, port: int, start: str) -> str:
    return (f'[[sinks]]\ntype = "webhook"\nname = "{name}"\n'
            f'url = "http://127.0.0.1:{port}/hook"\nsecret = "{SECRET}"\n'
            f'concurrency = {CONCURRENCY}\nstart = "{start}"\n{SINK_EXTRA}\n')


def _mqtt_toml(name: str, prefix: str, start: str) -> str:
    return (f'[[sinks]]\ntype = "mqtt"\nname = "{name}"\n'
            f'url = "mqtt://{BROKER[0]}:{BROKER[1]}"\ntopic_prefix = "{prefix}"\n'
            f'start = "{start}"\n{SINK_EXTRA}\n')


class Hub(HubProcess):
    """A hub process (``porteiro serve``)."""

    poll = 0.05

    def __init__(self, db: Database, log: Path) -> None:
        super().__init__(_free_port(), log)
        self.db = db

    def start(self, sinks_toml: str) -> None:
        config = self.db.path.parent / "porteiro.toml"
        config.write_text(f'[hub]\nlisten = "127.0.0.1:{self.port}"\n{self.db.toml()}\n'
                          f"{_devices_toml()}{sinks_toml}", encoding="utf-8")
        self.spawn(config, env=_env())
        self.wait_up()

    def metrics(self) -> dict[str, dict[str, float]]:
        """``porteiro_sink_*`` gauges and counters by sink."""
        out: dict[str, dict[str, float]] = {}
        with contextlib.suppress(OSError):
            status, text = self.request("/metrics", timeout=10)
            if status != 200:
                return out
            for line in text.decode(errors="replace").splitlines():
                if line.startswith("porteiro_sink_") and 'sink="' in line:
                    name = line.split("{", 1)[0]
                    sink = line.split('sink="', 1)[1].split('"', 1)[0]
                    out.setdefault(sink, {})[name] = float(line.rsplit(" ", 1)[1])
        return out


async def _prefill_async(db: Database, count: int, bodies: Path | None) -> list[int]:
    from porteiro.events import build_event  # noqa: PLC0415
    from porteiro.store import Store, Writer  # noqa: PLC0415
    from porteiro.store.serialize import encode, event_json  # noqa: PLC0415

    store = Store(db.url())
    store.migrate()
    ids = [store.ensure_device(f"bench-{i:03d}", host="127.0.0.1", mode="push", mac=_mac(i))
           for i in range(DEVICES)]
    writer = Writer(store)
    writer.start()
    utc = int(time.time()) - count
    stored: list[int] = []
    try:
        # One event per job, devices in turn: ids interleave devices as live traffic
        # does (a job per device would give each device a run of consecutive ids, and
        # a batch of one device is delivered one event at a time, in order).
        step = 2000
        for start in range(0, count, step):
            jobs = [writer.write(ids[n % DEVICES], f"bench-{n % DEVICES:03d}",
                                 [build_event(_raw_event(n % DEVICES, f"{n:012d}", utc + n))],
                                 source="push")
                    for n in range(start, min(count, start + step))]
            for result in await asyncio.gather(*jobs):
                stored.extend(i for i in result.ids if i is not None)
    finally:
        await asyncio.to_thread(writer.close)
    if bodies is not None:
        with bodies.open("wb") as out:
            after = 0
            while rows := store.events_after(after, 5000):
                out.writelines(encode(event_json(row, "pt")) + b"\n" for row in rows)
                after = int(rows[-1]["id"])
    store.close()
    return sorted(stored)


def _prefill(db: Database, count: int, bodies: Path | None) -> list[int]:
    db.create()
    ids = asyncio.run(_prefill_async(db, count, bodies))
    if len(ids) != count:
        raise BenchmarkFailedError(f"pre-fill stored {len(ids):,} of {count:,} events")
    return ids


# -- measuring -------------------------------------------------------------------------------


class Receiver(HubProcess):
    """A receiver process (this file, ``--role <role>``) and its control port."""

    grace = 10.0
    start_timeout = 60.0

    def __init__(self, role: str, workdir: Path, *extra: str) -> None:
        super().__init__(_free_port(), workdir / f"{role}.log")
        self.role = role
        self.name = f"receiver {role}"
        self.spawn_argv([sys.executable, __file__, "--role", role, "--port", str(self.port),
                         *extra], env=_env())
        self.wait_up()

    def ready(self) -> bool:
        return self.port_open()

    def reset(self) -> None:
        self.request("/_reset", method="POST")

    def report(self, **flags: int) -> dict[str, Any]:
        query = "&".join(f"{k}=1" for k, v in flags.items() if v)
        return dict(json.loads(self.request(f"/_report?{query}")[1]))

    def wait_for(self, expected: int, deadline: float,
                 alive: subprocess.Popen[bytes] | None = None,
                 cpu: dict[str, int] | None = None) -> dict[str, Any]:
        """Poll until ``expected`` distinct events arrived, nothing new came for
        STALL_S, or the deadline passed. With ``cpu`` (name: pid), the share of a core
        each process used from the first arrival seen to the end (``report["cpu"]``)."""
        last, since = -1, time.monotonic()
        marks: dict[str, float] = {}
        started = 0.0
        while True:
            report = self.report()
            if cpu and not marks and report["count"]:
                started = time.monotonic()
                marks = {name: _cpu_s(pid) for name, pid in cpu.items()}
                marks["machine"] = _busy_s()
            if report["count"] >= expected:
                if marks:
                    wall = max(time.monotonic() - started, 1e-9)
                    shares = {name: (_cpu_s(pid) - marks[name]) / wall
                              for name, pid in (cpu or {}).items()}
                    machine = (_busy_s() - marks["machine"]) / wall
                    shares["anything else"] = max(0.0, machine - sum(shares.values()))
                    report["cpu"] = shares
                return report
            now = time.monotonic()
            if report["count"] != last:
                last, since = report["count"], now
            if now - since > STALL_S or now > deadline:
                return report
            if alive is not None and alive.poll() is not None and now - since > 2:
                return report
            time.sleep(0.1)


def _verify(name: str, report: dict[str, Any], expected: list[int], *,
            ordered: bool = True) -> None:
    problems = []
    got = report.get("ids", [])
    if got != expected:
        missing = len(set(expected) - set(got))
        extra = len(set(got) - set(expected))
        problems.append(f"{missing:,} of {len(expected):,} events never arrived"
                        + (f", {extra:,} unexpected ids" if extra else ""))
    if ordered and report["out_of_order"]:
        problems.append(f"{report['out_of_order']:,} events arrived before an earlier event "
                        "of their device")
    if report["bad"]:
        problems.append(f"{report['bad']:,} requests with a bad signature")
    if problems:
        raise BenchmarkFailedError(f"{name}: " + "; ".join(problems))


def _rate(report: dict[str, Any]) -> float:
    span = (report["last_t"] or 0) - (report["first_t"] or 0)
    return (report["count"] - 1) / span if span > 0 else float("nan")


def _baseline(receiver: Receiver, role: str, ids: list[int], bodies: Path,
              *extra: str) -> dict[str, Any]:
    receiver.reset()
    cpu0 = receiver.cpu_s()
    broker0 = _cpu_s(broker) if (broker := _broker_pid()) and role == "pub" else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--role", role, "--bodies", str(bodies), *extra],
        capture_output=True, timeout=len(ids) / 200 + 120, check=False, env=_env())
    broker_cpu = _cpu_s(broker) - broker0 if broker and broker0 is not None else None
    if done.returncode != 0:
        raise BenchmarkFailedError(f"baseline {role} failed:\n"
                                   f"{done.stderr.decode(errors='replace')[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    summary = json.loads(done.stdout)
    report = receiver.wait_for(len(ids), time.monotonic() + 60)
    report = receiver.report(ids=1)
    if summary["errors"]:
        raise BenchmarkFailedError(f"baseline {role}: {summary['errors']} failed sends")
    _verify(f"baseline {role}", report, ids, ordered=False)  # no order kept
    span = report["last_t"] - report["first_t"]
    return {"eps": _rate(report), "seconds": span, "duplicates": report["duplicates"],
            "receiver_cpu": (receiver.cpu_s() - cpu0) / max(span, 1e-9),
            "client_cpu": client_cpu / max(summary["seconds"], 1e-9),
            "broker_cpu": None if broker_cpu is None else broker_cpu / max(span, 1e-9)}


def _drain(receiver: Receiver, sink_toml: str, db: Database, ids: list[int], *,
           workdir: Path, run: str, profile: bool) -> dict[str, Any]:
    receiver.reset()
    hub = Hub(db, workdir / f"hub-{run}.log")
    spy: subprocess.Popen[bytes] | None = None
    try:
        hub.start(sink_toml)
        assert hub.proc is not None  # noqa: S101
        assert receiver.proc is not None  # noqa: S101
        if profile:
            spy = _py_spy(hub.proc.pid, workdir / f"profile-{run}.txt")
        pids = {"hub": hub.proc.pid, "receiver": receiver.proc.pid}
        if "mqtt" in run and (broker := _broker_pid()):
            pids["broker"] = broker
        report = receiver.wait_for(len(ids), time.monotonic() + len(ids) / 100 + 60, hub.proc,
                                   pids)
        cpu_share = report.get("cpu", {})
        hub_cpu = hub.cpu_s()
        rss = hub.hwm_mb()
        metrics = hub.metrics()
        report = receiver.report(ids=1)
    except Exception:
        print(hub.tail(), file=sys.stderr)
        raise
    finally:
        if spy is not None:
            _kill(spy, grace=30)
        hub.stop()
    _verify(f"{db.kind} {run}", report, ids)
    span = report["last_t"] - report["first_t"]
    return {"eps": _rate(report), "seconds": span, "duplicates": report["duplicates"],
            "hub_cpu_s": hub_cpu, "cpu": cpu_share,
            "rss": rss, "metrics": metrics, "profile": workdir / f"profile-{run}.txt"}


def _py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    exe = Path(sys.executable).parent / "py-spy"
    if not exe.exists():
        print("  (py-spy not installed: no profile)")
        return None
    return subprocess.Popen(  # noqa: S603
        [str(exe), "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
         "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _top_frames(path: Path, count: int = 12) -> list[str]:
    """The functions holding most samples (self time) in a py-spy raw profile."""
    totals: dict[str, int] = {}
    total = 0
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        stack, _, samples = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            n = int(samples)
            total += n
            leaf = stack.rsplit(";", 1)[-1]
            totals[leaf] = totals.get(leaf, 0) + n
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:count]
    return [f"{100 * n / max(total, 1):5.1f}%  {name}" for name, n in ranked]


def _fmt(result: dict[str, Any]) -> str:
    return f"{result['eps']:8,.0f} events/s ({result['seconds']:.1f} s)"


def measure_drain(kinds: list[str], args: argparse.Namespace, workdir: Path, *,
                  hook: Receiver, sub: Receiver | None, prefix: str) -> bool:
    ok = True
    bodies = workdir / "bodies.jsonl"
    base_hook: dict[str, Any] | None = None
    base_mqtt: dict[str, Any] | None = None
    for kind in kinds:
        db = Database(kind, workdir, f"drain-{kind}")
        try:
            started = time.monotonic()
            ids = _prefill(db, args.events, bodies if base_hook is None else None)
            print(f"\n[drain, {kind}] {len(ids):,} events of {DEVICES} devices pre-filled in "
                  f"{time.monotonic() - started:.1f} s; a hub with one sink "
                  '(start = "beginning"); every id checked, order per device checked')
            if base_hook is None:
                base_hook = _baseline(hook, "post", ids, bodies,
                                      "--port", str(hook.port))
                if sub is not None:
                    base_mqtt = _baseline(sub, "pub", ids, bodies,
                                          "--prefix", prefix)
            runs: list[tuple[str, Receiver, str, dict[str, Any]]] = [
                ("webhook", hook, _webhook_toml("hook", hook.port, "beginning"), base_hook)]
            if sub is not None and base_mqtt is not None:
                runs.append(("mqtt", sub, _mqtt_toml("mqtt", prefix, "beginning"), base_mqtt))
            for name, receiver, toml, base in runs:
                result = _drain(receiver, toml, db, ids, workdir=workdir, run=f"{kind}-{name}",
                                profile=args.profile)
                met = result["eps"] >= TARGET_EPS
                ok = ok and met
                share = "  ".join(f"{who} {100 * used:.0f}%"
                                  for who, used in result["cpu"].items())
                print(f"  {name:8s} sink {_fmt(result)}  vs bare {base['eps']:,.0f}/s: "
                      f"{result['eps'] / base['eps']:.2f} x  (target >= {TARGET_EPS:,}/s: "
                      f"{'met' if met else 'MISSED'})")
                print(f"  {'':8s} CPU while draining (of one core): {share}; duplicates "
                      f"{result['duplicates']}; hub peak RSS {result['rss']:.0f} MB")
                if args.profile:
                    print("  hottest functions in the hub (py-spy, self time):")
                    for line in _top_frames(result["profile"]):
                        print(f"    {line}")
        finally:
            with contextlib.suppress(Exception):
                db.drop()
    if base_hook is not None:
        print(f"\n  baselines, same receivers: bare aiohttp client, {CONCURRENCY} requests in "
              f"flight, signed: {_fmt(base_hook)}; client CPU "
              f"{100 * base_hook['client_cpu']:.0f}% of a core (start-up included), receiver "
              f"{100 * base_hook['receiver_cpu']:.0f}%")
        if base_mqtt is not None:
            print(f"  bare aiomqtt publisher, QoS 1, {CHUNK} in flight, event + last_access: "
                  f"{_fmt(base_mqtt)}; client CPU {100 * base_mqtt['client_cpu']:.0f}% of a "
                  f"core (start-up included), subscriber "
                  f"{100 * base_mqtt['receiver_cpu']:.0f}%, broker "
                  f"{100 * (base_mqtt['broker_cpu'] or float('nan')):.0f}%")
    return ok


def _backlog(sent: list[float], arrived: list[float]) -> int:
    """Most events sent but not yet arrived, at any moment."""
    steps = sorted([(t, 1) for t in sent] + [(t, -1) for t in arrived])
    level = most = 0
    for _t, step in steps:
        level += step
        most = max(most, level)
    return most


def _run_load(port: int, seconds: float) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--role", "load", "--port", str(port),
         "--rate", str(PACED_EPS), "--seconds", str(seconds)],
        capture_output=True, timeout=seconds + 120, check=False, env=_env())
    if done.returncode != 0:
        raise BenchmarkFailedError(
            f"load generator failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    return dict(json.loads(done.stdout))


def measure_lag(args: argparse.Namespace, workdir: Path, hook: Receiver,
                sub: Receiver | None, prefix: str) -> bool:
    db = Database("sqlite", workdir, "lag")
    db.create()
    sinks = _webhook_toml("hook-live", hook.port, "now")
    receivers: list[tuple[str, str, Receiver]] = [("webhook", "hook-live", hook)]
    if sub is not None:
        sinks += _mqtt_toml("mqtt-live", prefix, "now")
        receivers.append(("mqtt", "mqtt-live", sub))
    hub = Hub(db, workdir / "hub-lag.log")
    for _name, _sink, receiver in receivers:
        receiver.reset()
    try:
        hub.start(sinks)
        assert hub.proc is not None  # noqa: S101
        time.sleep(1.0)  # the sinks connect and take their position
        cpu0 = hub.cpu_s()
        load = _run_load(hub.port, args.seconds)
        cpu = hub.cpu_s() - cpu0
        cards: dict[str, list[float]] = load["cards"]  # card: [sent, acknowledged]
        reports = {name: receiver.wait_for(len(cards), time.monotonic() + 60, hub.proc)
                   for name, _sink, receiver in receivers}
        time.sleep(REFRESH_WAIT)  # the hub measures its queues every 5 s
        metrics = hub.metrics()
        reports = {name: receiver.report(cards=1) for name, _sink, receiver in receivers}
    except Exception:
        print(hub.tail(), file=sys.stderr)
        raise
    finally:
        hub.stop()
    if load["errors"] or load["failures"]:
        raise BenchmarkFailedError(f"lag: {load['errors']} non-200 replies to pushes, "
                                   f"failures {load['failures']}")
    sent_s = len(cards) / args.seconds
    print(f"\n[lag, sqlite] one hub with both sinks (start = \"now\"), {DEVICES} push devices "
          f"paced at {PACED_EPS:,} events/s for {args.seconds:g} s: {len(cards):,} acknowledged"
          f" ({sent_s:,.0f}/s; push 200 after p50 {1000 * load['ack_p50']:.1f} ms, p99 "
          f"{1000 * load['ack_p99']:.1f} ms); hub CPU "
          f"{100 * cpu / load['seconds']:.0f}% of a core")
    ok = True
    for name, sink, _receiver in receivers:
        report = reports[name]
        arrived = report["cards"]
        missing = [card for card in cards if card not in arrived]
        if missing or report["out_of_order"] or report["bad"]:
            raise BenchmarkFailedError(
                f"lag {name}: {len(missing):,} of {len(cards):,} acknowledged events never "
                f"arrived; {report['out_of_order']} out of order; {report['bad']} bad "
                "signatures")
        lags = [arrived[card] - sent for card, (sent, _ack) in cards.items()]
        after_ack = [arrived[card] - ack for card, (_sent, ack) in cards.items()]
        most = _backlog([ack for _sent, ack in cards.values()],
                        [arrived[card] for card in cards])
        gauges = metrics.get(sink, {})
        queue = gauges.get("porteiro_sink_queue_depth", float("nan"))
        hub_lag = gauges.get("porteiro_sink_lag_seconds", float("nan"))
        p99 = _pct(lags, 0.99)
        met = p99 < TARGET_P99_S and queue == 0
        ok = ok and met
        print(f"  {name:8s} lag, arrival - push sent:  p50 {1000 * _pct(lags, 0.5):6.1f} ms  "
              f"p99 {1000 * p99:6.1f} ms  max {1000 * max(lags):6.1f} ms")
        print(f"  {'':8s} lag, arrival - push 200: p50 {1000 * _pct(after_ack, 0.5):6.1f} ms  "
              f"p99 {1000 * _pct(after_ack, 0.99):6.1f} ms  max {1000 * max(after_ack):6.1f} "
              f"ms; at most {most:,} acknowledged events not yet arrived; duplicates "
              f"{report['duplicates']}")
        print(f"  {'':8s} /metrics after the run: porteiro_sink_queue_depth {queue:g}, "
              f"porteiro_sink_lag_seconds {hub_lag:g}, delivered "
              f"{gauges.get('porteiro_sink_delivered_total', float('nan')):,.0f}  (target p99 < "
              f"{TARGET_P99_S:g} s and queue 0: {'met' if met else 'MISSED'})")
    with contextlib.suppress(Exception):
        db.drop()
    return ok


async def _clear_retained(prefix: str) -> int:
    """Empty every retained message under ``prefix`` (the broker persists them)."""
    import aiomqtt  # noqa: PLC0415

    topics: set[str] = set()
    async with aiomqtt.Client(*BROKER, identifier=f"bench-clean-{os.getpid()}") as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                async for message in client.messages:
                    if message.retain and message.payload:
                        topics.add(message.topic.value)
        for topic in sorted(topics):
            await client.publish(topic, b"", qos=1, retain=True)
    return len(topics)


def _machine() -> str:
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    return f"load average {' '.join(load)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="both", help="stores for the drain runs (lag: SQLite)")
    parser.add_argument("--events", type=int, default=None,
                        help="events pre-filled per drain (default 50,000; --quick 10,000)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds of paced load (default 10; --quick 5)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-mqtt", action="store_true", help="the webhook sink only")
    parser.add_argument("--no-drain", action="store_true")
    parser.add_argument("--no-lag", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the hub during each drain (py-spy in the venv)")
    parser.add_argument("--batch", type=int, default=None,
                        help="the sinks' `batch` (default: the sinks' own default, 500)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    # Internal roles (each runs as its own process).
    parser.add_argument("--role", choices=["main", "hook", "sub", "post", "pub", "load"],
                        default="main", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--bodies", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=PACED_EPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role != "main":
        import uvloop  # noqa: PLC0415

        role = {"hook": lambda: _hook_main(args.port),
                "sub": lambda: _sub_main(args.port, args.prefix),
                "post": lambda: _post_main(args.port, args.bodies),
                "pub": lambda: _pub_main(args.prefix, args.bodies),
                "load": lambda: _load_main(args.port, args.rate, args.seconds)}[args.role]
        uvloop.run(role())
        return 0
    if args.events is None:
        args.events = 10_000 if args.quick else 50_000
    if args.seconds is None:
        args.seconds = 5.0 if args.quick else 10.0
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.batch is not None:
        global SINK_EXTRA  # noqa: PLW0603  # one knob for every sink of the run
        SINK_EXTRA = f"batch = {args.batch}\n"
    print(f"forwarding benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{_machine()} at the start")
    mqtt = not args.no_mqtt
    if mqtt and not _broker_up():
        print(f"MQTT skipped: no broker at {BROKER[0]}:{BROKER[1]} (--no-mqtt to silence)")
        mqtt = False
    prefix = f"porteiro-bench-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="porteiro-forward-"))
    hook: Receiver | None = None
    sub: Receiver | None = None
    ok = True
    try:
        hook = Receiver("hook", workdir)
        if mqtt:
            sub = Receiver("sub", workdir, "--prefix", prefix)
            time.sleep(0.5)  # subscribed
        if not args.no_drain:
            ok = measure_drain(kinds, args, workdir, hook=hook, sub=sub, prefix=prefix) and ok
        if not args.no_lag:
            ok = measure_lag(args, workdir, hook, sub, prefix) and ok
    except BenchmarkFailedError as exc:
        print(f"\nFAILED: {exc}")
        return 2
    finally:
        for receiver in (hook, sub):
            if receiver is not None:
                receiver.stop()
        if mqtt:
            with contextlib.suppress(Exception):
                asyncio.run(_clear_retained(prefix))
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{_machine()} at the end")
    print(f"all targets {'met' if ok else 'NOT met'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
