"""End to end over loopback: the hub as a real process, emulated readers, real faults.

The hub runs as ``python -m porteiro serve`` (SIGKILLed mid-load and restarted on the
same port and database); the readers are in-process emulators, so the test knows
exactly what they generated (every presentation uses a card number of its own, so
every event is distinct by the store's event identity). After the faults, what the
store holds is compared with what the devices generated: nothing lost, nothing twice.

Runs on SQLite and on PostgreSQL (a fresh schema per test, dropped afterwards);
PostgreSQL is skipped when unreachable locally, and required when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from porteiro.access import Presentation
from porteiro.emulator import EmulatorHost
from porteiro.store import Store
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from porteiro.emulator import EmulatedDevice


def _stored(url: str) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Every stored event (id order) and the device names by id, read directly."""
    store = Store(url)
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
    return rows, names


def _cards_by_device(url: str) -> dict[str, collections.Counter[str]]:
    rows, names = _stored(url)
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for row in rows:
        if row["kind"] == "access_control":
            counts[names[row["device_id"]]][row["card_no"]] += 1
    return counts


# -- the hub process ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The collector's heartbeat (and so its watchdog: 3 heartbeats) is not configurable; a
# test cannot wait 15 s for a stalled stream to be noticed, so the attach test's hub
# process runs the same `serve` command with a 1 s heartbeat (3 s watchdog).
_FAST_WATCHDOG = (
    "import sys\n"
    "from porteiro.hub import collector\n"
    "collector.Collector.__init__.__kwdefaults__['heartbeat'] = 1\n"
    "from porteiro.cli import main\n"
    "sys.argv = ['porteiro', 'serve', '--config', sys.argv[1]]\n"
    "main()\n"
)


class HubProcess:
    """``porteiro serve --config FILE`` as a child process (output to a log file)."""

    def __init__(self, config: Path, port: int, *, fast_watchdog: bool = False) -> None:
        self.config = config
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = config.with_suffix(".log")
        self.fast_watchdog = fast_watchdog
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self, timeout: float = 30) -> None:
        assert self.proc is None or self.proc.poll() is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEIRO_")}
        env["PYTHONUNBUFFERED"] = "1"
        argv = ([sys.executable, "-c", _FAST_WATCHDOG, str(self.config)] if self.fast_watchdog
                else [sys.executable, "-m", "porteiro", "serve", "--config", str(self.config)])
        with self.log.open("ab") as log:
            log.write(f"==== start {self.starts} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                         stdin=subprocess.DEVNULL, env=env)
        self.starts += 1
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    pytest.fail(f"the hub exited with {self.proc.returncode}:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    pytest.fail(f"the hub did not answer /healthz in {timeout} s:\n{self.tail()}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing."""
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
            pytest.fail(f"the hub did not stop on SIGTERM in {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _write_config(path: Path, port: int, url: str, devices: str) -> None:
    path.write_text(f'''[hub]
listen = "127.0.0.1:{port}"
database_url = "{url}"
flush_interval = 1
{devices}''', encoding="utf-8")


async def _until(condition: Callable[[], bool], timeout: float, what: str,
                 hub: HubProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}"
                        + (f"\nhub log:\n{hub.tail()}" if hub else ""))
        await asyncio.sleep(0.05)


async def _until_async(condition: Callable[[], Any], timeout: float, what: str,
                       hub: HubProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}"
                        + (f"\nhub log:\n{hub.tail()}" if hub else ""))
        await asyncio.sleep(0.1)


class Traffic:
    """Distinct passages (a card number of their own each) at ``rate``/s per device."""

    def __init__(self, devices: dict[str, EmulatedDevice], rate: float) -> None:
        self.devices = devices
        self.rate = rate
        self.presented: dict[str, list[str]] = {name: [] for name in devices}
        self._task: asyncio.Task[None] | None = None

    def present(self, name: str, tag: str = "") -> str:
        cards = self.presented[name]
        card = f"{tag or name.upper()}{len(cards):06X}"
        self.devices[name].present(Presentation(card_no=card))
        cards.append(card)
        return card

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.presented.values())

    async def _run(self) -> None:
        started = time.monotonic()
        done = 0
        while True:
            due = int((time.monotonic() - started) * self.rate) + 1
            while done < due:
                for name in self.devices:
                    self.present(name)
                done += 1
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="e2e-traffic")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _assert_exactly_once(stored: dict[str, collections.Counter[str]],
                         generated: dict[str, list[str]]) -> None:
    for name, cards in generated.items():
        assert len(set(cards)) == len(cards)  # the generator itself is distinct
        got = stored.get(name, collections.Counter())
        missing = sorted(set(cards) - set(got))
        twice = sorted(card for card, n in got.items() if n > 1)
        extra = sorted(set(got) - set(cards))
        assert not missing, f"{name}: {len(missing)} event(s) lost, e.g. {missing[:5]}"
        assert not twice, f"{name}: {len(twice)} event(s) stored more than once: {twice[:5]}"
        assert not extra, f"{name}: {len(extra)} event(s) nobody generated: {extra[:5]}"
        assert sum(got.values()) == len(cards)


# -- 1. push devices, hub SIGKILLed mid-load ----------------------------------------------


async def test_push_devices_survive_a_hub_sigkill_exactly_once(tmp_path: Path,
                                                                database_url: str) -> None:
    port = _free_port()
    names = ["p0", "p1", "p2"]
    config = tmp_path / "hub.toml"
    _write_config(config, port, database_url, "".join(
        f'[[devices]]\nname = "{n}"\nhost = "127.0.0.1"\nmode = "push"\n' for n in names))
    hub = HubProcess(config, port)
    try:
        await hub.start()
        async with EmulatorHost.start(devices=len(names)) as host:
            devices = dict(zip(names, host.devices, strict=True))
            for name, device in devices.items():
                device.state.config["Intelbras_ModeCfg"]["DeviceMode"] = 1
                device.state.config["PictureHttpUpload"]["UploadServerList"][0].update(
                    {"Address": "127.0.0.1", "Port": port, "Uploadpath": f"/notification/{name}"})
                assert device.uplink is not None
                device.uplink.backoff_cap = 1.0  # retry often: the test is bounded
                device.uplink.notify_config()
            uplinks = [d.uplink for d in devices.values() if d.uplink is not None]
            traffic = Traffic(devices, rate=40)
            traffic.start()
            try:
                # Load flowing and acknowledged...
                await _until(lambda: all(u.delivered >= 20 for u in uplinks), 15,
                             "the first pushes to be acknowledged", hub)
                await asyncio.sleep(0.5)
                hub.kill()  # ...then SIGKILL, with pushes in flight
                failures = sum(u.failures for u in uplinks)
                await asyncio.sleep(1.5)  # the devices keep generating, queue and retry
                assert sum(len(d.state.pending_push) for d in devices.values()) > 0
                assert sum(u.failures for u in uplinks) > failures
                await hub.start()  # same port, same database
                await asyncio.sleep(1.5)
            finally:
                await traffic.stop()
            await _until(lambda: not any(d.state.pending_push for d in devices.values()), 30,
                         "every device's pending queue to drain", hub)
            delivered = sum(u.delivered for u in uplinks)
        await hub.stop()
        assert traffic.total > 200
        assert delivered >= traffic.total  # each acknowledged at least once
        rows, _ = await asyncio.to_thread(_stored, database_url)
        assert len(rows) == traffic.total
        assert len({r["event_key"] for r in rows}) == len(rows)
        assert {r["source"] for r in rows} == {"push"}
        _assert_exactly_once(await asyncio.to_thread(_cards_by_device, database_url),
                             traffic.presented)
    finally:
        hub.kill()


# -- 2. attach devices: SIGKILL, reboot, stalled stream, garbage -------------------------


GARBAGE = (
    b"\x00\xffgarbage\r\n",  # junk after an event's JSON
    (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n"
     b'Code=AccessControl;action=Pulse;index=0;data={"UTC": 17\r\n'),  # a cut-off JSON
    b"--myboundary\r\nContent-Type: text/plain\r\n\r\n\x00\x01 not an event\r\n",
)


async def test_attach_devices_survive_kill_reboot_stall_and_garbage(tmp_path: Path,
                                                                     database_url: str) -> None:
    port = _free_port()
    names = ["a0", "a1"]
    async with EmulatorHost.start(devices=len(names)) as host:
        devices = dict(zip(names, host.devices, strict=True))
        attaches = dict.fromkeys(names, 0)  # attach streams each device served
        for name, device in devices.items():
            original = device.subscribe

            def counting(codes: Any, name: str = name, original: Any = original) -> Any:
                attaches[name] += 1
                return original(codes)

            device.subscribe = counting  # type: ignore[method-assign]
        traffic = Traffic(devices, rate=20)
        for name in names:  # before the hub ever ran: only the record log has these
            for _ in range(5):
                traffic.present(name, tag="OLD")
        config = tmp_path / "hub.toml"
        _write_config(config, port, database_url, "".join(
            f'[[devices]]\nname = "{n}"\nhost = "127.0.0.1"\nport = {p}\npassword = "admin123"\n'
            f'mode = "attach"\n' for n, p in zip(names, host.ports, strict=True)))
        hub = HubProcess(config, port, fast_watchdog=True)

        def stored_at_least(name: str, cards: list[str]) -> Callable[[], bool]:
            def check() -> bool:
                got = _cards_by_device(database_url).get(name, collections.Counter())
                return all(card in got for card in cards)
            return check

        async def reattached(before: dict[str, int], which: list[str], what: str) -> None:
            await _until(lambda: all(attaches[n] > before[n] and devices[n].subscriptions
                                     for n in which), 15, what, hub)

        try:
            await hub.start()
            await reattached(dict.fromkeys(names, 0), names, "the collectors to attach")
            for name in names:  # the first connection backfilled what came before
                await _until_async(stored_at_least(name, traffic.presented[name]), 15,
                                   f"{name}'s old records to be backfilled", hub)
            traffic.start()
            try:
                await asyncio.sleep(0.5)
                # Garbage in a live stream: reported and skipped, the stream carries on.
                before = dict(attaches)
                for garbage in GARBAGE:
                    devices["a0"].garbage_into_streams(garbage)
                marks = [traffic.present("a0", tag="GRB") for _ in range(3)]
                await _until_async(stored_at_least("a0", marks), 10,
                                   "events after garbage to arrive", hub)
                rows, _ = await asyncio.to_thread(_stored, database_url)
                assert {r["source"] for r in rows if r["card_no"] in marks} == {"attach"}
                assert attaches == before  # no reconnect was needed

                await asyncio.sleep(0.5)
                hub.kill()  # SIGKILL mid-load: what was in flight is lost from the link
                await asyncio.sleep(1.5)  # the devices keep logging while the hub is down
                before = dict(attaches)
                await hub.start()  # same port, same database
                await reattached(before, names, "the collectors to attach after a restart")

                # a1's clock runs an hour fast for a moment (events stored with future
                # times), is corrected, then a1 reboots: the backfill must not start an
                # hour ahead and skip what a1 logged while its stream was down.
                devices["a1"].drift(3600)
                fast = [traffic.present("a1", tag="FST") for _ in range(3)]
                await _until_async(stored_at_least("a1", fast), 10, "a1's fast-clock events",
                                   hub)
                devices["a1"].drift(-3600)
                await asyncio.sleep(0.5)
                before = dict(attaches)
                devices["a1"].reboot()  # drops the stream, keeps the records
                gap = [traffic.present("a1", tag="RBT") for _ in range(3)]  # never live
                await reattached(before, ["a1"], "a1 to be reattached after its reboot")
                await _until_async(stored_at_least("a1", gap), 10,
                                   "a1's records from its reboot to be backfilled", hub)

                await asyncio.sleep(0.5)
                before = dict(attaches)
                devices["a0"].stall_streams(4.5)  # open but silent: only a watchdog sees it
                await reattached(before, ["a0"], "the watchdog to replace a0's stalled stream")
                await _until(lambda: not devices["a0"].faults.stalled(), 10, "the stall to end")
                await asyncio.sleep(1.0)
            finally:
                await traffic.stop()
            for name in names:
                await _until_async(stored_at_least(name, traffic.presented[name]), 20,
                                   f"every record of {name} to be stored", hub)
            await asyncio.sleep(0.5)  # anything late would show up as a duplicate
            await hub.stop()
        finally:
            hub.kill()

    log = hub.log.read_text(encoding="utf-8", errors="replace")
    assert "no event or heartbeat" in log  # the watchdog, not the device, cut the stall
    assert "collector a0: " in log  # the malformed parts were reported (and skipped)
    rows, ids = await asyncio.to_thread(_stored, database_url)
    by_name = {name: device_id for device_id, name in ids.items()}
    assert len({r["event_key"] for r in rows}) == len(rows)
    assert {r["kind"] for r in rows} == {"access_control"}  # garbage never became an event
    assert len(rows) == traffic.total
    for name, device in devices.items():
        records = device.state.records
        assert [r["CardNo"] for r in records] == traffic.presented[name]
        access = {r["card_no"]: r for r in rows
                  if r["device_id"] == by_name[name] and r["kind"] == "access_control"}
        for record in records:
            row = access.get(record["CardNo"])
            assert row is not None, f"{name}: record {record['RecNo']} lost"
            assert row["ts"] == record["CreateTime"]
            assert row["rec_no"] in (None, record["RecNo"])
        sources = collections.Counter(r["source"] for r in access.values())
        assert sources["backfill"] > 0  # gaps (down hub, reboot, stall) were filled
        assert sources["attach"] > 0
        # live events seen again in a backfill: stored once, their record number filled in
        assert any(r["source"] == "attach" and r["rec_no"] is not None for r in access.values())
    assert traffic.total > 150
    _assert_exactly_once(await asyncio.to_thread(_cards_by_device, database_url),
                         traffic.presented)


# -- 3. resends -----------------------------------------------------------------------------


def _access(card: str, utc: int) -> RawEvent:
    return RawEvent("AccessControl", "Pulse", 0, {
        "CardName": "", "CardNo": card, "CardType": 0, "CreateTime": utc, "Door": 0,
        "ErrorCode": 16, "Method": 1, "ReaderID": "1", "Status": 0, "Type": "Entry",
        "UTC": utc, "UserID": "", "UserType": 0})


async def test_resent_multi_event_bodies_are_stored_once(tmp_path: Path,
                                                         database_url: str) -> None:
    port = _free_port()
    config = tmp_path / "hub.toml"
    _write_config(config, port, database_url,
                  '[[devices]]\nname = "r"\nhost = "127.0.0.1"\nmode = "push"\n')
    hub = HubProcess(config, port)
    utc = 1790000000

    def body(*events: RawEvent) -> tuple[bytes, dict[str, str]]:
        content, ctype = format_push_body(list(events), time="01-01-2026 00:00:00")
        return content, {"Content-Type": ctype}

    a, b, c, d, e = (_access(f"C{i:07X}", utc + i // 2) for i in range(5))
    door = RawEvent("DoorStatus", "Pulse", 0, {"Door": 0, "Name": "Door1", "Status": "Open",
                                               "UTC": utc})
    try:
        await hub.start()
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as http:
            async def post(content: bytes, headers: dict[str, str]) -> None:
                reply = await http.post("/notification/r", content=content, headers=headers)
                assert (reply.status_code, reply.text) == (200, "OK")

            first = body(a, b, door)
            await post(*first)
            await post(*first)  # the device saw no 200: the same body again
            await post(*body(b, c, door))  # a backlog overlapping what was stored
            # the same body resent concurrently (one group commit holds several copies)
            await asyncio.gather(*(post(*body(d, e, a)) for _ in range(8)))
        await hub.stop()
    finally:
        hub.kill()
    rows, _ = await asyncio.to_thread(_stored, database_url)
    assert sorted(r["card_no"] or r["code"] for r in rows) == [
        "C0000000", "C0000001", "C0000002", "C0000003", "C0000004", "DoorStatus"]
    assert {r["source"] for r in rows} == {"push"}
