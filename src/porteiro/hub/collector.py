"""Collectors for stand-alone (attach-mode) devices: live stream plus backfill.

One supervised task per device, over the client's event stream (one connection per
device). On start and on every reconnect it backfills from the device's record log
everything since the newest stored access event (minus a margin), so a gap of any
length is filled; an event seen both live and in the backfill is stored once (the
store's event identity).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from porteiro.device import Connected, Device, Disconnected, EventStream
from porteiro.events import AccessControlEvent, Event
from porteiro.exceptions import AuthenticationError, PorteiroError
from porteiro.store import Occurrences
from porteiro.wire import Malformed

if TYPE_CHECKING:
    from porteiro.hub.config import DeviceSettings
    from porteiro.hub.hub import DeviceRuntime, Hub

__all__ = ["Collector"]

_LOG = logging.getLogger(__name__)
BACKFILL_MARGIN = timedelta(seconds=60)
"""How far before the newest stored event a backfill starts (clock skew, same-second
events); duplicates are dropped by the store, so the margin costs nothing but reads."""


class Collector:
    """Keeps one attach-mode device's events flowing into the store."""

    def __init__(self, settings: DeviceSettings, device_id: int, hub: Hub, *,
                 heartbeat: int = 5) -> None:
        self.settings = settings
        self.device_id = device_id
        self.hub = hub
        self.store = hub.store
        self.heartbeat = heartbeat
        self.live = 0
        self.backfilled = 0
        self.connected = asyncio.Event()
        self._delay = 1.0
        self._live_occurrences = Occurrences(live=True)
        self._task: asyncio.Task[None] | None = None

    @property
    def runtime(self) -> DeviceRuntime:
        """The device's live state in the hub."""
        return self.hub.devices[self.settings.name]

    def start(self) -> None:
        """Start the supervised task."""
        self._task = asyncio.create_task(self._supervise(), name=f"collector-{self.settings.name}")

    async def close(self) -> None:
        """Stop and wait."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _supervise(self) -> None:
        while True:
            try:
                await self._collect()
            except asyncio.CancelledError:
                raise
            except AuthenticationError as exc:
                # Retrying refused credentials quickly would lock the account out.
                _LOG.error("collector %s: %s; retrying in %.0f s", self.settings.name, exc, 300)
                self.hub.lost(self.runtime, str(exc))
                await asyncio.sleep(300)
                continue
            except PorteiroError as exc:
                _LOG.warning("collector %s: %s; restarting in %.0f s", self.settings.name, exc,
                             self._delay)
                self.hub.lost(self.runtime, str(exc))
            except Exception:  # noqa: BLE001  # a supervisor restarts on anything, and logs it
                _LOG.exception("collector %s crashed; restarting", self.settings.name)
                self.hub.lost(self.runtime, "collector error")
            self.connected.clear()
            await asyncio.sleep(self._delay * (0.5 + random.random()))  # noqa: S311  # jitter
            self._delay = min(self._delay * 2, 60)

    async def _collect(self) -> None:
        settings = self.settings
        async with Device(f"{settings.host}:{settings.port}", user=settings.user,
                          password=settings.password, https=settings.https,
                          verify=settings.verify_tls,
                          utc_offset=settings.utc_offset_timedelta()) as dev:
            if settings.local_epochs:
                dev.record_offset = settings.utc_offset_timedelta()
            async with dev.events(heartbeat=self.heartbeat) as stream:
                await self._consume(dev, stream)

    async def _consume(self, dev: Device, stream: EventStream) -> None:
        runtime = self.runtime
        async for item in stream:
            if isinstance(item, Event):
                await self.hub.ingest(runtime, [item], source="attach",
                                      occurrences=self._live_occurrences)
                self.hub.contact(runtime)
                self.live += 1
            elif isinstance(item, Connected):
                last_heard = runtime.last_contact
                self.hub.contact(runtime)
                await self._backfill(dev, last_heard)
                self._delay = 1.0  # a healthy link: the next failure starts over
                self.connected.set()
            elif isinstance(item, Disconnected):
                self.connected.clear()
                self.hub.lost(runtime, item.reason)
            elif isinstance(item, Malformed):
                self.hub.metrics.decode_errors.labels(self.settings.name, "attach").inc()
                _LOG.warning("collector %s: %s", self.settings.name, item.text())

    async def _backfill(self, dev: Device, last_heard: float | None) -> None:
        """Read the record log from where the gap may start, in the device's clock.

        The gap began when the hub last heard the device; in the device's clock that was
        ``device_now - (hub_now - last_heard)``, whatever the device clock did meanwhile
        (set back, jumped ahead, drifted). The newest stored event bounds it from above
        too. Starting early only costs reads: the store drops what it already has.
        """
        newest = await asyncio.to_thread(self.store.last_access_ts, self.device_id)
        starts = [] if newest is None else [newest]
        if last_heard is not None:
            try:
                device_now = (await dev.get_time()).timestamp()
            except PorteiroError as exc:
                _LOG.warning("collector %s: cannot read the device clock (%s); backfilling "
                             "from the newest stored event", self.settings.name, exc)
            else:
                starts.append(device_now - (time.time() - last_heard))
        since = (datetime.fromtimestamp(min(starts), UTC) - BACKFILL_MARGIN
                 if starts and newest is not None else None)
        await self._read_log(dev, since)
        if self.backfilled:
            _LOG.info("collector %s: %d event(s) backfilled so far", self.settings.name,
                      self.backfilled)

    async def _read_log(self, dev: Device, since: datetime | None) -> None:
        """Store every record since ``since``; note how far the log was read."""
        occurrences = Occurrences()  # one run reads the log once, in RecNo order
        batch: list[AccessControlEvent] = []
        newest: tuple[int, float | None] | None = None
        async for record in dev.iter_records(since=since):
            number = record.record_no
            if number is not None and (newest is None or number > newest[0]):
                newest = (number, record.timestamp)
            batch.append(record)
            if len(batch) >= 500:
                await self._store_backfill(batch, occurrences)
                batch = []
        if batch:
            await self._store_backfill(batch, occurrences)
        if newest is not None:
            await asyncio.to_thread(self.store.set_backfill_cursor, self.device_id, *newest)

    async def _store_backfill(self, batch: list[AccessControlEvent],
                              occurrences: Occurrences) -> None:
        result = await self.hub.ingest(self.runtime, batch, source="backfill",
                                       occurrences=occurrences)
        self.backfilled += result.inserted
