"""The fault-injection matrix: real processes over loopback, real faults, every event counted.

Each cell is one fault against one device mode (push, attach, online), bounded in time:

* the hub is ``python -m porteiro serve`` (a child process, SIGKILLed and restarted
  where the fault says so) on SQLite in a temporary directory or on a PostgreSQL
  database created and dropped here;
* the readers are emulated devices (:class:`porteiro.emulator.EmulatorHost`) in this
  process, under steady generated traffic in which every presentation has a card number
  of its own, so each generated event is identifiable in the store and in the sinks;
* the sinks are a webhook receiver (an aiohttp server in this process, which can be
  taken down and brought back on the same port) and, when the local broker answers at
  127.0.0.1:1883, MQTT through a TCP relay that can be cut (the broker itself is never
  touched); PostgreSQL can also be reached through such a relay (the ``pg-down`` fault),
  or the local PostgreSQL cluster itself stopped and started again (``pg-restart``: needs
  root and ``pg_ctlcluster``, skipped otherwise; never in the test suite, which needs
  that server).

After the fault, the traffic stops, everything drains, and the cell compares what the
devices generated with what the store holds and what each sink received: ``lost``
(generated, not stored), ``dup`` (stored more than once), sink losses and per-device
order in each sink (the first arrival of each event, in event id order). A sink may
deliver an event twice (at least once); that is counted, not failed.

    python faults/matrix.py                  # every cell on SQLite (+ PostgreSQL cells)
    python faults/matrix.py --quick          # shorter phases
    python faults/matrix.py --only hub-kill  # cells whose fault matches
    python faults/matrix.py --db postgresql  # the device cells on PostgreSQL too

Exit status: 0 when every cell passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import contextlib
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from porteiro.access import Presentation
from porteiro.emulator import EmulatorHost
from porteiro.store import Store
from porteiro.wire.push import format_push_body
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from porteiro.emulator import EmulatedDevice

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_HOST = ("127.0.0.1", 5432)
BROKER = ("127.0.0.1", 1883)
SECRET = "faults-secret-0123"  # noqa: S105  # a test sink's HMAC key


class CellFailedError(Exception):
    """A cell could not run to its end (a timeout, a hub that would not start)."""


# -- small helpers --------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(address: tuple[str, int]) -> bool:
    """Whether something accepts TCP connections at ``address``."""
    with contextlib.suppress(OSError), socket.create_connection(address, 1):
        return True
    return False


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for ``condition`` (polled), or raise :class:`CellFailedError`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise CellFailedError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


async def until_async(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Like :func:`until` for a blocking condition (run in a thread)."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise CellFailedError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.2)


# -- the database ---------------------------------------------------------------------------


class Database:
    """SQLite in the cell's directory, or a fresh PostgreSQL database (dropped after)."""

    def __init__(self, kind: str, workdir: Path, name: str, *, via_port: int | None = None
                 ) -> None:
        self.kind = kind
        self.data = workdir / "data"
        self.pg_name = f"porteiro_faults_{os.getpid()}_{name.replace('-', '_')}"
        self.via_port = via_port  # the hub reaches PostgreSQL through a relay on this port

    @property
    def url(self) -> str:
        """The URL this process reads the store with (never through a relay)."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.data / 'porteiro.db'}"
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.pg_name}"

    def toml(self) -> str:
        text = f'data_dir = "{self.data}"\n'
        if self.kind == "postgresql":
            port = self.via_port or PG_HOST[1]
            text += (f'database_url = "postgresql+psycopg://postgres@127.0.0.1:{port}/'
                     f'{self.pg_name}?connect_timeout=2"\n')
        return text

    def create(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        if self.kind == "postgresql":
            import psycopg  # noqa: PLC0415

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg  # noqa: PLC0415

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    def stored(self) -> list[tuple[int, str, str]]:
        """``(id, device name, card number)`` of every stored access event, id order."""
        store = Store(self.url)
        try:
            rows: list[dict[str, Any]] = []
            while True:
                page = store.list_events(after_id=rows[-1]["id"] if rows else 0, limit=5000)
                if not page:
                    break
                rows.extend(page)
            names = {int(d["id"]): str(d["name"]) for d in store.known_devices()}
        finally:
            store.close()
        return [(int(r["id"]), names.get(int(r["device_id"]), "?"), str(r["card_no"]))
                for r in rows if r["kind"] == "access_control" and r["card_no"]]

    def integrity(self) -> str:
        """``PRAGMA integrity_check`` of the SQLite file ("ok" when sound)."""
        with contextlib.closing(sqlite3.connect(self.data / "porteiro.db")) as conn:
            return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))


class PgServer:
    """The local PostgreSQL cluster behind ``PG_HOST`` (Debian's ``pg_ctlcluster``), which
    ``pg-restart`` stops and starts again. :meth:`find` says why it cannot be controlled
    (not root, no ``pg_ctlcluster``, no online local cluster on that port): the cell is
    then skipped. Once :meth:`stop` ran, the server is started again by :meth:`ensure_up`
    (the cell's cleanup) or, failing that, at exit."""

    def __init__(self, version: str, cluster: str = "main") -> None:
        self.version = version
        self.cluster = cluster
        self.stopped = False
        self._lock = threading.Lock()  # a start waits for a stop still running (a cancel)

    @classmethod
    def find(cls) -> PgServer | str:
        """The controllable cluster, or why there is none."""
        if os.geteuid() != 0:
            return "not root: cannot stop and start the PostgreSQL server"
        if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
            return "no pg_ctlcluster/pg_isready: not a Debian-style PostgreSQL cluster"
        try:  # the version as .ci/run finds it: a directory of /etc/postgresql
            versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()
                              if (p / "main").is_dir())
            listing = subprocess.run(["pg_lsclusters", "--no-header"],  # noqa: S607
                                     capture_output=True, text=True, timeout=10,
                                     check=True).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return f"no local PostgreSQL cluster found ({exc})"
        for line in listing.splitlines():
            fields = line.split()  # Ver Cluster Port Status Owner Data-directory Log-file
            if (len(fields) >= 4 and fields[0] in versions and fields[1] == "main"
                    and fields[2] == str(PG_HOST[1]) and fields[3] == "online"):
                return cls(fields[0])
        return (f"no online local cluster 'main' on port {PG_HOST[1]} "
                f"(/etc/postgresql: {', '.join(versions) or 'none'})")

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version,  # noqa: S607
             self.cluster, *args], capture_output=True, text=True, timeout=120, check=False)

    def stop(self) -> None:
        """Stop the server (fast: open transactions are rolled back, clients cut off)."""
        with self._lock:
            self.stopped = True  # from here on, the server must be started again
            atexit.register(self.ensure_up)
            done = self._ctl("stop", "-m", "fast")
        if done.returncode != 0:
            raise CellFailedError(f"pg_ctlcluster stop: {done.stderr.strip()}")

    @staticmethod
    def ready() -> bool:
        return subprocess.run(  # noqa: S603
            ["pg_isready", "-q", "-h", PG_HOST[0], "-p", str(PG_HOST[1])],  # noqa: S607
            check=False, timeout=10).returncode == 0

    def ensure_up(self, timeout: float = 90) -> None:
        """Start the server if this stopped it, and wait until ``pg_isready`` says yes.
        Blocking on purpose: it runs in cleanups, also when the cell was cancelled."""
        with self._lock:
            if not self.stopped:
                return
            deadline = time.monotonic() + timeout
            start = self._ctl("start")  # "already running" is fine: pg_isready decides
            tried = time.monotonic()
            while not self.ready():
                if time.monotonic() > deadline:
                    raise CellFailedError(
                        f"PostgreSQL did not come back within {timeout:g} s "
                        f"(pg_ctlcluster start: {start.stderr.strip()})")
                if time.monotonic() - tried > 10:  # still down: try again
                    start, tried = self._ctl("start"), time.monotonic()
                time.sleep(0.2)
            self.stopped = False
            atexit.unregister(self.ensure_up)


# -- the hub process ------------------------------------------------------------------------

# The collector's heartbeat (and so its 3-heartbeat watchdog) is not configurable: the hub
# runs the same `serve` command with a 1 s heartbeat, as tests/test_hub_e2e.py does.
_SERVE = (
    "import sys\n"
    "from porteiro.hub import collector\n"
    "collector.Collector.__init__.__kwdefaults__['heartbeat'] = 1\n"
    "from porteiro.cli import main\n"
    "sys.argv = ['porteiro', 'serve', '--config', sys.argv[1]]\n"
    "main()\n"
)


class Hub:
    """``porteiro serve`` as a child; its output is copied to a log file by a thread (a
    pipe, so a file-size limit on the hub does not stop its logging)."""

    def __init__(self, workdir: Path, db: Database) -> None:
        self.workdir = workdir
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "hub.toml"
        self.log = workdir / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def write_config(self, devices: str, sinks: str) -> None:
        self.config.write_text(
            f'[hub]\nlisten = "127.0.0.1:{self.port}"\n{self.db.toml()}flush_interval = 0.2\n'
            f"offline_after = 3\n\n{devices}{sinks}", encoding="utf-8")

    async def start(self, *, fsize: int | None = None, wait: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise CellFailedError("the hub is already running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEIRO_")}
        env["PYTHONUNBUFFERED"] = "1"

        def limit() -> None:  # in the child, before exec
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", _SERVE, str(self.config)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            preexec_fn=limit if fsize is not None else None)  # noqa: PLW1509
        with self.log.open("ab") as log:
            log.write(f"==== start {self.starts} (fsize={fsize}) ====\n".encode())
        threading.Thread(target=self._copy, args=(self.proc,), daemon=True).start()
        self.starts += 1
        if not wait:
            return
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise CellFailedError(f"the hub exited with {self.proc.returncode}:\n"
                                          f"{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise CellFailedError(f"the hub did not answer /healthz:\n{self.tail()}")
                await asyncio.sleep(0.05)

    def _copy(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None  # noqa: S101
        with proc.stdout, self.log.open("ab") as log:
            for line in proc.stdout:
                log.write(line)
                log.flush()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    async def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a clean shutdown), SIGKILL if it takes too long."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


# -- a TCP relay that can be cut ------------------------------------------------------------


class Relay:
    """A TCP relay to ``upstream``: ``down()`` resets every connection (no goodbye, like a
    network failure) and refuses new ones; ``up()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                     reuse_address=True)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


# -- the sinks' receivers -------------------------------------------------------------------


@dataclass
class Received:
    """What one sink delivered: every arrival, in arrival order."""

    arrivals: list[tuple[int, str, str]] = field(default_factory=list)  # (id, device, card)

    def add(self, event: dict[str, Any]) -> None:
        if event.get("kind") == "access_control" and event.get("card_no"):
            self.arrivals.append((int(event["id"]), str(event["device"]),
                                  str(event["card_no"])))

    def ids(self) -> set[int]:
        return {a[0] for a in self.arrivals}

    def order_ok(self) -> bool:
        """Each device's events first arrived in id (stored) order."""
        seen: set[int] = set()
        last: dict[str, int] = {}
        for event_id, device, _ in self.arrivals:
            if event_id in seen:
                continue
            seen.add(event_id)
            if event_id < last.get(device, 0):
                return False
            last[device] = event_id
        return True


class Webhook:
    """A webhook receiver in this process (checks signatures); ``down()`` closes its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got = Received()
        self.bad = 0
        self._runner: Any = None
        self._site: Any = None

    async def up(self) -> None:
        from aiohttp import web  # noqa: PLC0415

        from porteiro.forward.webhook import SIGNATURE_HEADER, verify  # noqa: PLC0415

        if self._runner is None:
            decode = msgspec.json.Decoder().decode

            async def hook(request: web.Request) -> web.Response:
                body = await request.read()
                headers = request.headers
                if not verify(SECRET, headers.get("X-Porteiro-Timestamp", ""), body,
                              headers.get(SIGNATURE_HEADER, "")):
                    self.bad += 1
                    return web.Response(status=401)
                self.got.add(decode(body))
                return web.Response()

            app = web.Application()
            app.router.add_post("/hook", hook)
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await self._runner.setup()
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()

    async def down(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def close(self) -> None:
        await self.down()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def toml(self) -> str:
        return (f'[[sinks]]\ntype = "webhook"\nname = "hook"\n'
                f'url = "http://127.0.0.1:{self.port}/hook"\nsecret = "{SECRET}"\n'
                f'start = "beginning"\nbackoff_cap = 1\n\n')


class MqttSubscriber:
    """A QoS 1 subscriber on the broker (directly) to ``<prefix>/+/event/+``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.got = Received()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _run(self) -> None:
        import aiomqtt  # noqa: PLC0415

        decode = msgspec.json.Decoder().decode
        async with aiomqtt.Client(*BROKER, identifier=f"faults-{self.prefix}") as client:
            await client.subscribe(f"{self.prefix}/+/event/+", qos=1)
            self._ready.set()
            async for message in client.messages:
                self.got.add(decode(message.payload))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def toml(self, relay_port: int) -> str:
        return (f'[[sinks]]\ntype = "mqtt"\nname = "mqtt"\n'
                f'url = "mqtt://127.0.0.1:{relay_port}"\ntopic_prefix = "{self.prefix}"\n'
                f'start = "beginning"\nbackoff_cap = 1\n\n')


# -- devices and traffic --------------------------------------------------------------------


class Traffic:
    """Distinct presentations (a card number of their own) at ``rate``/s per device; in
    Modo Online through :meth:`EmulatedDevice.present_async` (the hub decides)."""

    def __init__(self, devices: dict[str, EmulatedDevice], rate: float, *, online: bool
                 ) -> None:
        self.devices = devices
        self.rate = rate
        self.online = online
        self.presented: dict[str, list[str]] = {name: [] for name in devices}
        self._tasks: list[asyncio.Task[None]] = []

    async def present(self, name: str, tag: str = "") -> str:
        cards = self.presented[name]
        card = f"{tag or name.upper()}{len(cards):06X}"
        cards.append(card)
        if self.online:
            await self.devices[name].present_async(Presentation(card_no=card))
        else:
            self.devices[name].present(Presentation(card_no=card))
        return card

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.presented.values())

    async def _run(self, name: str) -> None:
        started = time.monotonic()
        done = 0
        while True:
            due = int((time.monotonic() - started) * self.rate) + 1
            while done < due:
                await self.present(name)
                done += 1
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(n)) for n in self.devices]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


def configure_device(device: EmulatedDevice, mode: str, name: str, hub_port: int) -> None:
    """Point a device at the hub as the mode needs (attach needs nothing)."""
    if mode == "attach":
        return
    config = device.state.config
    config["Intelbras_ModeCfg"]["DeviceMode"] = 1 if mode == "push" else 2
    if mode == "online":
        config["Intelbras_ModeCfg"].update({
            "RemoteCheckTimeout": 2,
            "KeepAlive": {"Enable": True, "Interval": 1, "Path": f"/keepalive/{name}",
                          "TimeOut": 1000}})
    config["PictureHttpUpload"]["Enable"] = True
    config["PictureHttpUpload"]["UploadServerList"][0].update(
        {"Address": "127.0.0.1", "Port": hub_port, "Uploadpath": f"/notification/{name}"})
    assert device.uplink is not None  # noqa: S101
    device.uplink.backoff_cap = 1.0  # retry often: every cell is bounded in time
    device.uplink.notify_config()


def devices_toml(mode: str, names: list[str], ports: list[int]) -> str:
    out = []
    for name, port in zip(names, ports, strict=True):
        out.append(f'[[devices]]\nname = "{name}"\nhost = "127.0.0.1"\nmode = "{mode}"\n')
        if mode == "attach":
            out.append(f'port = {port}\npassword = "admin123"\n')
        out.append("\n")
    return "".join(out)


# -- a cell ---------------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the summary table."""

    fault: str
    mode: str
    db: str
    generated: int = 0
    stored: int = 0
    duplicates: int = 0
    lost: int = 0
    sinks: dict[str, tuple[int, int, bool]] = field(default_factory=dict)  # lost, dup, order
    checks: list[str] = field(default_factory=list)  # fault-specific failures
    error: str = ""
    seconds: float = 0.0
    refused: int = 0  # pushes / online requests the devices saw fail (so retried)
    streams: int = 0  # attach streams the devices served (1 per device without faults)
    skipped: str = ""  # why the cell could not run here (not a failure)

    @property
    def ok(self) -> bool:
        return (not self.error and not self.lost and not self.duplicates and not self.checks
                and self.generated > 0
                and all(lost == 0 and order for lost, _, order in self.sinks.values()))


@dataclass
class Cell:
    """Everything a fault scenario can act on."""

    mode: str
    hub: Hub
    db: Database
    devices: dict[str, EmulatedDevice]
    traffic: Traffic
    webhook: Webhook
    mqtt_relay: Relay | None
    pg_relay: Relay | None
    phase: float
    result: Result
    cleanup: list[Callable[[], object]] = field(default_factory=list)
    pg_server: PgServer | None = None

    @property
    def checks(self) -> list[str]:
        return self.result.checks

    def delivered(self) -> int:
        return sum(d.uplink.delivered for d in self.devices.values() if d.uplink is not None)

    def pending(self) -> int:
        return sum(len(d.state.pending_push) for d in self.devices.values())

    def check(self, ok: bool, what: str) -> None:  # noqa: FBT001
        if not ok:
            self.checks.append(what)




async def f_none(cell: Cell) -> None:
    await asyncio.sleep(cell.phase * 2)


async def f_hub_kill(cell: Cell) -> None:
    await asyncio.sleep(cell.phase)
    cell.hub.kill()  # SIGKILL with requests, a stream and a batch in flight
    await asyncio.sleep(cell.phase)  # the devices keep generating (and queueing / logging)
    if cell.mode == "push":
        cell.check(cell.pending() > 0, "no push was pending while the hub was down")
    await cell.hub.start()
    await asyncio.sleep(cell.phase)


async def f_webhook_down(cell: Cell) -> None:
    await asyncio.sleep(cell.phase)
    await cell.webhook.down()
    await asyncio.sleep(cell.phase * 1.5)
    await cell.webhook.up()
    await asyncio.sleep(cell.phase * 0.5)


async def f_mqtt_down(cell: Cell) -> None:
    assert cell.mqtt_relay is not None  # noqa: S101
    await asyncio.sleep(cell.phase)
    await cell.mqtt_relay.down()
    await asyncio.sleep(cell.phase * 1.5)
    await cell.mqtt_relay.up()
    await asyncio.sleep(cell.phase * 0.5)


async def f_reboot(cell: Cell) -> None:
    await asyncio.sleep(cell.phase)
    for device in cell.devices.values():
        device.reboot()
    await asyncio.sleep(cell.phase)


async def f_stall(cell: Cell) -> None:
    await asyncio.sleep(cell.phase * 0.5)
    for device in cell.devices.values():
        device.stall_streams(4.5)  # open but silent: only the hub's watchdog notices
    await asyncio.sleep(max(cell.phase * 1.5, 6))


def bad_bodies() -> list[tuple[str, bytes, str, int]]:
    """Malformed pushes: ``(what, body, Content-Type, the status the hub must answer)``.

    Junk and invalid JSON cannot be read at all: 400, logged as an unreadable push. A
    multipart body in the device's format whose info part is cut off is acknowledged
    (200), logged and counted as a decode error: a 400 would make a reader that produced
    it resend it forever, ahead of every later event (tests/test_hub_receiver.py). None
    of them may store anything.
    """
    event = RawEvent("AccessControl", "Pulse", 0, {
        "CardNo": "BAD00000", "Door": 0, "Method": 1, "Status": 1, "UTC": int(time.time())})
    whole, ctype = format_push_body([event], time=time.strftime("%d-%m-%Y %H:%M:%S"))
    cut = whole[: whole.index(b'"CardNo"') + 12]  # the connection "dropped" mid-JSON
    return [
        ("junk", b"\x00\xffgarbage\r\n", "application/octet-stream", 400),
        ("invalid JSON", b'{"Events": [{"Code": "AccessControl", "Data": {"CardNo": ',
         "application/json", 400),
        ("cut-off multipart", cut, ctype, 200),
    ]


async def f_garbage(cell: Cell) -> None:
    if cell.mode == "attach":
        for _ in range(3):
            await asyncio.sleep(cell.phase * 0.5)
            for device in cell.devices.values():
                device.garbage_into_streams(b"\x00\xffgarbage\r\n")
                device.garbage_into_streams(
                    b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n"
                    b'Code=AccessControl;action=Pulse;index=0;data={"UTC": 17\r\n')
        await asyncio.sleep(cell.phase * 0.5)
        return
    # Push and Modo Online: malformed POSTs on each reader's own path, among its good ones.
    wrong: collections.Counter[str] = collections.Counter()
    sent = 0
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(3):
            await asyncio.sleep(cell.phase * 0.5)
            for name in cell.devices:
                for what, body, ctype, status in bad_bodies():
                    reply = await http.post(f"{cell.hub.url}/notification/{name}",
                                            content=body, headers={"Content-Type": ctype})
                    sent += 1
                    if reply.status_code != status or (
                            status == 400 and not reply.text.startswith("Bad Request: ")):
                        wrong[f"{what}: {reply.status_code} {reply.text[:40]!r}"] += 1
    await asyncio.sleep(cell.phase * 0.5)
    for problem, times in wrong.items():
        cell.check(False, f"{times} malformed push(es) answered wrongly ({problem})")
    lines = cell.hub.log.read_text(errors="replace").splitlines()
    logged = sum(1 for line in lines for name in cell.devices
                 if f"unreadable push from 127.0.0.1 ({name})" in line
                 or (f"push from {name}: " in line and "not JSON" in line))
    cell.check(logged >= sent, f"{sent} malformed push(es), {logged} logged with the device")


async def f_clock_jump(cell: Cell) -> None:
    await asyncio.sleep(cell.phase * 0.5)
    for device in cell.devices.values():
        device.drift(3600)  # an hour ahead...
    await asyncio.sleep(cell.phase * 0.5)
    for device in cell.devices.values():
        device.drift(-3600 - 120)  # ...then corrected, past where it was
    await asyncio.sleep(cell.phase * 0.5)
    for device in cell.devices.values():
        device.reboot()  # and a reconnect (attach: a backfill across the jump)
    await asyncio.sleep(cell.phase)


async def f_offline_queue(cell: Cell) -> None:
    # The hub was down from the start (see run_cell). Push: the readers' whole queue
    # replays. Modo Online: the readers decide alone (no server), queue those decisions
    # and replay them. Attach: the records wait in the readers' logs; the collectors
    # backfill them on their first connection.
    await asyncio.sleep(cell.phase * 2)
    if cell.mode == "attach":
        cell.check(cell.result.streams == 0, "a stream was served with no hub")
        logged = sum(len(d.state.records) for d in cell.devices.values())
        cell.check(logged > 0, "no record was logged while the hub was down")
        await cell.hub.start()
        await until(lambda: all(d.subscriptions for d in cell.devices.values()), 20,
                    "the collectors to attach")
        await asyncio.sleep(cell.phase)
        return
    cell.check(cell.delivered() == 0, "a push was acknowledged with no hub")
    queued = cell.pending()
    cell.check(queued > 0, "nothing was queued while the hub was down")
    await cell.hub.start()
    await until(lambda: cell.pending() < queued // 4, 30, "the offline queue to replay")
    await asyncio.sleep(cell.phase * 0.5)


async def f_pg_down(cell: Cell) -> None:
    # Push, and the queued records of Modo Online readers: no 200 while the database is
    # unreachable. A Modo Online decision answered meanwhile must still be stored exactly
    # once (the reader queued its own record when refused, or the hub stored it later):
    # the cell's lost/dup counts. Attach: the collectors' writes fail; the reconnect's
    # backfill recovers what the stream delivered meanwhile.
    assert cell.pg_relay is not None  # noqa: S101
    await asyncio.sleep(cell.phase)
    await cell.pg_relay.down()
    await asyncio.sleep(0.5)  # a push acknowledged just before the cut may finish
    acknowledged = cell.delivered()
    await asyncio.sleep(cell.phase * 1.5)
    cell.check(cell.delivered() == acknowledged,
               f"{cell.delivered() - acknowledged} push(es) got 200 while PostgreSQL was "
               f"unreachable")
    if cell.mode == "push":
        cell.check(cell.pending() > 0, "no push was pending while PostgreSQL was unreachable")
    await cell.pg_relay.up()
    await asyncio.sleep(cell.phase)


async def f_pg_restart(cell: Cell) -> None:
    # The real server stopped (fast shutdown: clients get "terminating connection due to
    # administrator command", then "connection refused") and started again: the same
    # checks as pg-down. run_cell starts it again whatever happens here.
    assert cell.pg_server is not None  # noqa: S101
    await asyncio.sleep(cell.phase)
    await asyncio.to_thread(cell.pg_server.stop)  # returns once the server is down
    await asyncio.sleep(0.5)  # a push acknowledged just before the stop may finish
    acknowledged = cell.delivered()
    await asyncio.sleep(cell.phase * 1.5)
    cell.check(cell.delivered() == acknowledged,
               f"{cell.delivered() - acknowledged} push(es) got 200 while PostgreSQL was "
               f"stopped")
    if cell.mode == "push":
        cell.check(cell.pending() > 0, "no push was pending while PostgreSQL was stopped")
    await asyncio.to_thread(cell.pg_server.ensure_up)
    await asyncio.sleep(cell.phase)


async def f_disk_full(cell: Cell) -> None:
    await asyncio.sleep(cell.phase)
    await cell.hub.stop()
    files = list(cell.db.data.glob("porteiro.db*"))
    size = max(f.stat().st_size for f in files)
    # The largest file may grow by 16 KiB at most: soon every write fails (EFBIG).
    await cell.hub.start(fsize=size + 16 * 1024)
    await asyncio.sleep(cell.phase)
    acknowledged = cell.delivered()
    await asyncio.sleep(cell.phase)
    full = cell.delivered() == acknowledged
    cell.check(full, f"{cell.delivered() - acknowledged} push(es) got 200 with the disk full")
    log = cell.hub.log.read_text(errors="replace")
    cell.check(any(word in log for word in ("full", "File too large", "disk I/O")),
               "no clear error in the hub log while the disk was full")
    cell.hub.kill()
    integrity = await asyncio.to_thread(cell.db.integrity)
    cell.check(integrity == "ok", f"integrity_check after the disk was full: {integrity}")
    await cell.hub.start()  # space again
    if cell.mode == "attach":
        await until(lambda: all(d.subscriptions for d in cell.devices.values()), 20,
                    "the collectors to attach again")
    await asyncio.sleep(cell.phase)


async def f_pg_foreign_txn(cell: Cell) -> None:
    # Another application's transaction on the same PostgreSQL server (another database),
    # open for the rest of the cell: it must not hold back the hub's sinks.
    import psycopg  # noqa: PLC0415

    conn = await asyncio.to_thread(psycopg.connect, PG_ADMIN)
    cell.cleanup.append(conn.close)
    await asyncio.to_thread(conn.execute, "SELECT txid_current()")
    await asyncio.sleep(cell.phase * 2)


ALL = ("push", "attach", "online")

# Every fault on every mode where it means something: a stall is a silent attach stream
# (push and Modo Online readers open no stream); a foreign transaction holds back the
# sinks' reads of the event log, which are the same whatever mode stored the events.
FAULTS: dict[str, tuple[Callable[[Cell], Awaitable[None]], tuple[str, ...]]] = {
    "none": (f_none, ALL),
    "hub-kill": (f_hub_kill, ALL),
    "webhook-down": (f_webhook_down, ALL),
    "mqtt-down": (f_mqtt_down, ALL),
    "reboot": (f_reboot, ALL),
    "stall": (f_stall, ("attach",)),
    "garbage": (f_garbage, ALL),
    "clock-jump": (f_clock_jump, ALL),
    "offline-queue": (f_offline_queue, ALL),
    "pg-down": (f_pg_down, ALL),
    "pg-restart": (f_pg_restart, ALL),
    "pg-foreign-txn": (f_pg_foreign_txn, ("push",)),
    "disk-full": (f_disk_full, ALL),
}


async def run_cell(fault: str, mode: str, kind: str, workdir: Path, *, phase: float = 2.0,
                   devices: int = 3, rate: float = 10.0) -> Result:
    """One fault against one mode on one database; never raises."""
    pg_server = PgServer.find() if fault == "pg-restart" else None
    if isinstance(pg_server, str):  # it cannot control the server here
        return Result(fault, mode, kind, skipped=pg_server)
    result = Result(fault, mode, kind)
    started = time.monotonic()
    scenario = FAULTS[fault][0]
    cell_dir = Path(tempfile.mkdtemp(prefix=f"{fault}-{mode}-{kind}-", dir=workdir))
    pg_relay = Relay(PG_HOST) if fault == "pg-down" else None
    db = Database(kind, cell_dir, f"{fault}_{mode}",
                  via_port=pg_relay.port if pg_relay else None)
    hub = Hub(cell_dir, db)
    webhook = Webhook()
    use_mqtt = reachable(BROKER)
    mqtt_relay = Relay(BROKER) if use_mqtt else None
    subscriber = MqttSubscriber(f"faults{os.getpid()}{cell_dir.name[-8:]}") if use_mqtt else None
    names = [f"{mode[0]}{i}" for i in range(devices)]
    try:
        await asyncio.to_thread(db.create)
        for relay in (pg_relay, mqtt_relay):
            if relay is not None:
                await relay.up()
        await webhook.up()
        sinks = webhook.toml()
        if subscriber is not None and mqtt_relay is not None:
            await subscriber.start()
            sinks += subscriber.toml(mqtt_relay.port)
        async with EmulatorHost.start(devices=devices) as host:
            hub.write_config(devices_toml(mode, names, host.ports), sinks)
            emulated = dict(zip(names, host.devices, strict=True))
            for device in emulated.values():
                count_streams(device, result)
            traffic = Traffic(emulated, rate, online=mode == "online")
            cell = Cell(mode, hub, db, emulated, traffic, webhook, mqtt_relay, pg_relay, phase,
                        result, pg_server=pg_server)
            if fault != "offline-queue":
                await hub.start()
            for name, device in emulated.items():
                configure_device(device, mode, name, hub.port)
            if mode == "attach" and fault != "offline-queue":
                await until(lambda: all(d.subscriptions for d in emulated.values()), 20,
                            "the collectors to attach")
            traffic.start()
            try:
                try:
                    await scenario(cell)
                finally:
                    await traffic.stop()
                result.generated = traffic.total
                await drain(cell, subscriber)
            finally:
                for close in cell.cleanup:
                    close()
            result.refused = sum(d.uplink.failures for d in emulated.values()
                                 if d.uplink is not None)
        await hub.stop()
        score(result, traffic, await asyncio.to_thread(db.stored),
              {"webhook": webhook.got} | ({"mqtt": subscriber.got} if subscriber else {}))
        if webhook.bad:
            result.checks.append(f"{webhook.bad} webhook request(s) with a bad signature")
    except Exception as exc:  # noqa: BLE001  # a cell reports, the matrix goes on
        result.error = f"{type(exc).__name__}: {exc}"
        (cell_dir / "error.txt").write_text(result.error + "\n" + hub.tail(), encoding="utf-8")
    finally:
        restore(pg_server, result)  # first, blocking: before the database is dropped
        hub.kill()
        await webhook.close()
        if subscriber is not None:
            await subscriber.close()
        for relay in (pg_relay, mqtt_relay):
            if relay is not None:
                await relay.down()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(db.drop)
        result.seconds = time.monotonic() - started
    return result


def restore(pg_server: PgServer | None, result: Result) -> None:
    """Start the PostgreSQL server again if the cell stopped it (blocking, so a cancelled
    cell cannot skip it) and wait until it accepts connections."""
    if pg_server is None:
        return
    try:
        pg_server.ensure_up()
    except Exception as exc:  # noqa: BLE001  # reported in the cell's row
        result.error = result.error or f"{type(exc).__name__}: {exc}"


def count_streams(device: EmulatedDevice, result: Result) -> None:
    """Count the attach streams ``device`` serves (each reconnect is one more)."""
    original = device.subscribe

    def counting(codes: Any) -> Any:
        result.streams += 1
        return original(codes)

    device.subscribe = counting  # type: ignore[method-assign]


async def drain(cell: Cell, subscriber: MqttSubscriber | None) -> None:
    """Wait until every generated event is stored and every stored one reached each sink."""
    generated = {c for cards in cell.traffic.presented.values() for c in cards}

    def stored_all() -> bool:
        return generated <= {card for _, _, card in cell.db.stored()}

    await until(lambda: cell.pending() == 0, 30, "the devices' push queues to drain")
    await until_async(stored_all, 30, "every generated event to be stored")
    ids = {event_id for event_id, _, _ in await asyncio.to_thread(cell.db.stored)}
    await until(lambda: ids <= cell.webhook.got.ids(), 30, "the webhook to get every event")
    if subscriber is not None:
        await until(lambda: ids <= subscriber.got.ids(), 30, "MQTT to get every event")
    await asyncio.sleep(1.0)  # anything late shows up as a duplicate


def score(result: Result, traffic: Traffic, stored: list[tuple[int, str, str]],
          sinks: dict[str, Received]) -> None:
    """Fill the counts: generated vs stored vs each sink."""
    counts = collections.Counter((device, card) for _, device, card in stored)
    generated = {(name, card) for name, cards in traffic.presented.items() for card in cards}
    result.stored = len(counts)
    result.duplicates = sum(n - 1 for n in counts.values() if n > 1)
    result.lost = len(generated - set(counts))
    extra = set(counts) - generated
    if extra:
        result.checks.append(f"{len(extra)} stored event(s) nobody generated")
    ids = {event_id for event_id, _, _ in stored}
    for name, got in sinks.items():
        arrived = got.ids()
        result.sinks[name] = (len(ids - arrived), len(got.arrivals) - len(arrived),
                              got.order_ok())


# -- the table ------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    head = ("fault", "mode", "db", "generated", "stored", "dup", "lost", "webhook", "mqtt",
            "order", "refused", "streams", "s", "result")
    rows = [head]
    for r in results:
        def sink(name: str, r: Result = r) -> str:
            if name not in r.sinks:
                return "-"
            lost, dup, _ = r.sinks[name]
            return f"{lost} lost" + (f", {dup} again" if dup else "")

        order = "ok" if all(o for _, _, o in r.sinks.values()) else "BROKEN"
        verdict = "skipped" if r.skipped else "ok" if r.ok else "FAIL"
        rows.append((r.fault, r.mode, r.db, str(r.generated), str(r.stored),
                     str(r.duplicates), str(r.lost), sink("webhook"), sink("mqtt"),
                     order if r.sinks else "-", str(r.refused), str(r.streams),
                     f"{r.seconds:.0f}", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.extend(f"  {r.fault}/{r.mode}/{r.db}: {problem.splitlines()[0]}"
                 for r in results for problem in ([r.error] if r.error else []) + r.checks
                 + ([f"skipped: {r.skipped}"] if r.skipped else []))
    return "\n".join(lines)


def plan(only: list[str], dbs: list[str]) -> list[tuple[str, str, str]]:
    cells = []
    pg = reachable(PG_HOST)
    for fault, (_, modes) in FAULTS.items():
        if only and not any(o in fault for o in only):
            continue
        for mode in modes:
            if fault == "mqtt-down" and not reachable(BROKER):
                continue
            if fault.startswith("pg-"):
                if pg:
                    cells.append((fault, mode, "postgresql"))
                continue
            kinds = ["sqlite"] if fault == "disk-full" else dbs
            cells.extend((fault, mode, kind) for kind in kinds
                         if kind == "sqlite" or pg)
    return cells


async def amain(args: argparse.Namespace) -> int:
    phase = 1.5 if args.quick else 3.0
    results = []
    # SIGTERM cancels the run like Ctrl-C, so every cell's cleanup runs (pg-restart starts
    # the PostgreSQL server again).
    main_task = asyncio.current_task()
    assert main_task is not None  # noqa: S101
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    with tempfile.TemporaryDirectory(prefix="porteiro-faults-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for fault, mode, kind in plan(args.only, args.db):
            result = await run_cell(fault, mode, kind, workdir, phase=phase)
            verdict = ("skipped: " + result.skipped if result.skipped else "ok" if result.ok
                       else "FAIL " + (result.error or "; ".join(result.checks)))
            line = (f"{fault:14} {mode:7} {kind:10} generated={result.generated} "
                    f"stored={result.stored} dup={result.duplicates} lost={result.lost} "
                    f"{verdict.splitlines()[0]}")
            print(line, flush=True)  # noqa: T201
            results.append(result)
    print("\n" + table(results), flush=True)  # noqa: T201
    return 0 if results and all(r.ok or r.skipped for r in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases")
    parser.add_argument("--only", action="append", default=[], help="faults matching this")
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"],
                        help="databases for the device cells (default sqlite)")
    parser.add_argument("--keep", help="keep every cell's directory (logs) here")
    args = parser.parse_args()
    args.db = args.db or ["sqlite"]
    try:
        return asyncio.run(amain(args))
    except (KeyboardInterrupt, asyncio.CancelledError):  # SIGINT, SIGTERM: cleanups ran
        print("interrupted", file=sys.stderr, flush=True)  # noqa: T201
        return 130


if __name__ == "__main__":
    sys.exit(main())
