"""Persistence behind one interface: SQLite (WAL, default) or PostgreSQL, same code.

:class:`Store` owns the engine and the schema (migrated with alembic on open).
Writes go through :class:`Writer`: one thread, one connection, batches — callers
enqueue events and await a future that resolves once the batch holding them is
committed (group commit), so many concurrent pushes share one ``fsync`` and a reply of
HTTP 200 always means "on disk". Duplicates (resends, live + backfill) are dropped by
the unique event key, in the same statement.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite

from porteiro.events import AccessControlEvent, Event
from porteiro.store.identity import event_key
from porteiro.store.schema import devices, events, snapshots

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Store", "StoredBatch", "Writer"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a 200 to a device means on disk
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """The database: open, migrate, register devices, read events."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the latest revision (``porteiro db upgrade``)."""
        config = Config()
        config.set_main_option("script_location",
                               str(files("porteiro.store").joinpath("migrations")))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def ensure_device(self, name: str, **fields: Any) -> int:
        """The id of device ``name``, created (or updated with ``fields``) as needed."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(devices.c.id).where(devices.c.name == name)).first()
            if row is None:
                return int(conn.execute(devices.insert().values(name=name, **fields)
                                        .returning(devices.c.id)).scalar_one())
            if fields:
                conn.execute(devices.update().where(devices.c.id == row.id).values(**fields))
            return int(row.id)

    def last_access_ts(self, device_id: int) -> float | None:
        """The newest stored access event's time for a device (where backfill resumes)."""
        query = sa.select(sa.func.max(events.c.ts)).where(
            events.c.device_id == device_id, events.c.kind == "access_control")
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return float(value) if value is not None else None

    def count_events(self, device_id: int | None = None) -> int:
        """How many events are stored (for one device or all)."""
        query = sa.select(sa.func.count()).select_from(events)
        if device_id is not None:
            query = query.where(events.c.device_id == device_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def list_events(self, *, device_id: int | None = None, after_id: int = 0, limit: int = 100
                    ) -> list[dict[str, Any]]:
        """Stored events in id order after ``after_id`` (cursor pagination)."""
        query = sa.select(events).where(events.c.id > after_id).order_by(events.c.id)
        if device_id is not None:
            query = query.where(events.c.device_id == device_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query.limit(limit))]  # noqa: SLF001


class StoredBatch(msgspec.Struct, frozen=True):
    """What a write did: events inserted and duplicates dropped."""

    inserted: int
    duplicates: int


def _row(device_id: int, device: str, event: Event, *, source: str, offset_s: int,
         received: float) -> dict[str, Any]:
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
    return row


class _Job(msgspec.Struct):
    rows: list[dict[str, Any]]
    images: list[bytes | None]
    future: asyncio.Future[StoredBatch]
    loop: asyncio.AbstractEventLoop


class Writer:
    """The single writer: a thread that commits queued events in batches."""

    def __init__(self, store: Store, *, max_batch: int = 2000) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="porteiro-writer", daemon=True)
        self.batches = 0
        self.inserted = 0
        self.duplicates = 0

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    @property
    def depth(self) -> int:
        """Jobs waiting (a metric)."""
        return self._queue.qsize()

    async def write(self, device_id: int, device: str, items: Sequence[Event], *,
                    source: str, utc_offset_s: int = 0,
                    images: Sequence[bytes | None] | None = None) -> StoredBatch:
        """Store ``items`` (with an optional snapshot each); resolves once committed."""
        loop = asyncio.get_running_loop()
        received = time.time()
        rows = [_row(device_id, device, e, source=source, offset_s=utc_offset_s,
                     received=received) for e in items]
        job = _Job(rows, list(images) if images is not None else [None] * len(rows),
                   loop.create_future(), loop)
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
            try:
                results = self._commit(jobs)
            except Exception as exc:  # noqa: BLE001  # every waiter must hear about it
                for job in jobs:
                    job.loop.call_soon_threadsafe(_fail, job.future, exc)
                continue
            for job, result in zip(jobs, results, strict=True):
                job.loop.call_soon_threadsafe(_resolve, job.future, result)

    def _commit(self, jobs: list[_Job]) -> list[StoredBatch]:
        engine = self.store.engine
        insert = (sqlite.insert(events) if engine.dialect.name == "sqlite"
                  else postgresql.insert(events))
        results = []
        with engine.begin() as conn:
            for job in jobs:
                inserted = 0
                for row, image in zip(job.rows, job.images, strict=True):
                    statement = insert.values(**row).on_conflict_do_nothing(
                        index_elements=["event_key"]).returning(events.c.id)
                    new_id = conn.execute(statement).scalar()
                    if new_id is None:
                        if row["rec_no"] is not None:  # backfill knows the record number
                            conn.execute(events.update().where(
                                events.c.event_key == row["event_key"],
                                events.c.rec_no.is_(None)).values(rec_no=row["rec_no"]))
                        continue
                    inserted += 1
                    if image:
                        conn.execute(snapshots.insert().values(event_id=new_id, content=image))
                results.append(StoredBatch(inserted, len(job.rows) - inserted))
        self.batches += 1
        self.inserted += sum(r.inserted for r in results)
        self.duplicates += sum(r.duplicates for r in results)
        return results


def _resolve(future: asyncio.Future[StoredBatch], result: StoredBatch) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[StoredBatch], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)

