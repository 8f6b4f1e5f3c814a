"""The single writer: one thread, one connection, batches (group commit).

Callers enqueue events and await a future that resolves once the batch holding them
is committed, so many concurrent pushes share one commit (one ``fsync``) and a reply
of HTTP 200 always means "on disk". Duplicates (resends, live + backfill) are dropped
by the unique event key inside the same statement (``ON CONFLICT DO NOTHING``), and a
backfilled duplicate fills in the record number the live copy lacked.

After each commit the writer hands the newly inserted rows (with their ids, in id
order) to its listeners on their event loops: the live stream, metrics and, later, the
outbox read exactly what is durable, never what merely arrived.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from porteiro.events import AccessControlEvent, Event
from porteiro.store.identity import event_key
from porteiro.store.schema import events, snapshots

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from porteiro.store.store import Store

__all__ = ["StoredBatch", "Writer", "event_row"]

_LOG = logging.getLogger(__name__)

class StoredBatch(msgspec.Struct, frozen=True):
    """What one write did: events inserted and duplicates dropped, and the new ids
    (None for a duplicate) in the order the events were given."""

    inserted: int
    duplicates: int
    ids: tuple[int | None, ...] = ()


def event_row(device_id: int, device: str, event: Event, *, source: str, offset_s: int,
              received: float) -> dict[str, Any]:
    """The ``events`` row for ``event`` (decoded columns for filtering, raw data)."""
    row: dict[str, Any] = {
        "device_id": device_id, "event_key": event_key(device, event), "rec_no": None,
        "code": event.code, "kind": event.kind.value, "action": event.action,
        "idx": event.index, "ts": event.timestamp, "utc_offset_s": offset_s,
        "user_id": None, "card_no": None, "door": None, "direction": None, "granted": None,
        "method": None, "error": None, "source": source, "received_at": received,
        "data": json.dumps(event.data, ensure_ascii=False, default=str),
    }
    if isinstance(event, AccessControlEvent):
        row.update(rec_no=event.record_no, user_id=event.user_id, card_no=event.card_no,
                   door=event.door, granted=event.granted,
                   direction=event.direction.value if event.direction else None,
                   method=int(event.method) if event.method is not None else None,
                   error=int(event.error) if event.error is not None else None)
    elif "Door" in event.data:
        door = event.data.get("Door")
        row["door"] = door if isinstance(door, int) else None
    return row


class _Job(msgspec.Struct):
    rows: list[dict[str, Any]]
    images: list[bytes | None]
    future: asyncio.Future[StoredBatch]
    loop: asyncio.AbstractEventLoop
    device: str


class Writer:
    """The single writer: a thread that commits queued events in batches."""

    def __init__(self, store: Store, *, max_batch: int = 2000) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="porteiro-writer", daemon=True)
        self._listeners: list[tuple[asyncio.AbstractEventLoop,
                                    Callable[[list[dict[str, Any]]], None]]] = []
        self.batches = 0
        self.inserted = 0
        self.duplicates = 0
        self.failures = 0
        self.last_commit_seconds = 0.0

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def add_listener(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``callback(rows)`` on the running loop after every commit that inserted
        rows; each row has its ``id`` and the device ``name``."""
        self._listeners.append((asyncio.get_running_loop(), callback))

    @property
    def depth(self) -> int:
        """Jobs waiting (a metric)."""
        return self._queue.qsize()

    async def write(self, device_id: int, device: str, items: Sequence[Event], *,
                    source: str, utc_offset_s: int = 0,
                    images: Sequence[bytes | None] | None = None) -> StoredBatch:
        """Store ``items`` (with an optional snapshot each); resolves once committed."""
        if not items:
            return StoredBatch(0, 0)
        loop = asyncio.get_running_loop()
        received = time.time()
        rows = [event_row(device_id, device, e, source=source, offset_s=utc_offset_s,
                          received=received) for e in items]
        job = _Job(rows, list(images) if images is not None else [None] * len(rows),
                   loop.create_future(), loop, device)
        self._queue.put(job)
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            size = len(first.rows)
            # Group commit: take whatever else is already waiting, up to a bound.
            while size < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
                size += len(nxt.rows)
            started = time.perf_counter()
            try:
                results, inserted_rows = self._commit(jobs)
            except Exception as exc:  # noqa: BLE001  # every waiter must hear about it
                self.failures += 1
                _LOG.warning("commit of %d event(s) failed: %s", size, exc)
                for job in jobs:
                    job.loop.call_soon_threadsafe(_fail, job.future, exc)
                continue
            self.last_commit_seconds = time.perf_counter() - started
            for job, result in zip(jobs, results, strict=True):
                job.loop.call_soon_threadsafe(_resolve, job.future, result)
            if inserted_rows:
                for loop, callback in self._listeners:
                    loop.call_soon_threadsafe(callback, inserted_rows)

    def _commit(self, jobs: list[_Job]) -> tuple[list[StoredBatch], list[dict[str, Any]]]:
        engine = self.store.engine
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        all_rows = [row for job in jobs for row in job.rows]
        ids: dict[str, int] = {}
        with engine.begin() as conn:
            # One multi-row statement per batch; conflicting keys return nothing.
            statement = (dialect.insert(events).on_conflict_do_nothing(
                index_elements=["event_key"]).returning(events.c.id, events.c.event_key))
            for returned in conn.execute(statement, all_rows):
                ids[returned.event_key] = int(returned.id)
            backfilled = [{"k": r["event_key"], "n": r["rec_no"]} for r in all_rows
                          if r["event_key"] not in ids and r["rec_no"] is not None]
            if backfilled:  # the record log knows the number a live copy lacked
                conn.execute(events.update().where(
                    events.c.event_key == sa.bindparam("k"), events.c.rec_no.is_(None))
                    .values(rec_no=sa.bindparam("n")), backfilled)
            images = [{"event_id": ids[row["event_key"]], "content": image}
                      for job in jobs for row, image in zip(job.rows, job.images, strict=True)
                      if image and row["event_key"] in ids]
            if images:
                conn.execute(snapshots.insert(), images)
        results: list[StoredBatch] = []
        inserted_rows: list[dict[str, Any]] = []
        claimed: set[str] = set()
        for job in jobs:
            job_ids: list[int | None] = []
            for row in job.rows:
                key = row["event_key"]
                new_id = ids.get(key) if key not in claimed else None
                if new_id is not None:
                    claimed.add(key)  # the same event twice in one batch: stored once
                    inserted_rows.append({**row, "id": new_id, "device": job.device,
                                          "has_snapshot": False})
                job_ids.append(new_id)
            inserted = sum(1 for i in job_ids if i is not None)
            results.append(StoredBatch(inserted, len(job.rows) - inserted, tuple(job_ids)))
        with_image = {ids[row["event_key"]] for job in jobs
                      for row, image in zip(job.rows, job.images, strict=True)
                      if image and row["event_key"] in ids}
        for row in inserted_rows:
            row["has_snapshot"] = row["id"] in with_image
        inserted_rows.sort(key=lambda r: int(r["id"]))
        self.batches += 1
        self.inserted += len(inserted_rows)
        self.duplicates += len(all_rows) - len(inserted_rows)
        return results, inserted_rows


def _resolve(future: asyncio.Future[StoredBatch], result: StoredBatch) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[StoredBatch], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
