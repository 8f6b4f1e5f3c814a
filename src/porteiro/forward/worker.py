"""The durable outbox and its delivery workers.

The outbox is the event log itself. Every stored event has an id, assigned in commit
order by the single writer; each sink keeps, in the store, the id of the last event
it is done with (``sink_cursors``). "Queued for a sink" therefore means "stored with
a higher id": the queue entry *is* the event row, written in the event's own
transaction, so an event can never be stored without being queued, and nothing needs
a second write per event and sink. (With several hub instances writing at once, ids
could become visible out of order; that is for the scale-out work of [8/8].)

One :class:`SinkWorker` per sink reads the log after its cursor in batches (with the
sink's filters applied in SQL), hands each batch to the sink, retries what was not
delivered with capped exponential backoff and jitter (the sink keeps each device's
order: nothing of a device goes out before its earlier events), dead-letters what
the receiver refuses for good, and moves the cursor once the whole batch is done. A
crash between delivery and the cursor's move re-delivers that batch: at least once,
with the same event ids for receivers to dedupe. A sink that stays down only grows
its queue, bounded by its retention (events and days); what retention drops is
counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from porteiro.forward.base import Dead, Delivered, Outcome, Retry, SinkUnavailableError
from porteiro.store.serialize import event_json
from porteiro.store.store import EventQuery

if TYPE_CHECKING:
    from collections.abc import Sequence

    from porteiro.codes import Lang
    from porteiro.forward.base import Sink
    from porteiro.forward.metrics import ForwardMetrics
    from porteiro.store import Store

__all__ = ["SinkStatus", "SinkWorker"]

_LOG = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
"""How often the queue depth and lag are measured (a COUNT over the pending events)."""

State = Literal["starting", "idle", "delivering", "retrying", "stopped", "standby"]
"""``standby``: another hub instance delivers this sink (it holds the sink's lease)."""


class SinkStatus(msgspec.Struct, frozen=True):
    """What ``GET /api/sinks`` shows of one sink."""

    name: str
    type: str
    state: State
    cursor: int | None
    queue: int
    lag_seconds: float
    delivered: int
    retried: int
    dead_lettered: int
    dropped: int
    last_error: str | None
    last_error_at: float | None
    last_delivery_at: float | None


def filter_query(sink: Sink) -> EventQuery:
    """The sink's filters as a store query."""
    settings = sink.settings
    return EventQuery(devices=tuple(settings.devices), kinds=tuple(settings.kinds),
                      granted=settings.granted)


class SinkWorker:
    """Delivers the event log to one sink, in order, at least once."""

    def __init__(self, sink: Sink, store: Store, metrics: ForwardMetrics, *,
                 lang: Lang = "pt") -> None:
        self.sink = sink
        self.store = store
        self.metrics = metrics
        self.lang: Lang = sink.settings.language or lang
        self.query = filter_query(sink)
        self.wakeup = asyncio.Event()
        self.state: State = "starting"
        self.cursor: int | None = None
        self.queue = 0
        self.lag = 0.0
        self.delivered = 0
        self.retried = 0
        self.dead_lettered = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_delivery_at: float | None = None
        self._refreshed = 0.0
        self._prefetched: tuple[list[dict[str, Any]], int] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The sink's name."""
        return self.sink.name

    def status(self) -> SinkStatus:
        """A snapshot for the API."""
        return SinkStatus(
            name=self.name, type=str(getattr(self.sink.settings, "type", "")),
            state=self.state, cursor=self.cursor, queue=self.queue, lag_seconds=self.lag,
            delivered=self.delivered, retried=self.retried, dead_lettered=self.dead_lettered,
            dropped=self.dropped, last_error=self.last_error, last_error_at=self.last_error_at,
            last_delivery_at=self.last_delivery_at)

    def notify(self) -> None:
        """New events were committed."""
        self.wakeup.set()

    def start(self) -> None:
        """Start delivering (a tracked task)."""
        self._task = asyncio.create_task(self._run(), name=f"sink-{self.name}")

    async def stop(self) -> None:
        """Stop and close the sink; the cursor stays where delivery got to."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.state = "stopped"
        with contextlib.suppress(Exception):
            await self.sink.close()

    # -- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._open()
        cursor = await asyncio.to_thread(self.store.sink_cursor, self.name)
        if cursor is None:
            start = 0 if self.sink.settings.start == "beginning" else await asyncio.to_thread(
                self.store.max_event_id)
            await self._move(start)
            _LOG.info("sink %s starts after event %d (%s)", self.name, start,
                      self.sink.settings.start)
        else:
            self.cursor = cursor
            _LOG.info("sink %s resumes after event %d", self.name, cursor)
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  # the worker must outlive any one failure
                _LOG.exception("sink %s: delivery loop failed; retrying", self.name)
                self._failed(f"internal error: {exc}")
                await asyncio.sleep(5)

    async def _open(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.sink.open()
            except SinkUnavailableError as exc:
                self._failed(str(exc))
                await asyncio.sleep(self._jitter(delay))
                delay = min(delay * 2, self.sink.settings.backoff_cap)
            else:
                return

    def _load(self, after: int) -> tuple[list[dict[str, Any]], int]:
        """The next batch after ``after`` as JSON, and how far it scanned (in a thread:
        the query and the serialisation stay off the event loop)."""
        upto = self.store.max_event_id()
        batch = self.sink.settings.batch
        rows = self.store.events_after(after, batch, self.query)
        if not rows:
            return [], max(after, upto)
        # Ids up to `upto` were all visible when `rows` were read (one writer commits
        # in id order), so a short batch means everything up to `upto` was scanned.
        scanned = int(rows[-1]["id"]) if len(rows) == batch else max(upto, int(rows[-1]["id"]))
        return [event_json(row, self.lang) for row in rows], scanned

    async def _step(self) -> None:
        assert self.cursor is not None  # noqa: S101  # set before the loop
        await self._refresh()
        loaded, self._prefetched = self._prefetched, None
        if loaded is not None and int(loaded[0][0]["id"]) <= self.cursor:
            loaded = None  # retention moved past it meanwhile
        if loaded is None:
            loaded = await asyncio.to_thread(self._load, self.cursor)
        events, scanned = loaded
        if not events:
            await self._move(max(scanned, self.cursor))
            self.queue, self.lag = 0, 0.0  # caught up: nothing matching is waiting
            self.metrics.queue.labels(self.name).set(0)
            self.metrics.lag.labels(self.name).set(0)
            self.state = "idle"
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), REFRESH_SECONDS)
            return
        # Read the next batch while this one is delivered: a device with a backlog, or a
        # slow receiver, then costs no extra pause between batches.
        following = asyncio.create_task(asyncio.to_thread(self._load, scanned))
        try:
            await self._deliver(events)
        except BaseException:
            following.cancel()
            raise
        moved_past = self.cursor > scanned  # retention dropped past this batch meanwhile
        await self._move(max(scanned, self.cursor))
        nxt = await following
        self._prefetched = None if moved_past or not nxt[0] else nxt

    async def _deliver(self, events: list[dict[str, Any]]) -> None:
        pending: Sequence[dict[str, Any]] = events
        delay = 0.5
        self.state = "delivering"
        while pending:
            try:
                outcomes: dict[int, Outcome] = await self.sink.deliver(pending)
                failure = None
            except SinkUnavailableError as exc:
                outcomes, failure = {}, str(exc)
            await self._account(outcomes)
            retry = [e for e in pending
                     if not isinstance(outcomes.get(int(e["id"])), Delivered | Dead)]
            if not retry:
                return
            reasons = {o.reason for o in outcomes.values() if isinstance(o, Retry)}
            self._failed(failure or "; ".join(sorted(reasons)) or "not delivered")
            self.retried += len(retry)
            self.metrics.retried.labels(self.name).inc(len(retry))
            self.state = "retrying"
            # A receiver that stays down: retention may move the cursor past the oldest
            # events, including some of this batch; those are dropped, not retried.
            await self._refresh()
            retry = [e for e in retry if self.cursor is None or int(e["id"]) > self.cursor]
            pending = retry
            if pending:
                await asyncio.sleep(self._jitter(delay))
                delay = min(delay * 2, self.sink.settings.backoff_cap)
        self.state = "delivering"

    async def _account(self, outcomes: dict[int, Outcome]) -> None:
        delivered = sum(1 for o in outcomes.values() if isinstance(o, Delivered))
        letters = [(event_id, o.reason) for event_id, o in outcomes.items()
                   if isinstance(o, Dead)]
        if delivered:
            self.delivered += delivered
            self.metrics.delivered.labels(self.name).inc(delivered)
            self.last_delivery_at = time.time()
            self.metrics.up.labels(self.name).set(1)
        if letters:
            self.dead_lettered += len(letters)
            self.metrics.dead_lettered.labels(self.name).inc(len(letters))
            for event_id, reason in letters:
                _LOG.warning("sink %s: event %d dead-lettered: %s", self.name, event_id, reason)
            await asyncio.to_thread(self.store.add_dead_letters, self.name, letters)

    # -- bookkeeping ---------------------------------------------------------------------

    async def _move(self, cursor: int) -> None:
        if cursor != self.cursor:
            await asyncio.to_thread(self.store.set_sink_cursor, self.name, cursor)
            self.cursor = cursor

    def _failed(self, reason: str) -> None:
        if reason != self.last_error:
            _LOG.warning("sink %s: %s", self.name, reason)
        self.last_error = reason
        self.last_error_at = time.time()
        self.metrics.up.labels(self.name).set(0)

    def _jitter(self, delay: float) -> float:
        return delay * (0.5 + random.random())  # noqa: S311  # jitter, not cryptography

    def _retention_cutoff(self) -> float | None:
        days = self.sink.settings.retention_days
        return None if days is None else time.time() - days * 86400

    def _drop(self, count: int, why: str) -> None:
        if count > 0:
            self.dropped += count
            self.metrics.dropped.labels(self.name).inc(count)
            _LOG.warning("sink %s: %d event(s) dropped undelivered: %s", self.name, count, why)

    async def _refresh(self) -> None:
        """Measure the queue, apply retention to it, publish the gauges (rate-limited)."""
        now = time.monotonic()
        if now - self._refreshed < REFRESH_SECONDS or self.cursor is None:
            return
        self._refreshed = now
        count, oldest = await asyncio.to_thread(self.store.pending, self.cursor, self.query)
        before = count
        limit = self.sink.settings.retention_events
        if count > limit:  # keep the newest `limit`
            skip = await asyncio.to_thread(self.store.events_after, self.cursor,
                                           count - limit, self.query)
            if skip:
                await self._move(int(skip[-1]["id"]))
        cutoff = self._retention_cutoff()
        if cutoff is not None and oldest is not None and oldest < cutoff:
            first = await asyncio.to_thread(self.store.first_id_received_after, self.cursor,
                                            cutoff)
            await self._move((first - 1) if first is not None else await asyncio.to_thread(
                self.store.max_event_id))
        if before and (count > limit or (
                cutoff is not None and oldest is not None and oldest < cutoff)):
            count, oldest = await asyncio.to_thread(self.store.pending, self.cursor, self.query)
            self._drop(before - count, f"retention ({limit} events, "
                       f"{self.sink.settings.retention_days} days)")
        self.queue = count
        self.lag = max(0.0, time.time() - oldest) if oldest is not None else 0.0
        self.metrics.queue.labels(self.name).set(self.queue)
        self.metrics.lag.labels(self.name).set(self.lag)
