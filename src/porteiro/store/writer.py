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
import operator
import queue
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

import msgspec
import psycopg

from porteiro.events import AccessControlEvent, Event
from porteiro.store.identity import Occurrences, event_key
from porteiro.store.store import _sqlite_pragmas

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from porteiro.store.store import Store

__all__ = ["StoredBatch", "Writer", "event_row"]

_LOG = logging.getLogger(__name__)

_COLUMNS = ("device_id", "event_key", "rec_no", "code", "kind", "action", "idx", "ts",
            "utc_offset_s", "user_id", "card_no", "door", "direction", "granted", "method",
            "error", "source", "received_at", "data")
_VALUES = operator.itemgetter(*_COLUMNS)
_ID = operator.itemgetter("id")
_SQLITE_ROWS = 500 if sqlite3.sqlite_version_info >= (3, 32) else 45
"""Rows per multi-row INSERT on SQLite: 19 parameters each, at most 32,766 (999 before
3.32)."""
_PG_TYPES = ("int4", "text", "int8", "text", "text", "text", "int4", "float8", "int4", "text",
             "text", "int4", "text", "bool", "int4", "int4", "text", "float8", "text")
"""The array type of each column in :data:`_COLUMNS` (PostgreSQL)."""
_PG_INSERT = (
    f"INSERT INTO events ({', '.join(_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"%b::{kind}[]" for kind in _PG_TYPES)
    + ") ON CONFLICT (event_key) DO NOTHING RETURNING id, event_key")
"""One statement for any number of rows: a parameter per column (an array each), so
the text is parsed and planned once, not per row count."""
_PG_CAST: dict[str, Callable[[Any], Any]] = {"int4": int, "int8": int, "float8": float,
                                             "bool": bool, "text": str}
_PG_KIND: dict[str, type] = {"int4": int, "int8": int, "float8": float, "bool": bool,
                             "text": str}


def _pg_column(values: tuple[Any, ...], kind: str) -> list[Any]:
    """A column as a list of one Python type (psycopg refuses mixed lists, e.g. an int
    ``ts`` among floats)."""
    wanted = _PG_KIND[kind]
    if all(type(v) is wanted or v is None for v in values):
        return list(values)
    cast = _PG_CAST[kind]
    return [None if v is None else cast(v) for v in values]


def _sqlite_ids(cursor: Any, part: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """The ids of the rows one SQLite multi-row INSERT ... ON CONFLICT DO NOTHING just
    stored, without RETURNING (which costs a step, and a GIL release, per row).

    The rows inserted by one statement get consecutive ids ending at ``lastrowid``: the
    table's ``id`` is the rowid (INTEGER PRIMARY KEY), each new row gets the largest
    rowid + 1 (the row just inserted), VALUES rows go in order, and nothing else can
    write in between (SQLite has one writer at a time; ids stay far below the 2**63 - 1
    after which SQLite would pick them at random). When every row went in, they are
    ``lastrowid - n + 1 ..  lastrowid`` in order. When some were duplicates, the new
    ones are the ``rowcount`` largest ids up to ``lastrowid`` among the statement's
    ``len(part)`` last ones: with AUTOINCREMENT a conflicting row still uses up the id
    it was given (so the new ids have gaps, and the range holds only new rows), without
    it the conflicting row does not (so the range may start with older rows, below the
    new ones); either way the largest ``rowcount`` of them are this statement's.
    """
    count = cursor.rowcount
    if count <= 0:
        return
    last = int(cursor.lastrowid)
    if count == len(part):
        first = last - count + 1
        for offset, row in enumerate(part):
            ids[row["event_key"]] = first + offset
        return
    cursor.execute("SELECT id, event_key FROM events WHERE id > ? AND id <= ?"
                   " ORDER BY id DESC LIMIT ?", (last - len(part), last, count))
    for new_id, key in cursor.fetchall():
        ids[key] = int(new_id)


class StoredBatch(msgspec.Struct, frozen=True):
    """What one write did: events inserted and duplicates dropped, and the new ids
    (None for a duplicate) in the order the events were given."""

    inserted: int
    duplicates: int
    ids: tuple[int | None, ...] = ()


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)
"""``json.dumps(data, ensure_ascii=False, default=str)`` without building an encoder
per call (same text)."""


def event_row(device_id: int, device: str, event: Event, *, source: str, offset_s: int,
              received: float, key: str | None = None) -> dict[str, Any]:
    """The ``events`` row for ``event`` (decoded columns for filtering, raw data)."""
    data = event.data
    if key is None:
        key = event_key(device, event)
    # An event without a device time (``_Button_``) is filed under its arrival.
    ts = event.timestamp if event.timestamp is not None else received
    if isinstance(event, AccessControlEvent):
        method, error, direction = event.method, event.error, event.direction
        return {
            "device_id": device_id, "event_key": key,
            "rec_no": event.record_no, "code": event.code, "kind": event.kind.value,
            "action": event.action, "idx": event.index, "ts": ts,
            "utc_offset_s": offset_s, "user_id": event.user_id, "card_no": event.card_no,
            "door": event.door, "direction": direction.value if direction else None,
            "granted": event.granted, "method": int(method) if method is not None else None,
            "error": int(error) if error is not None else None, "source": source,
            "received_at": received, "data": _JSON.encode(data),
        }
    door = data.get("Door") if "Door" in data else None
    return {
        "device_id": device_id, "event_key": key, "rec_no": None,
        "code": event.code, "kind": event.kind.value, "action": event.action,
        "idx": event.index, "ts": ts, "utc_offset_s": offset_s,
        "user_id": None, "card_no": None, "door": door if isinstance(door, int) else None,
        "direction": None, "granted": None, "method": None, "error": None, "source": source,
        "received_at": received, "data": _JSON.encode(data),
    }


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
        self._statements: dict[int, str] = {}
        self._raw: sqlite3.Connection | None = None
        # PostgreSQL: no thread. One task on the event loop commits the queued jobs in
        # batches on an asyncio connection, so the loop serves requests while a commit
        # is on the wire (a thread would fight the request thread for the GIL around
        # every round trip).
        self._async = store.dialect == "postgresql"
        self._pending: list[_Job] = []
        self._flusher: asyncio.Task[None] | None = None
        self._owner: asyncio.AbstractEventLoop | None = None
        self._aconn: psycopg.AsyncConnection[Any] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the writer thread (SQLite; PostgreSQL commits on the writers' loop)."""
        if not self._async:
            self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._async:
            self._close_async()
        elif self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def add_listener(self, callback: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``callback(rows)`` on the running loop after every commit that inserted
        rows; each row has its ``id`` and the device ``name``."""
        self._listeners.append((asyncio.get_running_loop(), callback))

    @property
    def depth(self) -> int:
        """Jobs waiting (a metric)."""
        return len(self._pending) if self._async else self._queue.qsize()

    async def write(self, device_id: int, device: str, items: Sequence[Event], *,
                    source: str, utc_offset_s: int = 0,
                    images: Sequence[bytes | None] | None = None,
                    occurrences: Occurrences | None = None) -> StoredBatch:
        """Store ``items`` (with an optional snapshot each); resolves once committed.

        ``occurrences`` numbers identical events across calls (a live stream, one
        backfill run); without it they are numbered within this call (one push body).
        """
        if not items:
            return StoredBatch(0, 0)
        loop = asyncio.get_running_loop()
        received = time.time()
        counter = occurrences if occurrences is not None else Occurrences()
        rows = [event_row(device_id, device, e, source=source, offset_s=utc_offset_s,
                          received=received, key=counter.key(device, e)) for e in items]
        image_list: list[bytes | None] = (list(images) if images is not None
                                          else [None] * len(rows))
        if self._async:
            return await self._submit(rows, image_list, device)
        job = _Job(rows, image_list, loop.create_future(), loop, device)
        self._queue.put(job)
        return await job.future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._drop_raw()
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
                results, inserted_rows = self._commit_sqlite(jobs)
            except Exception as exc:  # noqa: BLE001  # every waiter must hear about it
                self._drop_raw()
                self.failures += 1
                _LOG.warning("commit of %d event(s) failed: %s", size, exc)
                for job in jobs:
                    job.loop.call_soon_threadsafe(_fail, job.future, exc)
                continue
            self.last_commit_seconds = time.perf_counter() - started
            # One wake-up per event loop for the whole batch (its waiters and its
            # listeners), not one per job or per listener.
            done: dict[asyncio.AbstractEventLoop, _Delivery] = {}
            for job, result in zip(jobs, results, strict=True):
                delivery = done.get(job.loop)
                if delivery is None:
                    delivery = done[job.loop] = ([], [])
                delivery[0].append((job.future, result))
            if inserted_rows:
                for loop, callback in self._listeners:
                    delivery = done.get(loop)
                    if delivery is None:
                        delivery = done[loop] = ([], [])
                    delivery[1].append(callback)
            for loop, delivery in done.items():
                loop.call_soon_threadsafe(_deliver, delivery, inserted_rows)

    # -- SQLite: the writer thread --------------------------------------------------------

    def _raw_connection(self) -> sqlite3.Connection:
        """The writer thread's own sqlite3 connection, kept open while the writer runs
        (opening one costs the pragmas): autocommit mode (``isolation_level=None``), so
        a transaction is exactly what :meth:`_commit_sqlite` asks for. Same pragmas as
        the store's connections (WAL, ``synchronous=FULL``, foreign keys, busy
        timeout). SQLAlchemy's transaction and connection bookkeeping cost more per
        batch than the INSERT, and every statement releases and retakes the GIL."""
        if self._raw is None:
            engine = self.store.engine
            args, kwargs = engine.dialect.create_connect_args(engine.url)
            connect: Callable[..., sqlite3.Connection] = sqlite3.connect
            raw = connect(*args, **kwargs)
            try:
                _sqlite_pragmas(raw, None)
            except BaseException:
                raw.close()
                raise
            raw.isolation_level = None
            self._raw = raw
        return self._raw

    def _drop_raw(self) -> None:
        """Close the writer's connection (stopping, or after a failed commit: the next
        batch starts on a fresh one)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                if raw.in_transaction:
                    raw.rollback()
                raw.close()
            except Exception:  # noqa: BLE001  # a broken connection is dropped all the same
                _LOG.debug("writer: closing the connection failed", exc_info=True)

    def _commit_sqlite(self, jobs: list[_Job]
                       ) -> tuple[list[StoredBatch], list[dict[str, Any]]]:
        """Commit ``jobs`` on SQLite. Live events without snapshots, up to
        :data:`_SQLITE_ROWS` of them, are one INSERT in autocommit mode: SQLite commits
        (and syncs, ``synchronous=FULL``) before the statement returns, one GIL release
        for the whole batch. Anything else is ``BEGIN IMMEDIATE`` ... ``COMMIT``."""
        conn = self._raw_connection()
        all_rows = [row for job in jobs for row in job.rows]
        ids: dict[str, int] = {}
        with_images = any(image for job in jobs for image in job.images)
        cursor = conn.cursor()
        try:
            if (not with_images and len(all_rows) <= _SQLITE_ROWS
                    and all(row["rec_no"] is None for row in all_rows)):
                params: list[Any] = []
                for row in all_rows:
                    params.extend(_VALUES(row))
                cursor.execute(self._insert_sql(len(all_rows)), params)
                # Committed. With duplicates among them, the new rows' ids are read back
                # by id range: only this thread inserts events and ids are never reused
                # (AUTOINCREMENT), so the range holds exactly this statement's rows.
                _sqlite_ids(cursor, all_rows, ids)
                return self._results(jobs, all_rows, ids)
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(all_rows), _SQLITE_ROWS):
                    part = all_rows[start:start + _SQLITE_ROWS]
                    params = []
                    for row in part:
                        params.extend(_VALUES(row))
                    cursor.execute(self._insert_sql(len(part)), params)
                    _sqlite_ids(cursor, part, ids)
                backfilled = [(r["rec_no"], r["event_key"]) for r in all_rows
                              if r["event_key"] not in ids and r["rec_no"] is not None]
                if backfilled:  # the record log knows the number a live copy lacked
                    cursor.executemany(_SQLITE_BACKFILL, backfilled)
                images = _snapshots(jobs, ids)
                if images:
                    cursor.executemany(_SQLITE_SNAPSHOT, images)
                cursor.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        finally:
            cursor.close()
        return self._results(jobs, all_rows, ids)

    def _insert_sql(self, count: int) -> str:
        """SQLite: ``INSERT ... VALUES (?, ...) x count ON CONFLICT DO NOTHING``, built
        once per row count."""
        sql = self._statements.get(count)
        if sql is None:
            one = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
            sql = (f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
                   + ", ".join([one] * count) + " ON CONFLICT (event_key) DO NOTHING")
            self._statements[count] = sql
        return sql

    def _results(self, jobs: list[_Job], all_rows: list[dict[str, Any]], ids: dict[str, int]
                 ) -> tuple[list[StoredBatch], list[dict[str, Any]]]:
        """Each job's result and the inserted rows in id order, once committed."""
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
            inserted = len(job_ids) - job_ids.count(None)
            results.append(StoredBatch(inserted, len(job.rows) - inserted, tuple(job_ids)))
        if any(image for job in jobs for image in job.images):
            with_image = {ids[row["event_key"]] for job in jobs
                          for row, image in zip(job.rows, job.images, strict=True)
                          if image and row["event_key"] in ids}
            for row in inserted_rows:
                row["has_snapshot"] = row["id"] in with_image
        inserted_rows.sort(key=_ID)
        self.batches += 1
        self.inserted += len(inserted_rows)
        self.duplicates += len(all_rows) - len(inserted_rows)
        return results, inserted_rows


    # -- PostgreSQL: the writer task on the event loop ------------------------------------

    async def _submit(self, rows: list[dict[str, Any]], images: list[bytes | None],
                      device: str) -> StoredBatch:
        loop = asyncio.get_running_loop()
        owner = self._owner
        if owner is not loop:
            if owner is not None and owner.is_running() and not owner.is_closed():
                # Another loop's task commits (one writer, commits in id order).
                return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
                    self._submit(rows, images, device), owner))
            if self._flusher is not None:  # left behind by a loop that stopped
                self._flusher = None
                self._drop_async_connection()
            self._owner = loop
        if self._closing:
            raise RuntimeError("the writer is closed")
        job = _Job(rows, images, loop.create_future(), loop, device)
        self._pending.append(job)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush(), name="porteiro-writer")
        return await job.future

    async def _flush(self) -> None:
        """Commit what is pending, batch after batch, until nothing is (group commit:
        whatever arrives during a commit goes into the next one)."""
        jobs: list[_Job] = []
        try:
            while self._pending:
                size = 0
                for taken, job in enumerate(self._pending):  # noqa: B007
                    if size >= self.max_batch:
                        break
                    size += len(job.rows)
                else:
                    taken = len(self._pending)
                jobs, self._pending = self._pending[:taken], self._pending[taken:]
                started = time.perf_counter()
                try:
                    results, inserted_rows = await self._commit_async_retrying(jobs)
                except Exception as exc:  # noqa: BLE001  # every waiter must hear about it
                    self.failures += 1
                    _LOG.warning("commit of %d event(s) failed: %s", size, exc)
                    for job in jobs:
                        _fail(job.future, exc)
                    jobs = []
                    continue
                self.last_commit_seconds = time.perf_counter() - started
                for job, result in zip(jobs, results, strict=True):
                    if not job.future.done():
                        job.future.set_result(result)
                jobs = []
                if inserted_rows:
                    self._notify(inserted_rows)
                    if self.store.several_writers:
                        await self._announce()
        except BaseException:  # cancelled (the loop is going away): nobody is left hanging
            for job in jobs + self._pending:
                job.future.cancel()
            self._pending = []
            raise
        finally:
            if self._flusher is asyncio.current_task():
                self._flusher = None
            if self._closing:
                await self._close_async_connection()

    def _notify(self, rows: list[dict[str, Any]]) -> None:
        owner = self._owner
        for loop, callback in self._listeners:
            if loop is owner:
                try:
                    callback(rows)
                except Exception:  # noqa: BLE001  # one failing listener must not starve the others
                    _LOG.exception("commit listener %r failed", callback)
            else:
                loop.call_soon_threadsafe(_deliver, ([], [callback]), rows)

    async def _announce(self) -> None:
        """Cluster: ``NOTIFY`` the instances' feeds that a batch was committed (after
        its waiters were answered; the feeds also poll, so a failure only delays)."""
        conn = self._aconn
        if conn is None or conn.closed:
            return
        try:
            await conn.execute(_PG_NOTIFY)
        except psycopg.Error as exc:
            _LOG.debug("NOTIFY after a commit failed: %s", exc)

    async def _async_connection(self) -> psycopg.AsyncConnection[Any]:
        if self._aconn is None or self._aconn.closed:
            engine = self.store.engine
            args, params = engine.dialect.create_connect_args(engine.url)
            params.pop("context", None)  # SQLAlchemy's adapters: plain ones here
            self._aconn = await psycopg.AsyncConnection.connect(
                *args, **params, autocommit=True)
        return self._aconn

    async def _commit_async_retrying(self, jobs: list[_Job]
                                     ) -> tuple[list[StoredBatch], list[dict[str, Any]]]:
        """:meth:`_commit_async`; once more on a new connection when the kept one turned
        out dead (the database restarted)."""
        kept = self._aconn is not None and not self._aconn.closed
        try:
            return await self._commit_async(jobs)
        except psycopg.OperationalError:
            conn = self._aconn
            if not (kept and conn is not None and (conn.broken or conn.closed)):
                raise
            await self._close_async_connection()
            _LOG.info("writer: database connection lost; retrying on a new one")
            return await self._commit_async(jobs)

    async def _commit_async(self, jobs: list[_Job]
                            ) -> tuple[list[StoredBatch], list[dict[str, Any]]]:
        conn = await self._async_connection()
        all_rows = [row for job in jobs for row in job.rows]
        columns = list(zip(*map(_VALUES, all_rows), strict=True))
        arrays = [_pg_column(values, kind) for values, kind in zip(columns, _PG_TYPES,
                                                                   strict=True)]
        ids: dict[str, int] = {}
        with_images = any(image for job in jobs for image in job.images)
        if not with_images and all(row["rec_no"] is None for row in all_rows):
            # Live events without snapshots: one statement is the whole transaction
            # (autocommit), committed -- synchronously, on disk -- when it returns.
            async with conn.cursor() as cursor:
                await cursor.execute(_PG_INSERT, arrays)
                for new_id, key in await cursor.fetchall():
                    ids[key] = int(new_id)
        else:
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.execute(_PG_INSERT, arrays)
                for new_id, key in await cursor.fetchall():
                    ids[key] = int(new_id)
                backfilled = [(r["rec_no"], r["event_key"]) for r in all_rows
                              if r["event_key"] not in ids and r["rec_no"] is not None]
                if backfilled:  # the record log knows the number a live copy lacked
                    await cursor.executemany(_PG_BACKFILL, backfilled)
                images = _snapshots(jobs, ids)
                if images:
                    await cursor.executemany(_PG_SNAPSHOT, images)
        return self._results(jobs, all_rows, ids)

    def _close_async(self) -> None:
        """:meth:`close` for PostgreSQL, from the writer's loop or from another thread."""
        self._closing = True
        owner = self._owner
        if owner is None or owner.is_closed():
            self._drop_async_connection()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is owner:  # cannot wait here: close now if idle, else when done
            if self._flusher is None:
                self._drop_async_connection()
            return
        if owner.is_running():
            asyncio.run_coroutine_threadsafe(self._drain(), owner).result(timeout=30)
        else:
            self._drop_async_connection()

    async def _drain(self) -> None:
        flusher = self._flusher
        if flusher is not None:
            await asyncio.wait([flusher])
        await self._close_async_connection()

    async def _close_async_connection(self) -> None:
        conn, self._aconn = self._aconn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # noqa: BLE001  # a dead connection is dropped all the same
                _LOG.debug("writer: closing the connection failed", exc_info=True)

    def _drop_async_connection(self) -> None:
        """Close the connection without a loop (libpq's close is synchronous)."""
        conn, self._aconn = self._aconn, None
        if conn is not None:
            conn.pgconn.finish()


def _snapshots(jobs: list[_Job], ids: dict[str, int]) -> list[tuple[int, bytes]]:
    """(event id, image) for the new rows of a batch: one per event. The same event
    may come twice in one batch, each with its image (a reader resending a push whose
    answer it did not get while the first is still waiting for its commit; a Modo Online
    decision and the reader's own record of it): the first image is kept, as the first
    row is. A second insert for that id would break the snapshots' primary key and fail
    the whole batch, every other waiter's events with it."""
    out: dict[int, bytes] = {}
    for job in jobs:
        for row, image in zip(job.rows, job.images, strict=True):
            if image:
                new_id = ids.get(row["event_key"])
                if new_id is not None and new_id not in out:
                    out[new_id] = image
    return list(out.items())


_SQLITE_BACKFILL = "UPDATE events SET rec_no = ? WHERE event_key = ? AND rec_no IS NULL"
_SQLITE_SNAPSHOT = "INSERT INTO snapshots (event_id, content) VALUES (?, ?)"
_PG_BACKFILL = "UPDATE events SET rec_no = %s WHERE event_key = %s AND rec_no IS NULL"
_PG_SNAPSHOT = "INSERT INTO snapshots (event_id, content) VALUES (%s, %b)"
_PG_NOTIFY = "NOTIFY porteiro_events"
"""Cluster mode: a batch was committed (``porteiro.hub.cluster.CHANNEL``)."""


_Delivery = tuple[list[tuple["asyncio.Future[StoredBatch]", StoredBatch]],
                  list["Callable[[list[dict[str, Any]]], None]"]]
"""What one loop hears after a commit: its waiters' results, its listeners."""


def _deliver(delivery: _Delivery, rows: list[dict[str, Any]]) -> None:
    resolved, listeners = delivery
    for future, result in resolved:
        if not future.done():
            future.set_result(result)
    for callback in listeners:
        try:
            callback(rows)
        except Exception:  # noqa: BLE001  # one failing listener must not starve the others
            _LOG.exception("commit listener %r failed", callback)


def _fail(future: asyncio.Future[StoredBatch], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
