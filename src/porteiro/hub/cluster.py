"""Several hub instances on one PostgreSQL database (``[hub] cluster = true``).

Each instance stores what it receives; the others must still see it: the live stream
and the dashboard of every instance show every event, Modo Online decisions of every
instance read the same site history (anti-passback across readers answered by
different instances) and the same people. :class:`ClusterFeed` does this by reading
the shared database instead of trusting local commits only:

* **events**: it reads the rows after the last one it published, in commit order
  (``Store.events_after`` is safe with several writers, see migration 0007), and
  publishes them to the live bus and the site history, whoever wrote them. Local
  commits are not published directly in cluster mode, so every row is published once,
  in id order, on every instance. It reads when woken by a notification (every
  instance's writer sends ``NOTIFY porteiro_events`` after each committed batch, and
  the feed listens (``LISTEN``) on a connection of its own), at most every ``min_interval``
  (0.05 s: a busy cluster's notifications are read together), and at the latest every
  ``idle_interval`` (1 s) as a fallback; while the ``LISTEN`` connection is down it
  polls every ``poll_interval`` (0.2 s), as it did before notifications.
* **people**: every ``people_interval`` (2 s) it compares the people table's size and
  newest change with what it loaded; on a difference it reloads the directory (in a
  thread) and swaps it in. Guest use counts are per instance until the next reload.

A decision taken by one instance reaches another's history within a commit, a
notification and a read (tens of milliseconds; ``poll_interval`` without the
notifications); two requests of one person at readers answered by different instances
within that window are not serialised (one instance serialises its own).
Notifications are per database, not per schema: instances of another partition in
other schemas of the same database wake this feed for nothing (one read that finds no
rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa

from porteiro.access.people import Directory
from porteiro.store.schema import people

if TYPE_CHECKING:
    from porteiro.hub.hub import Hub

__all__ = ["CHANNEL", "ClusterFeed"]

_LOG = logging.getLogger(__name__)

CHANNEL = "porteiro_events"
"""The PostgreSQL notification channel: a batch of events was committed."""


class ClusterFeed:
    """Publishes every instance's events here, and keeps the people directory fresh."""

    def __init__(self, hub: Hub, *, poll_interval: float = 0.2, idle_interval: float = 1.0,
                 min_interval: float = 0.05, people_interval: float = 2.0,
                 batch: int = 1000, listen: bool = True) -> None:
        self.hub = hub
        self.poll_interval = poll_interval
        """Between reads while notifications are not available."""
        self.idle_interval = idle_interval
        """Between reads with notifications and none arriving (the fallback)."""
        self.min_interval = min_interval
        """At least this between two reads (notifications are read together)."""
        self.people_interval = people_interval
        self.batch = batch
        self.listen = listen
        """Wake on ``NOTIFY`` (PostgreSQL); False: poll only."""
        self.listening = False
        """The ``LISTEN`` connection is up."""
        self.notifications = 0
        self.last_id = 0
        self._people_mark: tuple[int, float] | None = None

    def prime(self) -> None:
        """Start after what is already stored (blocking; at start)."""
        self.last_id = self.hub.store.max_event_id()
        self._people_mark = self._mark()

    def _mark(self) -> tuple[int, float]:
        with self.hub.store.engine.connect() as conn:
            count, newest = conn.execute(sa.select(sa.func.count(),
                                                   sa.func.max(people.c.updated_at))).one()
        return int(count), float(newest or 0.0)

    async def poll_events(self) -> int:
        """Publish the rows committed since the last poll; how many."""
        published = 0
        while True:
            rows = await asyncio.to_thread(self.hub.store.events_after, self.last_id,
                                           self.batch)
            if not rows:
                return published
            self.last_id = int(rows[-1]["id"])
            self.hub.bus.publish(rows)
            self.hub.online.observe(rows)
            self.hub.forwarder.notify()
            published += len(rows)
            if len(rows) < self.batch:
                return published

    async def poll_people(self) -> bool:
        """Reload the directory when another instance changed the people; True if so."""
        mark = await asyncio.to_thread(self._mark)
        if mark == self._people_mark:
            return False
        loaded = await asyncio.to_thread(self.hub.store.people.load_all)
        self.hub.people.directory = Directory({p.user_id: p for p in loaded})
        self._people_mark = mark
        _LOG.info("people directory reloaded: %d people (changed by another instance "
                  "or here)", len(loaded))
        return True

    async def _listen(self, wake: asyncio.Event) -> None:
        """Keep a ``LISTEN`` connection and set ``wake`` on every notification;
        reconnect after a failure (the feed polls meanwhile)."""
        engine = self.hub.store.engine
        args, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters: plain ones here
        failed = False
        while True:
            try:
                conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
                    *args, **params, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    wake.set()  # what was committed before LISTEN took effect
                    if failed:
                        _LOG.info("cluster feed: listening for notifications again")
                        failed = False
                    async for _ in conn.notifies():
                        self.notifications += 1
                        wake.set()
            except (psycopg.Error, OSError) as exc:
                if not failed:
                    _LOG.warning("cluster feed: no notifications (%s); polling every "
                                 "%.1f s until they are back", exc, self.poll_interval)
                    failed = True
            finally:
                self.listening = False
            await asyncio.sleep(max(1.0, self.idle_interval))

    async def run(self) -> None:
        """Read forever (a tracked task of the hub): on notifications, else polling."""
        wake = asyncio.Event()
        listener = None
        if self.listen and self.hub.store.dialect == "postgresql":
            listener = asyncio.get_running_loop().create_task(self._listen(wake),
                                                              name="hub-cluster-listen")
        people_checked = time.monotonic()
        try:
            while True:
                interval = self.idle_interval if self.listening else self.poll_interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), interval)
                wake.clear()
                try:
                    await self.poll_events()
                    if time.monotonic() - people_checked >= self.people_interval:
                        people_checked = time.monotonic()
                        await self.poll_people()
                except Exception:  # noqa: BLE001  # the database may be away: keep polling
                    _LOG.exception("cluster feed: polling failed; retrying")
                await asyncio.sleep(self.min_interval)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
