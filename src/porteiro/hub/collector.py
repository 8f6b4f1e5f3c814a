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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from porteiro.device import Connected, Device, Disconnected
from porteiro.events import Event
from porteiro.exceptions import PorteiroError

if TYPE_CHECKING:
    from porteiro.hub.config import DeviceSettings
    from porteiro.store import Store, Writer

__all__ = ["Collector"]

_LOG = logging.getLogger(__name__)
BACKFILL_MARGIN = timedelta(seconds=60)
"""How far before the newest stored event a backfill starts (clock skew, same-second
events); duplicates are dropped by the store, so the margin costs nothing but reads."""


class Collector:
    """Keeps one attach-mode device's events flowing into the store."""

    def __init__(self, settings: DeviceSettings, device_id: int, store: Store,
                 writer: Writer, *, heartbeat: int = 5) -> None:
        self.settings = settings
        self.device_id = device_id
        self.store = store
        self.writer = writer
        self.heartbeat = heartbeat
        self.live = 0
        self.backfilled = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
        delay = 1.0
        while True:
            try:
                await self._collect()
            except asyncio.CancelledError:
                raise
            except PorteiroError as exc:
                _LOG.warning("collector %s: %s; restarting in %.0f s", self.settings.name, exc,
                             delay)
            except Exception:  # noqa: BLE001  # a supervisor restarts on anything, and logs it
                _LOG.exception("collector %s crashed; restarting", self.settings.name)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)

    async def _collect(self) -> None:
        settings = self.settings
        offset = settings.offset_seconds()
        async with (
            Device(f"{settings.host}:{settings.port}", user=settings.user,
                   password=settings.password, utc_offset=timedelta(seconds=offset)) as dev,
            dev.events(heartbeat=self.heartbeat) as stream,
        ):
            async for item in stream:
                if isinstance(item, Connected):
                    await self._backfill(dev)
                    self.connected.set()
                elif isinstance(item, Disconnected):
                    self.connected.clear()
                elif isinstance(item, Event):
                    await self.writer.write(self.device_id, settings.name, [item],
                                            source="attach", utc_offset_s=offset)
                    self.live += 1

    async def _backfill(self, dev: Device) -> None:
        newest = await asyncio.to_thread(self.store.last_access_ts, self.device_id)
        since = (datetime.fromtimestamp(newest, UTC) - BACKFILL_MARGIN
                 if newest is not None else None)
        batch: list[Event] = []
        async for record in dev.iter_records(since=since):
            batch.append(record)
            if len(batch) >= 500:
                self.backfilled += (await self.writer.write(
                    self.device_id, self.settings.name, batch, source="backfill")).inserted
                batch = []
        if batch:
            self.backfilled += (await self.writer.write(
                self.device_id, self.settings.name, batch, source="backfill")).inserted
