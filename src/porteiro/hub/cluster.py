"""Several hub instances on one PostgreSQL database (``[hub] cluster = true``).

Each instance stores what it receives; the others must still see it: the live stream
and the dashboard of every instance show every event, Modo Online decisions of every
instance read the same site history (anti-passback across readers answered by
different instances) and the same people. :class:`ClusterFeed` does this by reading
the shared database instead of trusting local commits only:

* **events**: every ``poll_interval`` (0.2 s) it reads the rows after the last one it
  published, in commit order (``Store.events_after`` is safe with several writers, see
  migration 0007), and publishes them to the live bus and the site history, whoever
  wrote them. Local commits are not published directly in cluster mode, so every row
  is published once, in id order, on every instance.
* **people**: every ``people_interval`` (2 s) it compares the people table's size and
  newest change with what it loaded; on a difference it reloads the directory (in a
  thread) and swaps it in. Guest use counts are per instance until the next reload.

A decision taken by one instance reaches another's history within about
``poll_interval``; two requests of one person at readers answered by different
instances within that window are not serialised (one instance serialises its own).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa

from porteiro.access.people import Directory
from porteiro.store.schema import people

if TYPE_CHECKING:
    from porteiro.hub.hub import Hub

__all__ = ["ClusterFeed"]

_LOG = logging.getLogger(__name__)


class ClusterFeed:
    """Publishes every instance's events here, and keeps the people directory fresh."""

    def __init__(self, hub: Hub, *, poll_interval: float = 0.2,
                 people_interval: float = 2.0, batch: int = 1000) -> None:
        self.hub = hub
        self.poll_interval = poll_interval
        self.people_interval = people_interval
        self.batch = batch
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

    async def run(self) -> None:
        """Poll forever (a tracked task of the hub)."""
        since_people = 0.0
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.poll_events()
                since_people += self.poll_interval
                if since_people >= self.people_interval:
                    since_people = 0.0
                    await self.poll_people()
            except Exception:  # noqa: BLE001  # the database may be away: keep polling
                _LOG.exception("cluster feed: polling failed; retrying")
