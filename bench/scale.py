"""Scale-out: emulated readers of every mode against TWO hub instances on one PostgreSQL.

Every party is its own process: two ``porteiro serve`` instances (own ``instance_id``,
own port, the same ``[[devices]]`` list, ``lease_seconds = 6``) on one fresh database
``porteiro_scale_<pid>_<run>`` (created and dropped here), and one emulator process
(this file, ``--role emu``: the approach of ``bench/emulator.py``, every device served
by :class:`porteiro.emulator.EmulatorHost`) hosting the readers:

* push readers (DeviceMode=1), half of them uploading to each instance, as a load
  balancer would spread them;
* attach (stand-alone) readers, each collected by exactly one instance (leases);
* Modo Online readers (DeviceMode=2), also spread over both instances.

Measured, after every attach collector is connected:

* sustained events/s stored (rows counted in the database over the window) against
  the events/s the readers generated;
* p99 acknowledgement latency of the pushes: the hubs' ``porteiro_push_ack_seconds``
  (window delta of both instances, interpolated in its buckets) and, from the readers'
  side, the time of every successful upload POST in the emulator process;
* exactly one collector per attach reader: every ``collector:<name>`` lease exists
  once, with a live owner, and the two hubs' ``/api/devices`` show each reader's
  collector on that owner only, connected;
* takeover: the instance holding the most collector leases is SIGKILLed; the push and
  online readers that pointed at it are re-pointed at the survivor through the
  device's own ``setConfig`` field (``PictureHttpUpload.UploadServerList[0].Port``, what
  a load balancer does); the time until every ``collector:*`` lease is the survivor's
  and the survivor shows every collector connected;
* nothing lost: traffic stops, every reader's upload queue drains, the collectors
  backfill; then the events generated are compared with the rows stored, per mode
  (attach: the access events, which the reader's record log keeps; door and alarm
  events emitted while no collector was connected are not in that log, on a real reader
  as here, and are reported apart).

Traffic: the realistic mix of :mod:`porteiro.emulator.traffic` (cards, faces, denials,
door contacts, exit buttons, alarms), each reader acting at most once per second of its
clock so that no two of its events are identical (see :func:`_fleet_traffic`): a
missing event is then a loss, not the documented limit on identical events.

The baseline, measured in the same run: the same readers and the same load against ONE
instance; printed as ratios (events/s and p99 of two instances against one).
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
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from _proc import BenchDatabase, HubProcess
from _proc import free_base as _free_base
from _proc import free_port as _free_port
from _proc import kill as _kill
from _proc import pct as _pct
from _proc import proc_kib as _proc_kib

LEASE_SECONDS = 6.0
PASSWORD = "admin123"  # the emulator's documented default login


# -- the emulator process (--role emu) ----------------------------------------------------


def _kind_of(index: int, push: int, attach: int) -> str:
    if index < push:
        return "push"
    return "attach" if index < push + attach else "online"


async def _emu_main(args: argparse.Namespace) -> None:  # noqa: PLR0915
    """Host the readers; obey JSON commands, one per stdin line, one JSON reply each."""
    from porteiro.emulator import EmulatedDevice, EmulatorHost, make_state  # noqa: PLC0415
    from porteiro.emulator import uplink as uplink_mod  # noqa: PLC0415

    kinds = ("push", "attach", "online")
    counts = {k: {"events": 0, "access": 0} for k in kinds}
    codes: dict[str, dict[str, int]] = {k: {} for k in kinds}
    lat: dict[str, list[float]] = {k: [] for k in kinds}

    class Counted(EmulatedDevice):
        kind = "attach"

        def emit(self, event: Any, *, upload: bool = True) -> Any:
            tally = counts[self.kind]
            tally["events"] += 1
            per_code = codes[self.kind]
            per_code[event.code] = per_code.get(event.code, 0) + 1
            if event.code == "AccessControl":
                tally["access"] += 1
            return super().emit(event, upload=upload)

    original_post = uplink_mod.Uplink._post  # noqa: SLF001

    async def timed_post(self: Any, item: Any, timeout: float) -> tuple[int, bytes]:
        started = time.monotonic()
        status, body = await original_post(self, item, timeout)
        if status == 200:
            lat[self.device.kind].append(time.monotonic() - started)
        return status, body

    uplink_mod.Uplink._post = timed_post  # type: ignore[method-assign]  # noqa: SLF001

    hub_ports = [int(p) for p in args.hub_ports.split(",")]
    total = args.push + args.attach + args.online_devices
    host = EmulatorHost()
    spread = 0
    for index in range(total):
        kind = _kind_of(index, args.push, args.attach)
        state = make_state(index)
        if kind != "attach":
            state.config["Intelbras_ModeCfg"]["DeviceMode"] = 1 if kind == "push" else 2
            if kind == "online":
                state.config["Intelbras_ModeCfg"]["KeepAlive"]["Enable"] = True
            upload = state.config["PictureHttpUpload"]
            upload["Enable"] = True
            upload["UploadServerList"][0].update({
                "Address": "127.0.0.1", "Port": hub_ports[spread % len(hub_ports)],
                "Uploadpath": "/notification", "HttpsEnable": False})
            spread += 1
        device = Counted(state)
        device.kind = kind
        await host.add(device, args.base_port + index)

    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line)
        loop.call_soon_threadsafe(commands.put_nowait, '{"cmd": "quit"}')

    threading.Thread(target=read_stdin, daemon=True).start()
    traffic: asyncio.Task[int] | None = None

    def reply(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    reply({"ready": total})
    try:
        while True:
            command = json.loads(await commands.get())
            cmd = command["cmd"]
            if cmd == "traffic":
                traffic = asyncio.create_task(_fleet_traffic(host.devices,
                                                             rate=command["rate"], seed=1))
                reply({"ok": True})
            elif cmd == "stop":
                if traffic is not None:
                    traffic.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await traffic
                    traffic = None
                reply({"ok": True})
            elif cmd == "repoint":
                moved = 0
                for device in host.devices:
                    server = device.state.config["PictureHttpUpload"]["UploadServerList"][0]
                    if device.kind != "attach" and int(server["Port"]) == command["from"]:
                        server["Port"] = command["to"]
                        if device.uplink is not None:
                            device.uplink.notify_config()
                        moved += 1
                reply({"moved": moved})
            elif cmd == "stats":
                out: dict[str, Any] = {}
                for kind in kinds:
                    members = [d for d in host.devices if d.kind == kind]
                    samples = lat[kind]
                    out[kind] = {
                        **counts[kind], "codes": codes[kind],
                        "pending": sum(len(d.state.pending_push) for d in members),
                        "delivered": sum(d.uplink.delivered for d in members if d.uplink),
                        "failures": sum(d.uplink.failures for d in members if d.uplink),
                        "posts": len(samples), "p50_ms": _pct(samples, 0.5) * 1000,
                        "p99_ms": _pct(samples, 0.99) * 1000}
                    if command.get("reset"):
                        samples.clear()
                reply(out)
            elif cmd == "quit":
                reply({"ok": True})
                return
    finally:
        if traffic is not None:
            traffic.cancel()
        await host.close()


async def _fleet_traffic(devices: list[Any], *, rate: float, seed: int) -> None:
    """:func:`porteiro.emulator.traffic.run_fleet_traffic`'s mix and pace (``rate``
    actions/s on each reader, from one task), with every event told apart from every
    other: a reader never acts twice in one second of its clock.

    Two identical events of one reader in one second (one card at one door, two presses
    of one exit button) sent in separate POSTs are taken for a resend and stored once
    (docs/reliability.md, "Known limits"). The fleet loop gives each reader an action
    about every ``1 / rate`` s, but when it stalls on a loaded box it catches up in a
    burst, and a reader may then act twice in one second (3 events in 37,948 were
    merged so in one run). Such an action waits for the reader's next second instead,
    so an event missing at the end is a real loss, never that documented limit. (As
    ``faults/matrix.py`` gives every presentation a card number of its own; here the
    realistic mix is kept: faces, exit buttons, door contacts, alarms.) ``rate`` above
    1 is therefore at most 1 per reader.
    """
    from porteiro.emulator.traffic import populate, step  # noqa: PLC0415

    rng = random.Random(seed)  # simulation, not cryptography
    for device in devices:
        populate(device)
    total_rate = rate * len(devices)
    last_second: dict[int, int] = {}
    waiting: list[int] = []
    start = time.monotonic()
    done = 0
    while True:
        due = int((time.monotonic() - start) * total_rate) + 1
        queue, waiting = waiting + [i % len(devices) for i in range(done, due)], []
        done = max(done, due)
        for index in queue:
            device = devices[index]
            second = int(device.now())
            if last_second.get(index) == second:
                waiting.append(index)  # its next second
                continue
            last_second[index] = second
            step(device, rng)
        await asyncio.sleep(0.02)


class Emulator:
    """The emulator process and its command pipe."""

    def __init__(self, *, push: int, attach: int, online: int, hub_ports: list[int],
                 log: Path) -> None:
        self.total = push + attach + online
        self.base = _free_base(self.total + 1)
        with log.open("wb") as err:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, __file__, "--role", "emu", "--base-port", str(self.base),
                 "--push", str(push), "--attach", str(attach),
                 "--online-devices", str(online),
                 "--hub-ports", ",".join(map(str, hub_ports))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        self.log = log
        started = time.monotonic()
        self.ready = self._read(timeout=300)
        self.startup_s = time.monotonic() - started

    def _read(self, timeout: float = 120) -> dict[str, Any]:
        stdout: IO[bytes] | None = self.proc.stdout
        assert stdout is not None  # noqa: S101
        box: list[bytes] = []
        thread = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        thread.start()
        thread.join(timeout)
        if not box or not box[0]:
            raise RuntimeError(f"emulator did not answer:\n{_tail(self.log)}")
        return dict(json.loads(box[0]))

    def send(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None  # noqa: S101
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.send(cmd="quit")
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill(self.proc)


# -- the database and the hubs --------------------------------------------------------------


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Database(BenchDatabase):
    """A fresh PostgreSQL database per run (created and dropped here), shared by the
    run's hubs."""

    def __init__(self, workdir: Path, run: str) -> None:
        super().__init__("postgresql", workdir / f"db-{run}", f"porteiro_scale_{os.getpid()}_{run}")

    def stored_by_mode(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {
            k: {"events": 0, "access": 0} for k in ("push", "attach", "online")}
        for mode, events, access in self.rows(
                "SELECT d.mode, count(*), count(*) FILTER (WHERE e.code = 'AccessControl') "
                "FROM events e JOIN devices d ON d.id = e.device_id GROUP BY d.mode"):
            out[str(mode)] = {"events": int(events), "access": int(access)}
        for mode, code, events in self.rows(
                "SELECT d.mode, e.code, count(*) FROM events e JOIN devices d "
                "ON d.id = e.device_id GROUP BY d.mode, e.code"):
            out[str(mode)].setdefault("codes", {})[str(code)] = int(events)
        return out

    def leases(self) -> list[tuple[str, str, float]]:
        return [(str(n), str(o), float(x)) for n, o, x in self.rows(
            "SELECT name, owner, expires_at FROM leases WHERE name LIKE 'collector:%'")]


def _devices_toml(push: int, attach: int, online: int, base: int) -> str:
    from porteiro.emulator import make_state  # noqa: PLC0415

    out = []
    for index in range(push + attach + online):
        kind = _kind_of(index, push, attach)
        mac = make_state(index).identity.mac
        entry = f'[[devices]]\nname = "{kind}-{index:05d}"\nhost = "127.0.0.1"\nmode = "{kind}"\n'
        if kind == "attach":
            entry += f'port = {base + index}\npassword = "{PASSWORD}"\n'
        else:
            entry += f'mac = "{mac}"\n'
        out.append(entry)
    return "\n".join(out)


class Hub(HubProcess):
    """One ``porteiro serve`` instance (``name`` is its ``instance_id``)."""

    start_timeout = 180.0
    poll = 0.2

    def __init__(self, name: str, port: int, workdir: Path) -> None:
        super().__init__(port, workdir / f"{name}.log")
        self.name = name
        self.workdir = workdir

    def serve(self, db: Database, devices: str) -> None:
        """Write its configuration and spawn it (:meth:`wait_up` waits for it)."""
        data = self.workdir / self.name
        data.mkdir(parents=True, exist_ok=True)
        config = data / "porteiro.toml"
        config.write_text(
            f'[hub]\nlisten = "127.0.0.1:{self.port}"\ninstance_id = "{self.name}"\n'
            f"lease_seconds = {LEASE_SECONDS}\nflush_interval = 1.0\n"
            f'data_dir = "{data}"\ndatabase_url = "{db.url()}"\n\n'
            f"[people]\nauto_sync = false\n\n{devices}\n", encoding="utf-8")
        self.spawn(config)

    def collectors(self) -> dict[str, bool]:
        """Attach reader -> connected, for the collectors this instance runs."""
        devices = json.loads(self.get("/api/devices"))["devices"]
        return {d["name"]: bool(d["collector"]["connected"]) for d in devices
                if d.get("collector") is not None}

    def ack_buckets(self) -> dict[float, float]:
        out: dict[float, float] = {}
        with contextlib.suppress(OSError):
            for line in self.get("/metrics").decode(errors="replace").splitlines():
                if line.startswith("porteiro_push_ack_seconds_bucket"):
                    le = line.split('le="', 1)[1].split('"', 1)[0]
                    out[float(le)] = float(line.rsplit(" ", 1)[1])
        return out


def _quantile(buckets: dict[float, float], q: float) -> float:
    """histogram_quantile (linear within the bucket), in ms; nan without samples."""
    total = buckets.get(float("inf"), 0.0)
    if total <= 0:
        return float("nan")
    rank = q * total
    low_le, low_count = 0.0, 0.0
    for le in sorted(buckets):
        count = buckets[le]
        if count >= rank:
            if le == float("inf"):
                return low_le * 1000
            share = (rank - low_count) / (count - low_count) if count > low_count else 1.0
            return (low_le + (le - low_le) * share) * 1000
        low_le, low_count = le, count
    return float("nan")


def _merged(before: list[dict[float, float]], after: list[dict[float, float]]
            ) -> dict[float, float]:
    out: dict[float, float] = {}
    for old, new in zip(before, after, strict=True):
        for le, count in new.items():
            out[le] = out.get(le, 0.0) + count - old.get(le, 0.0)
    return out


# -- one run ---------------------------------------------------------------------------------


def _sum(stats: dict[str, Any], key: str) -> int:
    return sum(int(stats[k][key]) for k in ("push", "attach", "online"))


def run(instances: int, args: argparse.Namespace, workdir: Path, *, kill: bool
        ) -> dict[str, Any]:
    """One run: ``instances`` hubs, the emulated readers, the measurements."""
    label = f"{instances}x"
    db = Database(workdir, label)
    hubs = [Hub(f"hub-{chr(97 + i)}", _free_port(), workdir) for i in range(instances)]
    result: dict[str, Any] = {"instances": instances}
    emulator: Emulator | None = None
    db.create()
    try:
        emulator = Emulator(push=args.push, attach=args.attach, online=args.online,
                            hub_ports=[h.port for h in hubs], log=workdir / f"emu-{label}.log")
        devices = _devices_toml(args.push, args.attach, args.online, emulator.base)
        started = time.monotonic()
        # One after the other: instances started together on a fresh database race to
        # create its schema and one of them fails (see docs/scaling.md, "Measured").
        # The first instance up takes every collector lease nobody holds.
        for hub in hubs:
            hub.serve(db, devices)
            hub.wait_up()
        # Every attach reader collected (and connected) before the traffic starts.
        deadline = time.monotonic() + 300
        connected = 0
        while time.monotonic() < deadline:
            connected = sum(sum(h.collectors().values()) for h in hubs)
            if connected >= args.attach:
                break
            time.sleep(1.0)
        result["connect_s"] = time.monotonic() - started
        result["connected"] = connected
        result["emulator_up_s"] = emulator.startup_s
        emulator.send(cmd="traffic", rate=args.rate)
        time.sleep(args.warmup)

        # -- the measured window
        emulator.send(cmd="stats", reset=True)
        generated0 = _sum(emulator.send(cmd="stats"), "events")
        before = [h.ack_buckets() for h in hubs]
        cpu0 = {h.name: h.cpu_s() for h in hubs if h.proc}
        stored0, t0 = db.count(), time.monotonic()
        time.sleep(args.seconds)
        stored1, t1 = db.count(), time.monotonic()
        stats = emulator.send(cmd="stats", reset=True)
        after = [h.ack_buckets() for h in hubs]
        window = t1 - t0
        result["eps"] = (stored1 - stored0) / window
        result["offered_eps"] = (_sum(stats, "events") - generated0) / window
        hist = _merged(before, after)
        result["hub_p50_ms"] = _quantile(hist, 0.5)
        result["hub_p99_ms"] = _quantile(hist, 0.99)
        result["acks"] = hist.get(float("inf"), 0.0)
        result["push_p50_ms"] = stats["push"]["p50_ms"]
        result["push_p99_ms"] = stats["push"]["p99_ms"]
        result["online_p99_ms"] = stats["online"]["p99_ms"]
        result["hub_cpu"] = {h.name: (h.cpu_s() - cpu0[h.name]) / window
                             for h in hubs if h.proc}
        result["hub_rss_mb"] = {h.name: h.rss_mb() for h in hubs if h.proc}
        result["emulator_rss_mb"] = _proc_kib(emulator.proc.pid, "VmRSS") / 1024
        result["connections"] = db.count(  # the hubs' (this query's own not counted)
            "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()")

        # -- exactly one collector per attach reader
        result["ownership"] = _ownership(db, hubs, args.attach)

        if kill:
            result["takeover"] = _takeover(db, hubs, emulator, args)

        # -- nothing lost: stop the traffic, let every queue drain, compare
        emulator.send(cmd="stop")
        result["drain"] = _drain(db, emulator, hubs)
        table, database, rows = db.rows(
            "SELECT pg_total_relation_size('events'), pg_database_size(current_database()),"
            " count(*) FROM events")[0]
        result["size"] = {"events_bytes": int(table), "database_bytes": int(database),
                          "rows": int(rows)}
    except Exception:
        for hub in hubs:
            print(f"--- {hub.name}:\n{hub.tail()}", file=sys.stderr)
        if emulator is not None:
            print(f"--- emulator:\n{_tail(emulator.log)}", file=sys.stderr)
        raise
    finally:
        for hub in hubs:
            hub.stop()
        if emulator is not None:
            emulator.stop()
        with contextlib.suppress(Exception):
            db.drop()
        result["log_notes"] = _log_notes(hubs)
        _keep_logs(args.logs, label, [h.log for h in hubs] + [workdir / f"emu-{label}.log"])
    return result


def _keep_logs(target: str | None, label: str, logs: list[Path]) -> None:
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for log in logs:
        with contextlib.suppress(OSError):
            shutil.copy(log, Path(target) / f"{label}-{log.name}")


LOG_NOTES = {
    "decided alone": "decided alone; both are stored",
    "answered before stored": "answered before it was stored",
    "tracebacks": "Traceback (most recent call last)",
}
"""Hub log lines counted per run: a Modo Online reader's own record whose verdict
differs from the hub's (hub/online.py keeps both), replies that left before their
commit, and any traceback."""


def _log_notes(hubs: list[Hub]) -> dict[str, int]:
    counts = dict.fromkeys(LOG_NOTES, 0)
    for hub in hubs:
        try:
            text = hub.log.read_text(errors="replace")
        except OSError:
            continue
        for name, needle in LOG_NOTES.items():
            counts[name] += text.count(needle)
    return counts


def _ownership(db: Database, hubs: list[Hub], attach: int) -> dict[str, Any]:
    now = time.time()
    leases = db.leases()
    owners: dict[str, int] = {}
    for _, owner, _ in leases:
        owners[owner] = owners.get(owner, 0) + 1
    held = {name.split(":", 1)[1]: owner for name, owner, _ in leases}
    views = {h.name: h.collectors() for h in hubs if h.alive()}
    problems = []
    if len(held) != attach:
        problems.append(f"{len(held)} collector leases for {attach} attach readers")
    expired = sum(1 for _, _, until in leases if until < now)
    if expired:
        problems.append(f"{expired} collector lease(s) expired")
    double = 0
    mismatched = 0
    disconnected = 0
    for reader, owner in held.items():
        running = [name for name, view in views.items() if reader in view]
        if len(running) > 1:
            double += 1
        elif running != [owner]:
            mismatched += 1
        elif not views[owner][reader]:
            disconnected += 1
    for count, text in ((double, "collected by two instances"),
                        (mismatched, "collected by an instance that does not hold the lease"),
                        (disconnected, "with the collector not connected")):
        if count:
            problems.append(f"{count} reader(s) {text}")
    return {"owners": owners, "problems": problems}


def _takeover(db: Database, hubs: list[Hub], emulator: Emulator, args: argparse.Namespace
              ) -> dict[str, Any]:
    """SIGKILL the instance holding the most collector leases; time the takeover."""
    owners: dict[str, int] = {}
    for _, owner, _ in db.leases():
        owners[owner] = owners.get(owner, 0) + 1
    victim = max(hubs, key=lambda h: (owners.get(h.name, 0), h.name))
    survivor = next(h for h in hubs if h is not victim)
    killed_at = time.monotonic()
    victim.kill()
    moved = emulator.send(cmd="repoint", **{"from": victim.port, "to": survivor.port})["moved"]
    leases_s = connected_s = None
    deadline = killed_at + 6 * LEASE_SECONDS + 120
    while time.monotonic() < deadline and connected_s is None:
        now = time.time()
        if leases_s is None:
            leases = db.leases()
            if len(leases) == args.attach and all(o == survivor.name and x > now
                                                  for _, o, x in leases):
                leases_s = time.monotonic() - killed_at
        if leases_s is not None:
            view = survivor.collectors()
            if sum(view.values()) >= args.attach:
                connected_s = time.monotonic() - killed_at
                break
        time.sleep(0.2)
    return {"victim": victim.name, "survivor": survivor.name,
            "victim_collectors": owners.get(victim.name, 0), "repointed": moved,
            "leases_s": leases_s, "connected_s": connected_s,
            "ownership": _ownership(db, [survivor], args.attach)}


def _drain(db: Database, emulator: Emulator, hubs: list[Hub]) -> dict[str, Any]:
    """Wait for the upload queues to empty and the store to stop growing."""
    started = time.monotonic()
    stable_since, last = time.monotonic(), -1
    stats: dict[str, Any] = {}
    while time.monotonic() - started < 300:
        stats = emulator.send(cmd="stats")
        count = db.count()
        pending = stats["push"]["pending"] + stats["online"]["pending"]
        if count != last or pending:
            stable_since, last = time.monotonic(), count
        elif time.monotonic() - stable_since >= 4.0:
            break
        time.sleep(0.5)
    stored = db.stored_by_mode()
    kept_apart = db.count(
        "SELECT count(*) FROM events a JOIN events b ON b.device_id = a.device_id "
        "AND b.ts = a.ts AND b.code = 'AccessControl' AND b.source <> 'online' "
        "AND b.door IS NOT DISTINCT FROM a.door AND b.direction IS NOT DISTINCT FROM "
        "a.direction AND coalesce(b.card_no, '') = coalesce(a.card_no, '') "
        "AND b.granted IS DISTINCT FROM a.granted "
        "WHERE a.code = 'AccessControl' AND a.source = 'online'")
    alive = [h for h in hubs if h.alive()]
    return {"generated": {k: stats[k] for k in ("push", "attach", "online")},
            "stored": stored, "kept_apart": kept_apart, "drain_s": time.monotonic() - started,
            "alive": [h.name for h in alive]}


# -- report ----------------------------------------------------------------------------------


def _losses(drain: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(lines, problems): generated against stored, per mode and per event code (a loss
    in one code cannot hide behind a duplicate in another)."""
    lines, problems = [], []
    gen, stored = drain["generated"], drain["stored"]
    for kind in ("push", "online"):
        g, s = gen[kind]["events"], stored[kind]["events"]
        lines.append(f"  {kind:6}: generated {g:,}, stored {s:,}, left in the readers' "
                     f"upload queues {gen[kind]['pending']:,}")
        codes_g, codes_s = gen[kind]["codes"], stored[kind].get("codes", {})
        diff = {code: (codes_g.get(code, 0), codes_s.get(code, 0))
                for code in sorted(set(codes_g) | set(codes_s))
                if codes_g.get(code, 0) != codes_s.get(code, 0)}
        if diff:
            lines.append(f"          by code, generated/stored: {diff}")
        # A pushed _Button_ event has no time of its own: the hub keys it by the second
        # it arrived (src/porteiro/store/identity.py, live=True), so two presses of one
        # door that arrive in the same second (a reader's backlog draining) are merged.
        # Counted apart: a limit of the event identity, not a loss of the scale-out.
        merged = max(0, codes_g.get("_Button_", 0) - codes_s.get("_Button_", 0))
        if merged:
            lines.append(f"          {merged:,} _Button_ event(s) merged by the store's event "
                         "identity (no time of their own; counted apart)")
        lost = sum(max(0, n - codes_s.get(code, 0)) for code, n in codes_g.items()
                   if code != "_Button_")
        extra = {code: max(0, n - codes_g.get(code, 0)) for code, n in codes_s.items()}
        apart = drain.get("kept_apart", 0) if kind == "online" else 0
        if apart:
            # hub/online.py: the hub decided a presentation, its answer did not reach the
            # reader, which decided otherwise and sent its own record: what the hub
            # decided and what the door did are both kept, with a warning in the log.
            lines.append(f"          {apart:,} presentation(s) stored as two access events "
                         "by design (the hub's decision and the reader's own, different "
                         "verdict: the answer did not reach the reader in time)")
            extra["AccessControl"] = max(0, extra.get("AccessControl", 0) - apart)
        if lost:
            problems.append(f"{kind}: {lost:,} event(s) lost")
        if sum(extra.values()):
            problems.append(f"{kind}: {sum(extra.values()):,} event(s) stored twice")
    g, s = gen["attach"]["access"], stored["attach"]["access"]
    gap = gen["attach"]["events"] - gen["attach"]["access"] - (
        stored["attach"]["events"] - stored["attach"]["access"])
    lines.append(f"  attach: access events generated {g:,}, stored {s:,}; other events "
                 f"generated {gen['attach']['events'] - g:,}, of which {gap:,} not stored "
                 "(emitted while no collector was connected; not in the record log)")
    if s != g:
        problems.append(f"attach: {abs(g - s):,} access event(s) "
                        f"{'lost' if s < g else 'stored twice'}")
    return lines, problems


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


def report(one: dict[str, Any] | None, two: dict[str, Any], args: argparse.Namespace
           ) -> bool:
    ok = True
    for res in (one, two):
        if res is None:
            continue
        n = res["instances"]
        print(f"\n[{n} instance{'s' if n > 1 else ''}] {res['connected']:,} of {args.attach:,}"
              f" attach collectors connected {res['connect_s']:.1f} s after the hub start; "
              f"emulator up in {res['emulator_up_s']:.1f} s, RSS "
              f"{res['emulator_rss_mb']:.0f} MB")
        print(f"  stored {res['eps']:,.0f} events/s over {args.seconds:g} s (readers generated "
              f"{res['offered_eps']:,.0f}/s)")
        print(f"  push ack: hubs' porteiro_push_ack_seconds p50 {res['hub_p50_ms']:.1f} ms, "
              f"p99 {res['hub_p99_ms']:.1f} ms ({res['acks']:,.0f} acks); readers' side p50 "
              f"{res['push_p50_ms']:.1f} ms, p99 {res['push_p99_ms']:.1f} ms; Modo Online "
              f"decision p99 (readers' side) {res['online_p99_ms']:.1f} ms")
        cpu = ", ".join(f"{k} {v * 100:.0f}% CPU {res['hub_rss_mb'][k]:.0f} MB"
                        for k, v in res["hub_cpu"].items())
        print(f"  hubs: {cpu}; PostgreSQL connections of the hubs "
              f"{res.get('connections', 0):,}")
        own = res["ownership"]
        owners = ", ".join(f"{k} {v}" for k, v in sorted(own["owners"].items()))
        print(f"  collector leases: {owners}; exactly one collector per attach reader: "
              f"{'yes' if not own['problems'] else 'NO: ' + '; '.join(own['problems'])}")
        ok = ok and not own["problems"] and res["connected"] >= args.attach
        take = res.get("takeover")
        if take:
            print(f"  SIGKILL {take['victim']} (held {take['victim_collectors']} collector "
                  f"leases); {take['repointed']} push/online readers re-pointed at "
                  f"{take['survivor']}")
            leases_s = "NOT within the deadline" if take["leases_s"] is None \
                else f"{take['leases_s']:.1f} s"
            conn_s = "NOT within the deadline" if take["connected_s"] is None \
                else f"{take['connected_s']:.1f} s"
            print(f"  takeover: every collector lease {take['survivor']}'s after {leases_s};"
                  f" every collector connected on it after {conn_s} (lease_seconds = "
                  f"{LEASE_SECONDS:g})")
            tp = take["ownership"]["problems"]
            print(f"  after the takeover, exactly one collector per attach reader: "
                  f"{'yes' if not tp else 'NO: ' + '; '.join(tp)}")
            ok = ok and take["connected_s"] is not None and not tp
        lines, problems = _losses(res["drain"])
        print(f"  after the traffic stopped (drained in {res['drain']['drain_s']:.1f} s):")
        print("\n".join(lines))
        print(f"  nothing lost: {'yes' if not problems else 'NO: ' + '; '.join(problems)}")
        size = res.get("size")
        if size and size["rows"]:
            print(f"  store: {size['rows']:,} events; table events with its indexes "
                  f"{size['events_bytes'] / size['rows']:,.0f} bytes/event, the whole "
                  f"database {size['database_bytes'] / size['rows']:,.0f} bytes/event")
        notes = res.get("log_notes", {})
        print("  hub logs: " + ", ".join(f"{LOG_NOTES[k]!r} x {v:,}" for k, v in notes.items()))
        ok = ok and not problems
    if one is None:
        return ok
    print(f"\ntwo instances vs one (same readers, same load, same run): events/s stored "
          f"{_ratio(two['eps'], one['eps'])}, hub p99 ack "
          f"{_ratio(two['hub_p99_ms'], one['hub_p99_ms'])}, readers' p99 ack "
          f"{_ratio(two['push_p99_ms'], one['push_p99_ms'])}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=None,
                        help="readers in all (default 2,000; 200 with --quick): 70%% push, "
                             "25%% attach, 5%% Modo Online")
    parser.add_argument("--quick", action="store_true", help="200 readers, short windows")
    parser.add_argument("--rate", type=float, default=None,
                        help="actions/s per reader (default and most 1.0: a reader acts at "
                             "most once per second, so every event can be told apart)")
    parser.add_argument("--seconds", type=float, default=None, help="measured window")
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-instance run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a check fails")
    parser.add_argument("--logs", default=None,
                        help="copy the hubs' and the emulator's logs into this directory")
    # Internal: the emulator process.
    parser.add_argument("--role", choices=["main", "emu"], default="main",
                        help=argparse.SUPPRESS)
    parser.add_argument("--base-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--push", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--attach", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--online-devices", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--hub-ports", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "emu":
        try:
            import uvloop  # noqa: PLC0415

            uvloop.run(_emu_main(args))
        except ImportError:
            asyncio.run(_emu_main(args))
        return 0
    total = args.devices or (200 if args.quick else 2000)
    args.push = round(total * 0.70)
    args.attach = round(total * 0.25)
    args.online = total - args.push - args.attach
    args.rate = args.rate if args.rate is not None else 1.0
    if not 0 < args.rate <= 1:
        parser.error("--rate must be above 0 and at most 1 (see _fleet_traffic)")
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (3.0 if args.quick else 5.0)
    print(f"scale-out benchmark: {total:,} readers ({args.push:,} push, {args.attach:,} attach,"
          f" {args.online:,} Modo Online) at {args.rate:g} actions/s each; PostgreSQL; "
          f"lease_seconds = {LEASE_SECONDS:g}")
    print(f"  {os.cpu_count()} cores shared by PostgreSQL, the hubs and the emulator process "
          "(absolute figures are modest; the checks and the ratios are the point)")
    workdir = Path(tempfile.mkdtemp(prefix="porteiro-scale-"))
    try:
        one = run(1, args, workdir, kill=False) if not args.no_baseline else None
        two = run(2, args, workdir, kill=True)
        ok = report(one, two, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nall checks {'passed' if ok else 'FAILED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
