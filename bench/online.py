"""Modo Online: decision latency of the hub at 100, 500 and 1,000 requests/s, 100,000 people.

Every party is its own process: the hub (``python -m porteiro serve``) on a fresh store
that already holds the people (written straight into the store before the hub starts,
one card each), and the load generator (this file, ``--role load``, aiohttp).

A reader in Modo Online POSTs each access attempt to ``/notification/<name>`` (one
``AccessControl`` event, its time within ``[online] live_window_seconds`` of now) and
waits for ``{"message", "code": "200", "auth"}``: the hub decides against its people
and the site's history, stores the decision (the reply waits for the commit, within
``[online] deadline_ms``) and answers.

Load, open loop: requests leave on a fixed schedule at the target rate whether or not
earlier ones were answered, spread over ``rate / 10`` readers (each posting ~10/s on
its own keep-alive connection, and like a real reader never two at once: a request
due while its reader still waits queues behind it). Latency is measured from the
**scheduled** send time, so queueing in the hub, in the reader's connection or in the
load generator all count (coordinated-omission safe); a request without an answer
(error, or no reply within the readers' 5 s) counts as an infinite latency. Each rate
runs ``--warmup`` seconds (not measured) then ``--seconds`` measured.

Request mix (seeded): 70 % a card of a random person among all of them, 20 % a card
of one of 1,000 "regulars" (the same people again and again: their history entries
and per-person locks are hit), 10 % an unknown card; Entry or Exit at random. The
site runs with the default rules, ``anti_passback = false`` and
``repeat_entry_seconds = 0``, so a known card is always granted and an unknown one
always denied: every reply is checked against that (a wrong answer fails the run).

Baseline, same hub, same run, same load shape: ``GET /keepalive/<name>``, the hub's
cheapest device-facing answer (identify the device, note the contact, ``OK``; it
goes through FastAPI's routing, which the push path skips). Printed
per rate: decision p50/p99 and their ratio to the keepalive's, the hub's CPU, the
hub's own ``porteiro_online_decision_seconds`` (bucket bounds), granted/denied, and
decisions stored (rows with ``source = 'online'``) against replies received: every
answered decision must be stored, none twice.

Target (2 cores): decision p99 < 20 ms at 500 requests/s. ``--check`` exits 1 when it
is missed. ``--profile FILE`` runs the hub under cProfile (slower: for where the time
goes, not for the numbers). Every run stops by itself and kills its children; only
127.0.0.1 is used; PostgreSQL databases ``porteiro_bench_online_<pid>`` are dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _proc import BenchDatabase, HubProcess
from _proc import free_port as _free_port
from _proc import mac as _mac
from _proc import pct as _pct

RATES = (100, 500, 1000)
TARGET_RATE = 500
TARGET_P99_MS = 20.0
PER_READER_RATE = 10.0
"""Requests/s per reader: a busy turnstile. A reader waits for each answer before the
next, so 1,000 requests/s over 20 readers (50/s each) would need every answer in under
20 ms or requests queue at the reader; rate / 10 readers keeps the schedule feasible
and the measurement about the hub."""
PEOPLE = 100_000
REGULARS = 1_000
UNKNOWN_BASE = 0x10000000
"""Unknown cards: 8 hex digits like the known ones (same body length), never issued."""
TIMEOUT_S = 5.0
"""The readers' default RemoteCheckTimeout."""
CARD_MARK = "@@CARD@@"  # 8 characters: a card number
UTC_MARK = 1999999999  # 10 digits: an epoch in seconds
TIME_MARK = "@@-@@-@@@@ @@:@@:@@"  # 19 characters: the body's "Time"


# -- databases ----------------------------------------------------------------------------


class Database(BenchDatabase):
    """A fresh store with the people a run decides against."""

    def __init__(self, kind: str, workdir: Path) -> None:
        super().__init__(kind, workdir / kind / "data",
                         f"porteiro_bench_online_{os.getpid()}")

    def populate(self, people: int) -> None:
        """Migrate and write ``people`` people, one card each (``{i:08X}``)."""
        import sqlalchemy as sa  # noqa: PLC0415

        from porteiro.access.people import Person, SiteCard  # noqa: PLC0415
        from porteiro.store import Store  # noqa: PLC0415

        store = Store(self.url())
        try:
            store.migrate()
            for start in range(0, people, 5000):
                store.people.save_many([
                    Person(user_id=str(i), name=f"Pessoa {i}", cards=(SiteCard(f"{i:08X}"),))
                    for i in range(start, min(people, start + 5000))])
                if self.kind == "postgresql":
                    # Fresh tables have no statistics until autovacuum gets to them: the
                    # planner then scans people for save_many's ``user_id IN (500 ids)``
                    # (seconds per chunk from ~35,000 people on). Setup only.
                    with store.engine.begin() as conn:
                        conn.execute(sa.text("ANALYZE people, cards"))
        finally:
            store.close()


ONLINE_ROWS = "SELECT count(*) FROM events WHERE source = 'online'"


# -- the hub -------------------------------------------------------------------------------


def _readers_toml(count: int) -> str:
    return "".join(f'[[devices]]\nname = "r{i:03d}"\nhost = "127.0.0.1"\nmode = "online"\n'
                   f'mac = "{_mac(i)}"\n\n' for i in range(count))


class Hub(HubProcess):
    """A hub process (``porteiro serve``) on a fresh store."""

    grace = 60.0
    start_timeout = 300.0

    def __init__(self, db: Database, port: int, log: Path, profile: Path | None = None
                 ) -> None:
        super().__init__(port, log)
        self.db = db
        self.profile = profile

    def start(self, readers: int) -> float:
        """Start; seconds until /healthz answers."""
        config = self.db.path.parent / "porteiro.toml"
        # The defaults, spelled out: no anti-passback, no repeat-entry interval.
        config.write_text(f'[hub]\nlisten = "127.0.0.1:{self.port}"\n{self.db.toml()}\n'
                          "[access]\nanti_passback = false\nrepeat_entry_seconds = 0\n\n"
                          f"{_readers_toml(readers)}", encoding="utf-8")
        profile = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        self.spawn(config, python=profile)
        return self.wait_up()


def _http_get(port: int, path: str) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head[9:12]), body.decode(errors="replace")


def _decision_histogram(port: int) -> dict[str, float]:
    """Cumulative buckets (and _sum, _count) of porteiro_online_decision_seconds."""
    try:
        status, text = _http_get(port, "/metrics")
    except OSError:
        return {}
    if status != 200:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("porteiro_online_decision_seconds_bucket"):
            out[line.split('le="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(("porteiro_online_decision_seconds_sum",
                              "porteiro_online_decision_seconds_count")):
            out[line.split(" ", 1)[0].rsplit("_", 1)[1]] = float(line.rsplit(" ", 1)[1])
    return out


def _hist_delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def _hist_quantile(hist: dict[str, float], q: float) -> str:
    total = hist.get("+Inf", 0.0)
    if not total:
        return "n/a"
    for le, count in sorted(((k, v) for k, v in hist.items() if k not in ("sum", "count")),
                            key=lambda kv: float(kv[0])):
        if count >= q * total:
            return "> 5000 ms" if le == "+Inf" else f"<= {float(le) * 1000:g} ms"
    return "n/a"


def _load(port: int, *, path: str, rate: float, seconds: float, warmup: float,
          seed: int, people: int) -> dict[str, Any]:
    """Run the load generator process; its JSON summary."""
    args = [sys.executable, __file__, "--role", "load", "--port", str(port), "--path", path,
            "--rate", str(rate), "--seconds", str(seconds), "--warmup", str(warmup),
            "--seed", str(seed), "--people", str(people)]
    done = subprocess.run(args, capture_output=True,  # noqa: S603
                          timeout=seconds + warmup + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode(errors='replace')}")
    return dict(json.loads(done.stdout))


# -- the load generator (its own process) ---------------------------------------------------


def _request(index: int, card: str, utc: int, direction: str, stamp: str) -> tuple[bytes, str]:
    """Reader ``index``'s access request, as a reader in Modo Online sends it."""
    from porteiro.wire.push import format_push_body  # noqa: PLC0415
    from porteiro.wire.records import RawEvent  # noqa: PLC0415

    return format_push_body([RawEvent("AccessControl", "Pulse", 0, {
        "CardNo": card, "UserID": "", "Door": 0, "ErrorCode": 16, "Method": 1, "Status": 0,
        "Type": direction, "UTC": utc, "CreateTime": utc, "ReaderID": "1", "CardType": 0,
        "UserType": 0, "CardName": ""}, {"PhysicalAddress": _mac(index)})], time=stamp)


def _template(index: int, direction: str) -> tuple[list[bytes], str]:
    """The request split around its placeholders (card, UTC, time), each its own part
    (filled in per request without changing any length); the Content-Type."""
    body, ctype = _request(index, CARD_MARK, UTC_MARK, direction, TIME_MARK)
    for mark in (CARD_MARK.encode(), str(UTC_MARK).encode(), TIME_MARK.encode()):
        body = body.replace(mark, b"\0" + mark + b"\0")
    return body.split(b"\0"), ctype


def _body(parts: list[bytes], values: dict[bytes, bytes]) -> bytes:
    return b"".join(values.get(p, p) for p in parts)


class _Stats:
    def __init__(self) -> None:
        self.sent = self.replies = self.granted = self.denied = self.wrong = 0
        self.errors = self.timeouts = 0
        self.error_kinds: set[str] = set()
        self.lat: list[float] = []
        self.lag: list[float] = []


@dataclass
class _Schedule:
    first: float
    """The reader's first scheduled send (monotonic)."""
    interval: float
    measure_from: float
    """Requests scheduled before this are the warm-up (sent, not measured)."""
    stop_at: float


class _Reader:
    """One emulated reader: its requests on its schedule over one keep-alive connection
    (aiohttp, ``limit=1``: a request due while the previous one waits queues behind
    it, as on a real reader)."""

    def __init__(self, index: int, port: int, path: str, stats: _Stats, *, seed: int,
                 people: int) -> None:
        self.index = index
        self.people = people
        self.stats = stats
        self.online = path == "notification"
        name = f"r{index:03d}"
        self.url = (f"http://127.0.0.1:{port}/notification/{name}" if self.online
                    else f"http://127.0.0.1:{port}/keepalive/{name}")
        self.rng = random.Random(seed * 100_003 + index)  # a load mix, not secrets
        self.templates = {d: _template(index, d)[0] for d in ("Entry", "Exit")}
        self.headers = {"Content-Type": _template(index, "Entry")[1]}
        self.session: Any = None

    def next_request(self) -> tuple[bytes | None, bool]:
        """The next body (None: a keepalive) and whether it must be granted."""
        if not self.online:
            return None, True
        draw = self.rng.random()
        if draw < 0.7:
            card, expected = self.rng.randrange(self.people), True
        elif draw < 0.9:
            card, expected = self.rng.randrange(min(REGULARS, self.people)), True
        else:
            card, expected = UNKNOWN_BASE + self.rng.randrange(self.people), False
        direction = "Entry" if self.rng.random() < 0.5 else "Exit"
        now = time.time()
        return _body(self.templates[direction], {
            CARD_MARK.encode(): f"{card:08X}".encode(),
            str(UTC_MARK).encode(): str(int(now)).encode(),
            TIME_MARK.encode(): time.strftime("%d-%m-%Y %H:%M:%S",
                                              time.localtime(now)).encode()}), expected

    async def one(self, scheduled: float, body: bytes | None, *, expected: bool,
                  measured: bool) -> None:
        import aiohttp  # noqa: PLC0415

        from porteiro.exceptions import MalformedInputError  # noqa: PLC0415
        from porteiro.wire.push import parse_online_reply  # noqa: PLC0415

        stats = self.stats
        stats.sent += 1
        if measured:
            stats.lag.append(time.monotonic() - scheduled)
        try:
            if body is None:
                async with self.session.get(self.url) as reply:
                    payload, status = await reply.read(), reply.status
            else:
                async with self.session.post(self.url, data=body,
                                             headers=self.headers) as reply:
                    payload, status = await reply.read(), reply.status
        except TimeoutError:
            stats.timeouts += 1
            self.failed(measured, None)
            return
        except aiohttp.ClientError as exc:
            self.failed(measured, type(exc).__name__)
            return
        done = time.monotonic()
        if status != 200:
            self.failed(measured, str(status))
            return
        if body is not None:
            try:
                granted = parse_online_reply(payload).granted
            except MalformedInputError:
                self.failed(measured, "unreadable reply")
                return
            stats.granted += granted
            stats.denied += not granted
            stats.wrong += granted != expected
        stats.replies += 1
        if measured:
            stats.lat.append(done - scheduled)

    def failed(self, measured: bool, kind: str | None) -> None:  # noqa: FBT001
        """An error (``kind``) or a timeout (None): no answer, an infinite latency."""
        if kind is not None:
            self.stats.errors += 1
            self.stats.error_kinds.add(kind)
        if measured:
            self.stats.lat.append(float("inf"))

    async def run(self, schedule: _Schedule) -> None:
        import aiohttp  # noqa: PLC0415

        pending: set[asyncio.Task[None]] = set()
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            self.session = session
            k = 0
            while (scheduled := schedule.first + k * schedule.interval) < schedule.stop_at:
                k += 1
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body, expected = self.next_request()
                task = asyncio.create_task(self.one(
                    scheduled, body, expected=expected,
                    measured=scheduled >= schedule.measure_from))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)


def _self_check() -> None:
    """A template with its values put in is exactly what format_push_body writes."""
    now = int(time.time())
    stamp = time.strftime("%d-%m-%Y %H:%M:%S", time.localtime(now))
    for direction in ("Entry", "Exit"):
        parts, ctype = _template(3, direction)
        got = _body(parts, {CARD_MARK.encode(): b"0001869F", str(UTC_MARK).encode():
                            str(now).encode(), TIME_MARK.encode(): stamp.encode()})
        if (got, ctype) != _request(3, "0001869F", now, direction, stamp):
            raise RuntimeError("the request template does not match format_push_body")


async def _load_main(args: argparse.Namespace) -> None:
    _self_check()
    readers = max(1, round(args.rate / PER_READER_RATE))
    interval = readers / args.rate  # each reader's period
    stats = _Stats()
    cpu0 = time.process_time()
    start = time.monotonic() + 0.5
    measure_from = start + args.warmup
    stop_at = measure_from + args.seconds
    # Reader i's requests at start + (i + k * readers) / rate: one every 1/rate overall.
    tasks = [asyncio.create_task(_Reader(i, args.port, args.path, stats, seed=args.seed,
                                         people=args.people).run(
        _Schedule(first=start + i / args.rate, interval=interval, measure_from=measure_from,
                  stop_at=stop_at)))
        for i in range(readers)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    lat, lag = stats.lat, stats.lag
    print(json.dumps({
        "readers": readers, "sent": stats.sent, "replies": stats.replies,
        "granted": stats.granted, "denied": stats.denied, "wrong": stats.wrong,
        "errors": stats.errors, "timeouts": stats.timeouts,
        "error_kinds": sorted(stats.error_kinds), "failures": failures[:5],
        "measured": len(lat),
        "rps": sum(1 for x in lat if x != float("inf")) / args.seconds,
        "p50_ms": _pct(lat, 0.5) * 1000, "p99_ms": _pct(lat, 0.99) * 1000,
        "max_ms": max(lat, default=float("nan")) * 1000,
        "lag_p99_ms": _pct(lag, 0.99) * 1000,
        "load_cpu_s": time.process_time() - cpu0,
    }))


# -- the measurements --------------------------------------------------------------------------


class BenchmarkFailedError(Exception):
    """Wrong answers, errors, or decisions answered but not stored."""


def _problems(result: dict[str, Any]) -> list[str]:
    out = []
    if result["failures"]:
        out.append(f"reader failures {result['failures']}")
    if result["wrong"]:
        out.append(f"{result['wrong']} wrong answers")
    return out


def _run_rate(hub: Hub, db: Database, rate: int, seed: int,
              args: argparse.Namespace) -> dict[str, Any]:
    """The keepalive baseline then the decisions at ``rate``; prints them, returns the
    decisions' summary (with ``stored``)."""
    cpu0, wall0 = hub.cpu_s(), time.monotonic()
    base = _load(hub.port, path="keepalive", rate=rate, seconds=args.seconds,
                 warmup=args.warmup, seed=seed, people=args.people)
    base_cpu = (hub.cpu_s() - cpu0) / (time.monotonic() - wall0)
    hist0 = _decision_histogram(hub.port)
    stored0 = db.count(ONLINE_ROWS)
    cpu0, wall0 = hub.cpu_s(), time.monotonic()
    res = _load(hub.port, path="notification", rate=rate, seconds=args.seconds,
                warmup=args.warmup, seed=seed, people=args.people)
    hub_cpu = (hub.cpu_s() - cpu0) / (time.monotonic() - wall0)
    hist = _hist_delta(_decision_histogram(hub.port), hist0)
    time.sleep(0.5)  # a decision answered past its deadline is stored just after
    res["stored"] = db.count(ONLINE_ROWS) - stored0
    problems = _problems(res) + _problems(base)
    if problems:
        raise BenchmarkFailedError(f"{db.kind} at {rate}/s: " + "; ".join(problems))
    mean = hist["sum"] / hist["count"] * 1000 if hist.get("count") else float("nan")
    print(f"  {rate:>5,}/s over {res['readers']} readers, {args.seconds:g} s measured "
          f"({res['rps']:,.0f} replies/s in the window)")
    for label, run, cpu in (("keepalive (baseline)", base, base_cpu),
                            ("online decision     ", res, hub_cpu)):
        print(f"    {label}  p50 {run['p50_ms']:6.1f} ms  p99 {run['p99_ms']:6.1f} ms  max "
              f"{run['max_ms']:6.1f} ms  hub CPU {cpu:4.0%}  errors {run['errors']} "
              f"timeouts {run['timeouts']}"
              + (f" {run['error_kinds']}" if run["error_kinds"] else ""))
    print(f"    vs keepalive: p50 {res['p50_ms'] / base['p50_ms']:.1f} x, p99 "
          f"{res['p99_ms'] / base['p99_ms']:.1f} x;  hub's porteiro_online_decision_seconds "
          f"p50 {_hist_quantile(hist, 0.5)}, p99 {_hist_quantile(hist, 0.99)}, mean "
          f"{mean:.1f} ms")
    print(f"    replies {res['replies']:,} of {res['sent']:,} sent (granted "
          f"{res['granted']:,}, denied {res['denied']:,}, each as expected); decisions "
          f"stored {res['stored']:,}; load generator send lag p99 {res['lag_p99_ms']:.1f} "
          f"ms, CPU {res['load_cpu_s'] / (args.seconds + args.warmup):.0%}")
    return res


def measure(kind: str, args: argparse.Namespace, workdir: Path) -> float:
    """Every rate against one hub on a fresh store; the decision p99 at TARGET_RATE."""
    db = Database(kind, workdir)
    hub = Hub(db, _free_port(), workdir / f"hub-{kind}.log", profile=args.profile)
    readers = max(1, round(max(args.rates) / PER_READER_RATE))
    target_p99 = float("nan")
    replies = sent = 0
    try:
        db.create()
        t0 = time.monotonic()
        db.populate(args.people)
        populated = time.monotonic() - t0
        ready = hub.start(readers)
        print(f"\n[{kind}] {args.people:,} people, one card each, written in {populated:.1f} s;"
              f" hub ready in {ready:.1f} s (RSS {hub.rss_mb():.0f} MB); {readers} online "
              "readers configured")
        for index, rate in enumerate(args.rates):
            res = _run_rate(hub, db, rate, index, args)
            replies += res["replies"]
            sent += res["sent"]
            if rate == TARGET_RATE:
                target_p99 = res["p99_ms"]
        hub.stop()
        if hub.proc is not None and hub.proc.returncode not in (0, -2):
            print(f"  hub exited with {hub.proc.returncode}:\n{hub.tail()}")
        stored = db.count(ONLINE_ROWS)
    except Exception:
        print(hub.tail(), file=sys.stderr)
        raise
    finally:
        hub.stop()
        with contextlib.suppress(Exception):
            db.drop()
    print(f"  after the hub stopped: {stored:,} decisions stored for {replies:,} replies "
          f"({sent:,} requests sent)")
    # Every answered decision is stored, none twice; a request the reader gave up on
    # may still have been decided and stored.
    if not replies <= stored <= sent:
        raise BenchmarkFailedError(f"{kind}: {stored:,} decisions stored for {replies:,} "
                                   f"replies and {sent:,} requests")
    return target_p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first")
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run (10,000 people, 2 s per rate)")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--rates", default=",".join(map(str, RATES)),
                        help="requests/s, comma-separated")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the hub under cProfile, writing this file (one database)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    # Internal roles (each runs as its own process).
    parser.add_argument("--role", choices=["main", "load"], default="main",
                        help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="notification", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=100.0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    if args.role == "load":
        import uvloop  # noqa: PLC0415

        uvloop.run(_load_main(args))
        return 0
    if args.people is None:
        args.people = 10_000 if args.quick else PEOPLE
    args.rates = [int(r) for r in args.rates.split(",")]
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.profile is not None and len(kinds) > 1:
        parser.error("--profile needs one --database")
    print(f"Modo Online decision latency: {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}; open loop, "
          f"{PER_READER_RATE:g} requests/s per reader, {args.seconds:g} s measured per rate "
          f"after {args.warmup:g} s warm-up; latency from the scheduled send time")
    workdir = Path(tempfile.mkdtemp(prefix="porteiro-online-"))
    try:
        verdicts = [(kind, measure(kind, args, workdir)) for kind in kinds]
    except BenchmarkFailedError as exc:
        print(f"\nFAILED: {exc}")
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = True
    print()
    for kind, p99 in verdicts:
        if math.isnan(p99):  # TARGET_RATE not among --rates
            print(f"verdict [{kind}]: not measured ({TARGET_RATE}/s is not in --rates)")
            continue
        met = p99 < TARGET_P99_MS
        ok = ok and met
        print(f"verdict [{kind}]: decision p99 at {TARGET_RATE}/s {p99:.1f} ms (target < "
              f"{TARGET_P99_MS:.0f} ms on 2 cores: {'met' if met else 'MISSED'})")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
