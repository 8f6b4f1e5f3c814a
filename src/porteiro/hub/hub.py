"""The running hub: configuration, store, the single writer, devices and their state.

:class:`Hub` is what the HTTP layers (device-facing :mod:`porteiro.hub.receiver`, the
REST API in :mod:`porteiro.api`) and the collectors share. Every event enters through
:meth:`Hub.ingest`, which writes through the one :class:`~porteiro.store.Writer` and
returns once the events are committed; the writer then publishes the inserted rows to
the :class:`~porteiro.hub.bus.EventBus` (live stream) and the metrics.

Device contact (push, keepalive, live stream) is tracked in memory and flushed to the
store every few seconds, so a push costs one commit, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from porteiro.device import Device, DeviceInfo
from porteiro.exceptions import (
    AuthenticationError,
    DeviceConnectionError,
    DeviceError,
    PorteiroError,
)
from porteiro.forward import DoorResult, Forwarder
from porteiro.hub.bus import EventBus
from porteiro.hub.cluster import ClusterFeed
from porteiro.hub.config import DeviceSettings
from porteiro.hub.leases import LeaseKeeper
from porteiro.hub.metrics import HubMetrics
from porteiro.hub.online import OnlineDecider
from porteiro.hub.people import PeopleService
from porteiro.hub.sync import SyncManager
from porteiro.store import Occurrences, Store, StoredBatch, Writer

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from porteiro.events import Event
    from porteiro.forward.base import DoorOutcome
    from porteiro.hub.collector import Collector
    from porteiro.hub.config import HubConfig

__all__ = ["DeviceRuntime", "Hub"]

_LOG = logging.getLogger(__name__)
_MAC = re.compile(r"[^0-9a-f]")


def normalise_mac(value: str | None) -> str | None:
    """``C0-39-5A-62-64-C9`` and ``c0:39:5a:62:64:c9`` compare equal."""
    if not value:
        return None
    digits = _MAC.sub("", value.lower())
    return digits or None


class DeviceRuntime:
    """What the hub knows of a device right now (in memory; flushed to the store)."""

    def __init__(self, settings: DeviceSettings, device_id: int) -> None:
        self.settings = settings
        self.id = device_id
        self.online = False
        self.last_contact: float | None = None
        self.dirty = False
        self.info: DeviceInfo | None = None
        """Model and firmware, asked of the device when it first comes online (devices
        with credentials only)."""
        self.asking_info = False

    def contact(self, when: float) -> bool:
        """Note a contact; True when the device just came online."""
        came_online = not self.online
        self.online = True
        self.last_contact = when
        self.dirty = True
        return came_online


class Hub:
    """The hub's shared state and the one way events are stored."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.store = Store(config.hub.url())
        self.writer = Writer(self.store)
        self.bus = EventBus()
        self.metrics = HubMetrics()
        self.forwarder = Forwarder(config.sinks, self.store, self.metrics.registry,
                                   lang=config.hub.language, open_door=self.open_door)
        self.devices: dict[str, DeviceRuntime] = {}
        self.collectors: dict[str, Collector] = {}
        self.people = PeopleService(self)
        self.leases = LeaseKeeper(self)
        self.cluster = ClusterFeed(self) if config.hub.cluster else None
        self.store.several_writers = config.hub.cluster
        self.sync = SyncManager(self)
        self.online = OnlineDecider(self)
        self.started_at = time.time()
        self._networks = [ipaddress.ip_network(n, strict=False)
                          for n in config.hub.device_networks]
        self._tasks: set[asyncio.Task[Any]] = set()
        self._register_lock = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Create the data directory, migrate, start the writer, register devices."""
        if self.config.hub.database_url is None:
            self.config.hub.data_dir.mkdir(parents=True, exist_ok=True)
        self.store.migrate()
        self.people.load()
        self.online.load()
        # The directory is hundreds of thousands of long-lived objects on a big site; a
        # full collection walking them stalls every pending Modo Online decision for
        # ~100 ms (measured with 100,000 people). Freeze them out of the collector.
        gc.collect()
        gc.freeze()
        self.writer.start()
        for settings in self.config.devices:
            self._register(settings)
        for row in self.store.known_devices():
            if row["name"] in self.devices:
                # When the hub last heard it: where a collector's backfill starts.
                self.devices[row["name"]].last_contact = row["last_contact"]
            elif self.config.hub.auto_register:  # auto-registered on an earlier run
                settings = DeviceSettings(name=row["name"], host=row["host"] or "",
                                          mac=row["mac"], mode=row["mode"])
                self.devices[settings.name] = DeviceRuntime(settings, int(row["id"]))

    def _register(self, settings: DeviceSettings) -> DeviceRuntime:
        device_id = self.store.ensure_device(
            settings.name, host=settings.host, mode=settings.mode,
            utc_offset_s=settings.offset_seconds(), mac=settings.mac, serial=settings.serial)
        runtime = DeviceRuntime(settings, device_id)
        self.devices[settings.name] = runtime
        return runtime

    async def start(self) -> None:
        """Open the store and start collectors, sinks and housekeeping (on the running
        loop)."""
        await asyncio.to_thread(self.open)
        self.writer.add_listener(self._committed)
        if self.cluster is None:
            self.writer.add_listener(self.online.observe)
        else:
            await asyncio.to_thread(self.cluster.prime)
            self.spawn(self.cluster.run(), "hub-cluster-feed")
        await self.online.start()
        self.writer.add_listener(lambda _rows: self.forwarder.notify())
        await self.sync.start()
        await self.leases.round()  # collect the attach readers no other instance holds
        self.spawn(self.leases.run(), "hub-leases")
        self.spawn(self._housekeeping(), "hub-housekeeping")

    async def stop(self) -> None:
        """Stop collectors, sinks and tasks, flush contacts, drain the writer, close the
        store."""
        await self.leases.release()
        for collector in self.collectors.values():
            await collector.close()
        await self.sync.stop()
        await self.forwarder.stop()
        await self.online.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self._flush_contacts)
        await asyncio.to_thread(self.writer.close)
        await asyncio.to_thread(self.store.close)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A tracked task, cancelled and awaited by :meth:`stop`."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- identification ----------------------------------------------------------------

    def address_allowed(self, address: str | None) -> bool:
        """Whether a device-facing request may come from ``address`` (``device_networks``)."""
        if not self._networks:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def identify(self, name: str | None, address: str | None, mac: str | None = None
                 ) -> DeviceRuntime | None:
        """The device posting: by the path's name, else its MAC (``PhysicalAddress``),
        else a unique configured address."""
        if name:
            return self.devices.get(name)
        wanted = normalise_mac(mac)
        if wanted is not None:
            for runtime in self.devices.values():
                if normalise_mac(runtime.settings.mac) == wanted:
                    return runtime
        matches = [r for r in self.devices.values() if r.settings.host == address]
        return matches[0] if len(matches) == 1 else None

    async def auto_register(self, address: str | None, mac: str | None, mode: str
                            ) -> DeviceRuntime | None:
        """Register an unknown device when ``auto_register`` is on (else None)."""
        if not self.config.hub.auto_register or address is None:
            return None
        async with self._register_lock:
            existing = self.identify(None, address, mac)
            if existing is not None:
                return existing
            key = normalise_mac(mac) or address.replace(":", "-")
            settings = DeviceSettings(name=f"auto-{key}", host=address, mac=mac,
                                      mode=mode)  # type: ignore[arg-type]
            runtime = await asyncio.to_thread(self._register, settings)
            _LOG.warning("auto-registered device %s (address %s, MAC %s)", settings.name,
                         address, mac or "unknown")
            return runtime

    # -- events --------------------------------------------------------------------------

    async def ingest(self, runtime: DeviceRuntime, items: Sequence[Event], *, source: str,
                     images: Sequence[bytes | None] | None = None,
                     occurrences: Occurrences | None = None) -> StoredBatch:
        """Store events of one device; returns once they are committed."""
        result = await self.writer.write(
            runtime.id, runtime.settings.name, items, source=source,
            utc_offset_s=runtime.settings.offset_seconds(), images=images,
            occurrences=occurrences)
        if result.duplicates:
            self.metrics.duplicates.labels(runtime.settings.name).inc(result.duplicates)
        if source == "backfill" and result.inserted:
            self.metrics.backfilled.labels(runtime.settings.name).inc(result.inserted)
        return result

    def _committed(self, rows: list[dict[str, Any]]) -> None:
        # One increment per label set of the batch (a labelled increment takes a lock).
        counts: dict[tuple[str, str, str], int] = {}
        for row in rows:
            labels = (row["device"], row["kind"], row["source"])
            counts[labels] = counts.get(labels, 0) + 1
        # The labelled children, looked up once each (``labels()`` takes a lock and
        # validates the label values every call).
        children: dict[tuple[str, str, str], Any] = self.__dict__.setdefault(
            "_ingested_children", {})
        for labels, count in counts.items():
            child = children.get(labels)
            if child is None:
                child = children[labels] = self.metrics.events_ingested.labels(*labels)
            child.inc(count)
        if self.cluster is None:  # in a cluster the feed publishes every instance's rows
            self.bus.publish(rows)

    # -- device state --------------------------------------------------------------------

    def contact(self, runtime: DeviceRuntime) -> None:
        """A device was heard from (flushed to the store by housekeeping)."""
        if runtime.contact(time.time()):
            _LOG.info("device %s is online", runtime.settings.name)
            self.metrics.device_online.labels(runtime.settings.name).set(1)
            self.forwarder.device_status(runtime.settings.name, online=True)
            self.sync.device_online(runtime)
            if runtime.info is None and runtime.settings.password and not runtime.asking_info:
                runtime.asking_info = True
                self.spawn(self._ask_info(runtime), f"device-info-{runtime.settings.name}")

    async def _ask_info(self, runtime: DeviceRuntime) -> None:
        """Learn the device's model and firmware (shown by the API and the dashboard)."""
        settings = runtime.settings
        try:
            async with Device(f"{settings.host}:{settings.port}", user=settings.user,
                              password=settings.password, https=settings.https,
                              verify=settings.verify_tls, timeout=10) as device:
                runtime.info = await device.info()
        except PorteiroError as exc:
            _LOG.info("could not read %s's model and firmware: %s", settings.name, exc)
        finally:
            runtime.asking_info = False

    def lost(self, runtime: DeviceRuntime, reason: str) -> None:
        """A device's link dropped (attach) or it fell silent (push/online)."""
        if runtime.online:
            _LOG.warning("device %s is offline: %s", runtime.settings.name, reason)
            self.forwarder.device_status(runtime.settings.name, online=False)
        runtime.online = False
        runtime.dirty = True
        self.metrics.device_online.labels(runtime.settings.name).set(0)

    def _flush_contacts(self) -> None:
        for runtime in list(self.devices.values()):
            if runtime.dirty:
                runtime.dirty = False
                self.store.set_contact(runtime.id, online=runtime.online,
                                       last_contact=runtime.last_contact)

    async def _housekeeping(self) -> None:
        hub = self.config.hub
        last_prune = 0.0
        while True:
            await asyncio.sleep(hub.flush_interval)
            now = time.time()
            for runtime in self.devices.values():
                # Attach devices are judged by their stream; the others by silence.
                if (runtime.settings.mode != "attach" and runtime.online
                        and runtime.last_contact is not None
                        and now - runtime.last_contact > hub.offline_after):
                    self.lost(runtime, f"silent for {hub.offline_after:.0f} s")
            self.metrics.writer_queue.set(self.writer.depth)
            self.metrics.stream_subscribers.set(len(self.bus))
            try:
                await asyncio.to_thread(self._flush_contacts)
                if now - last_prune >= 3600:
                    last_prune = now
                    await asyncio.to_thread(self.prune)
            except Exception:  # noqa: BLE001  # housekeeping must survive a database hiccup
                _LOG.exception("housekeeping failed; retrying")

    async def audit(self, *, actor: str, address: str | None, action: str,
                    target: str | None, outcome: str, detail: dict[str, Any] | None = None
                    ) -> int:
        """Append to the audit log (every state-changing API call); returns the entry id."""
        return await asyncio.to_thread(
            self.store.people.audit_add, actor=actor, address=address, action=action,
            target=target, outcome=outcome, detail=detail)

    async def open_door(self, name: str, door: int, who: str, *, address: str | None = None
                        ) -> DoorResult:
        """Open ``door`` (0-based) of device ``name`` remotely for ``who`` (a token's name,
        ``mqtt``) calling from ``address``. The attempt and the device's answer (its
        decoded error when it refuses) are logged and appended to the audit log (action
        ``door.open``, target ``DEVICE/DOOR``); the reader logs the opening as a remote
        one (Method 4), which reaches the store like any event."""
        runtime = self.devices.get(name)
        outcome: DoorOutcome = "opened"
        text = "opened"
        error_code: int | None = None
        http_status: int | None = None
        error: str | None = None
        if runtime is None:
            outcome, text = "unknown_device", f"unknown device {name!r}"
        elif not runtime.settings.password:
            outcome, text = "no_credentials", "no credentials configured for this device"
        else:
            settings = runtime.settings
            try:
                async with Device(f"{settings.host}:{settings.port}", user=settings.user,
                                  password=settings.password, https=settings.https,
                                  verify=settings.verify_tls, timeout=5.0) as device:
                    await device.open_door(door)
            except DeviceError as exc:
                outcome, error = "refused", str(exc)
                error_code = None if exc.code is None else int(exc.code)
                http_status = exc.http_status
            except AuthenticationError as exc:
                outcome, http_status = "refused", 401
                error = f"the device refused the hub's credentials: {exc}"
            except DeviceConnectionError as exc:
                outcome, error = "unreachable", str(exc)
            except PorteiroError as exc:  # an answer that is neither OK nor an error
                outcome, error = "refused", str(exc)
            if error is not None:
                text = f"failed: {error}"
        if outcome == "opened":
            _LOG.warning("door %d of %s opened remotely, asked by %s", door + 1, name, who)
        else:
            _LOG.warning("open door %d of %s asked by %s: %s", door + 1, name, who, text)
        audit_id: int | None = None
        try:
            audit_id = await self.audit(
                actor=who, address=address, action="door.open", target=f"{name}/{door}",
                outcome=("ok" if outcome == "opened" else "failed"
                         if outcome in {"refused", "unreachable"} else "refused"),
                detail={"device": name, "door": door, "result": outcome,
                        "error_code": error_code, "http_status": http_status, "error": error})
        except Exception:  # noqa: BLE001  # the door's answer still reaches the asker
            _LOG.exception("open door %d of %s: the audit entry could not be written",
                           door + 1, name)
        return DoorResult(name, door, outcome, text, error_code=error_code,
                          http_status=http_status, error=error, audit_id=audit_id)

    def prune(self) -> tuple[int, int]:
        """Apply the retention settings now; returns (events, snapshots) deleted."""
        hub = self.config.hub
        now = time.time()
        deleted = self.store.prune(
            events_before=now - hub.retention_days * 86400 if hub.retention_days else None,
            snapshots_before=(now - hub.snapshot_retention_days * 86400
                              if hub.snapshot_retention_days else None),
            max_snapshots=hub.max_snapshots)
        if any(deleted):
            _LOG.info("retention: deleted %d event(s) and %d snapshot(s)", *deleted)
        return deleted
