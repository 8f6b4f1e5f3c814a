"""Persistence behind one interface: SQLite (WAL, default) or PostgreSQL, same code.

:class:`Store` owns the engine and the schema (migrated with alembic on open) and
answers reads. Every write of events goes through the single
:class:`~porteiro.store.writer.Writer` (group commit); the small bookkeeping writes
here (device registration, last contact, retention) are rare and short.
"""

from __future__ import annotations

import time
from importlib.resources import files
from typing import Any

import msgspec
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from alembic import command
from alembic.config import Config

from porteiro.store.people import PeopleStore
from porteiro.store.schema import (
    cursors,
    dead_letters,
    devices,
    events,
    leases,
    sink_cursors,
    snapshots,
)

__all__ = ["EventQuery", "Store"]

_MIGRATION_LOCK = 0x706F7274  # "port": the advisory lock taken while migrating


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a 200 to a device means on disk
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class EventQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which events to read: every given filter must match (None/empty: any).

    ``since``/``until`` bound the event time (``ts``, epoch seconds, ``until``
    excluded); ``after_id``/``before_id`` are the id cursor (both excluded).
    ``card_no`` also matches the card in upper or lower case, as devices differ.
    """

    devices: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    user_id: str | None = None
    card_no: str | None = None
    granted: bool | None = None
    error: int | None = None
    method: int | None = None
    since: float | None = None
    until: float | None = None
    after_id: int | None = None
    before_id: int | None = None
    limit: int = 100


_EVENT_ROWS = (
    sa.select(events, devices.c.name.label("device"),
              snapshots.c.event_id.is_not(None).label("has_snapshot"))
    .select_from(events.join(devices, devices.c.id == events.c.device_id)
                 .outerjoin(snapshots, snapshots.c.event_id == events.c.id)))
"""Event rows as the API serves them: the columns, the device's name, has_snapshot."""


def _where(query: EventQuery) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    c = events.c
    if query.devices:
        clauses.append(c.device_id.in_(
            sa.select(devices.c.id).where(devices.c.name.in_(query.devices))))
    if query.kinds:
        clauses.append(c.kind.in_(query.kinds))
    if query.user_id is not None:
        clauses.append(c.user_id == query.user_id)
    if query.card_no is not None:
        card = query.card_no
        clauses.append(c.card_no.in_(sorted({card, card.upper(), card.lower()})))
    if query.granted is not None:
        clauses.append(c.granted == query.granted)
    if query.error is not None:
        clauses.append(c.error == query.error)
    if query.method is not None:
        clauses.append(c.method == query.method)
    if query.since is not None:
        clauses.append(c.ts >= query.since)
    if query.until is not None:
        clauses.append(c.ts < query.until)
    if query.after_id is not None:
        clauses.append(c.id > query.after_id)
    if query.before_id is not None:
        clauses.append(c.id < query.before_id)
    return clauses


_COMMITTED_IN_ORDER = events.c.txid < sa.literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
"""PostgreSQL: rows no lower id can still appear before (see migration 0007)."""


def _event_dict(row: sa.Row[Any]) -> dict[str, Any]:
    out = dict(row._mapping)  # noqa: SLF001  # SQLAlchemy's public row-as-mapping view
    out["has_snapshot"] = bool(out["has_snapshot"])
    out["granted"] = None if out["granted"] is None else bool(out["granted"])
    return out


class Store:
    """The database: open, migrate, register devices, read events."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.several_writers = False
        """PostgreSQL shared by several hub instances (``[hub] cluster``): read the log
        in commit order (migration 0007). Off with one writer, whose commits are in id
        order anyway, so that a transaction left open elsewhere on the server (which
        holds back the snapshot's xmin) cannot stall delivery."""
        self.people = PeopleStore(self.engine)
        """People, cards, faces, sync status and the audit log."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the latest revision (``porteiro db upgrade``)."""
        config = Config()
        config.set_main_option("script_location",
                               str(files("porteiro.store").joinpath("migrations")))
        with self.engine.connect() as connection:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                # Rebuilding a table (SQLite's way to alter one) drops it: with foreign
                # keys enforced, that would cascade into the rows that point at it. The
                # pragma only takes effect outside a transaction, hence before begin().
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()  # ends SQLAlchemy's autobegun (empty) transaction
            try:
                with connection.begin():
                    if not sqlite:
                        # Several instances starting at once on a fresh database: one
                        # migrates, the others wait and then find nothing to do.
                        connection.exec_driver_sql(
                            f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"migration left dangling references: {broken}")
            finally:
                if sqlite:
                    connection.rollback()  # in case the migration failed mid-way
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()

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

    def query_events(self, query: EventQuery) -> list[dict[str, Any]]:
        """Events matching ``query``, newest first (by id), at most ``query.limit``; each
        row has the ``events`` columns plus ``device`` (name) and ``has_snapshot``."""
        statement = (_EVENT_ROWS.where(*_where(query)).order_by(events.c.id.desc())
                     .limit(query.limit))
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()  # one fetch, not a fetchone per row
        return [_event_dict(row) for row in rows]

    def events_after(self, after_id: int, limit: int, query: EventQuery | None = None
                     ) -> list[dict[str, Any]]:
        """Events with id > ``after_id`` in id order (a live stream catching up), with
        the filters of ``query`` (its cursor and limit are ignored)."""
        clauses = _where(msgspec.structs.replace(query, after_id=None, before_id=None)
                         ) if query is not None else []
        if self.several_writers:
            clauses.append(_COMMITTED_IN_ORDER)
        statement = (_EVENT_ROWS.where(events.c.id > after_id, *clauses)
                     .order_by(events.c.id).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()  # one fetch, not a fetchone per row
        return [_event_dict(row) for row in rows]

    def get_event(self, event_id: int) -> dict[str, Any] | None:
        """One event row (as :meth:`query_events` gives them), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(_EVENT_ROWS.where(events.c.id == event_id)).first()
        return None if row is None else _event_dict(row)

    def get_snapshot(self, event_id: int) -> tuple[str, bytes] | None:
        """``(content_type, content)`` of an event's snapshot, or None."""
        statement = sa.select(snapshots.c.content_type, snapshots.c.content).where(
            snapshots.c.event_id == event_id)
        with self.engine.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else (str(row.content_type), bytes(row.content))

    def device_summaries(self, today_start: float) -> list[dict[str, Any]]:
        """Every registered device row plus ``events_total``, ``events_today`` (event
        time at or after ``today_start``, the local midnight as epoch seconds) and
        ``last_event`` (the newest event's row, or None), in id order."""
        c = events.c
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(  # noqa: SLF001
                sa.select(devices).order_by(devices.c.id))]
            totals: dict[int, int] = {int(r[0]): int(r[1]) for r in conn.execute(
                sa.select(c.device_id, sa.func.count()).group_by(c.device_id))}
            today: dict[int, int] = {int(r[0]): int(r[1]) for r in conn.execute(
                sa.select(c.device_id, sa.func.count()).where(c.ts >= today_start)
                .group_by(c.device_id))}
            newest = [int(i) for i in conn.execute(
                sa.select(sa.func.max(c.id)).group_by(c.device_id)).scalars()]
            last = {row["device_id"]: row for row in (
                _event_dict(r) for r in conn.execute(_EVENT_ROWS.where(c.id.in_(newest))))
            } if newest else {}
            backfill = {int(r.device_id): (r.last_rec_no, r.last_ts)
                        for r in conn.execute(sa.select(cursors))}
        for row in rows:
            row["events_total"] = totals.get(row["id"], 0)
            row["events_today"] = today.get(row["id"], 0)
            row["last_event"] = last.get(row["id"])
            rec_no, rec_ts = backfill.get(row["id"], (None, None))
            row["backfill"] = None if rec_no is None else {"last_rec_no": rec_no,
                                                           "last_record_ts": rec_ts}
        return rows

    def stats(self, since: float, until: float, *, bucket: int = 3600, alarms: int = 200
              ) -> dict[str, Any]:
        """What the dashboard's charts show for events timed in ``[since, until)``:

        ``series``: ``{bucket start: {"granted", "denied", "other"}}`` (buckets of
        ``bucket`` seconds from the epoch; only non-empty ones); ``denials``: ``[(error
        code, count)]`` most frequent first; ``devices``: ``{device: {"granted",
        "denied", "other"}}``; ``alarms``: the newest alarm rows (as the API serves
        rows)."""
        c = events.c
        if self.dialect == "sqlite":  # a positive float truncates to its floor
            slot = sa.cast(c.ts / bucket, sa.Integer)
        else:
            slot = sa.cast(sa.func.floor(c.ts / bucket), sa.BigInteger)
        access = c.kind == "access_control"
        outcome = sa.case((sa.and_(access, c.granted.is_(True)), "granted"),
                          (sa.and_(access, c.granted.is_(False)), "denied"), else_="other")
        window = sa.and_(c.ts >= since, c.ts < until)
        series: dict[int, dict[str, int]] = {}
        per_device: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for number, label, count in conn.execute(
                    sa.select(slot, outcome, sa.func.count()).where(window)
                    .group_by(slot, outcome)):
                counts = series.setdefault(int(number) * bucket,
                                           {"granted": 0, "denied": 0, "other": 0})
                counts[str(label)] += int(count)
            denials = [(int(code), int(count)) for code, count in conn.execute(
                sa.select(c.error, sa.func.count().label("n"))
                .where(window, access, c.granted.is_(False), c.error.is_not(None))
                .group_by(c.error).order_by(sa.desc("n"), c.error))]
            for name, label, count in conn.execute(
                    sa.select(devices.c.name, outcome, sa.func.count())
                    .select_from(events.join(devices, devices.c.id == c.device_id))
                    .where(window).group_by(devices.c.name, outcome)):
                counts = per_device.setdefault(str(name),
                                               {"granted": 0, "denied": 0, "other": 0})
                counts[str(label)] += int(count)
            alarm_rows = [_event_dict(r) for r in conn.execute(
                _EVENT_ROWS.where(window, c.kind == "alarm").order_by(c.id.desc())
                .limit(alarms))]
        return {"series": series, "denials": denials, "devices": per_device,
                "alarms": alarm_rows}

    def set_backfill_cursor(self, device_id: int, last_rec_no: int, last_ts: float | None
                            ) -> None:
        """How far a backfill read the device's record log (shown by the API)."""
        values = {"last_rec_no": last_rec_no, "last_ts": last_ts}
        with self.engine.begin() as conn:
            updated = conn.execute(cursors.update().where(cursors.c.device_id == device_id)
                                   .values(**values))
            if not updated.rowcount:
                conn.execute(cursors.insert().values(device_id=device_id, **values))

    def ping(self) -> None:
        """A cheap round trip (``SELECT 1``): raises when the database is unreachable."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- devices -------------------------------------------------------------------------

    def set_contact(self, device_id: int, *, online: bool, last_contact: float | None
                    ) -> None:
        """Record a device's status and last contact (flushed by the hub, batched)."""
        with self.engine.begin() as conn:
            conn.execute(devices.update().where(devices.c.id == device_id)
                         .values(online=online, last_contact=last_contact))

    def known_devices(self) -> list[dict[str, Any]]:
        """Every registered device row."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(  # noqa: SLF001
                sa.select(devices).order_by(devices.c.id))]

    # -- retention -----------------------------------------------------------------------

    def prune(self, *, events_before: float | None = None,
              snapshots_before: float | None = None, max_snapshots: int | None = None
              ) -> tuple[int, int]:
        """Delete events received before ``events_before`` and snapshots of events
        received before ``snapshots_before`` or beyond the newest ``max_snapshots``;
        return (events, snapshots) deleted. The events a snapshot belonged to stay."""
        deleted_events = deleted_snapshots = 0
        with self.engine.begin() as conn:
            if snapshots_before is not None:
                old = sa.select(events.c.id).where(events.c.received_at < snapshots_before)
                deleted_snapshots += conn.execute(
                    snapshots.delete().where(snapshots.c.event_id.in_(old))).rowcount or 0
            if max_snapshots is not None:  # keep only the newest max_snapshots
                newest_dropped = conn.execute(
                    sa.select(snapshots.c.event_id).order_by(snapshots.c.event_id.desc())
                    .offset(max_snapshots).limit(1)).scalar()
                if newest_dropped is not None:
                    deleted_snapshots += conn.execute(snapshots.delete().where(
                        snapshots.c.event_id <= newest_dropped)).rowcount or 0
            if events_before is not None:
                old = sa.select(events.c.id).where(events.c.received_at < events_before)
                deleted_snapshots += conn.execute(
                    snapshots.delete().where(snapshots.c.event_id.in_(old))).rowcount or 0
                deleted_events += conn.execute(
                    events.delete().where(events.c.received_at < events_before)).rowcount or 0
        return deleted_events, deleted_snapshots

    # -- forwarding: the event log read by each sink -----------------------------------

    def last_passages(self) -> list[tuple[str, str | None, float | None]]:
        """Each person's newest granted access event: (user id, direction, time), the
        site history Modo Online starts from."""
        c = events.c
        newest = (sa.select(sa.func.max(c.id).label("id"))
                  .where(c.kind == "access_control", c.granted.is_(True), c.user_id.is_not(None),
                         c.user_id != "")
                  .group_by(c.user_id).subquery())
        query = sa.select(c.user_id, c.direction, c.ts).join(newest, newest.c.id == c.id)
        with self.engine.connect() as conn:
            return [(row.user_id, row.direction, row.ts) for row in conn.execute(query)]

    def recent_keys(self, source: str, since: float) -> list[tuple[str, float, bool | None]]:
        """Access events of ``source`` that happened since ``since`` (by the device's
        time, which is indexed): (event key, received at, granted), oldest first (the
        recent Modo Online decisions a restarted hub recognises when a reader sends its
        own record of one)."""
        c = events.c
        query = (sa.select(c.event_key, c.received_at, c.granted)
                 .where(c.ts >= since, c.source == source, c.kind == "access_control")
                 .order_by(c.received_at))
        with self.engine.connect() as conn:
            return [(row.event_key, row.received_at, row.granted) for row in conn.execute(query)]

    def last_door_states(self) -> list[tuple[str, int, bytes]]:
        """Each door's newest DoorStatus event: (device name, door, raw data)."""
        c = events.c
        newest = (sa.select(sa.func.max(c.id).label("id"))
                  .where(c.kind == "door_status", c.door.is_not(None))
                  .group_by(c.device_id, c.door).subquery())
        query = (sa.select(devices.c.name, c.door, c.data)
                 .select_from(events.join(devices, devices.c.id == c.device_id))
                 .join(newest, newest.c.id == c.id))
        with self.engine.connect() as conn:
            return [(str(row.name), int(row.door),
                     row.data if isinstance(row.data, bytes) else str(row.data).encode())
                    for row in conn.execute(query)]

    def acquire_lease(self, name: str, owner: str, ttl: float, now: float | None = None
                      ) -> bool:
        """Take or renew lease ``name`` for ``owner`` for ``ttl`` seconds: True when
        ``owner`` holds it now (it was free, expired, or already ``owner``'s). Atomic:
        two instances racing for a free lease cannot both win."""
        now = time.time() if now is None else now
        until = now + ttl
        c = leases.c
        with self.engine.begin() as conn:
            renewed = conn.execute(leases.update().where(
                c.name == name, sa.or_(c.owner == owner, c.expires_at < now))
                .values(owner=owner, expires_at=until)).rowcount
            if renewed:
                return True
            insert = (sa.dialects.postgresql.insert(leases) if self.dialect == "postgresql"
                      else sa.dialects.sqlite.insert(leases))
            # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT.
            return conn.execute(insert.values(name=name, owner=owner, expires_at=until)
                                .on_conflict_do_nothing().returning(leases.c.name)
                                ).first() is not None

    def acquire_leases(self, names: list[str], owner: str, ttl: float,
                       now: float | None = None) -> set[str]:
        """:meth:`acquire_lease` for many leases in one transaction (two statements):
        the names ``owner`` holds now."""
        if not names:
            return set()
        now = time.time() if now is None else now
        until = now + ttl
        c = leases.c
        held: set[str] = set()
        with self.engine.begin() as conn:
            for start in range(0, len(names), 1000):
                chunk = names[start:start + 1000]
                held.update(conn.execute(leases.update().where(
                    c.name.in_(chunk), sa.or_(c.owner == owner, c.expires_at < now))
                    .values(owner=owner, expires_at=until).returning(c.name)).scalars())
                missing = [n for n in chunk if n not in held]
                if missing:
                    insert = (sa.dialects.postgresql.insert(leases)
                              if self.dialect == "postgresql"
                              else sa.dialects.sqlite.insert(leases))
                    held.update(conn.execute(
                        insert.values([{"name": n, "owner": owner, "expires_at": until}
                                       for n in missing])
                        .on_conflict_do_nothing().returning(c.name)).scalars())
        return held

    def release_lease(self, name: str, owner: str) -> None:
        """Give a lease back (only if ``owner`` holds it)."""
        with self.engine.begin() as conn:
            conn.execute(leases.delete().where(leases.c.name == name,
                                               leases.c.owner == owner))

    def lease_holders(self, prefix: str = "") -> dict[str, tuple[str, float]]:
        """Lease name -> (owner, expires_at), for names starting with ``prefix``."""
        with self.engine.connect() as conn:
            return {str(r.name): (str(r.owner), float(r.expires_at)) for r in conn.execute(
                sa.select(leases).where(leases.c.name.startswith(prefix)))}

    def max_event_id(self) -> int:
        """The newest event id (0 when there is none)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)

    def sink_cursor(self, sink: str) -> int | None:
        """The id of the last event the sink is done with, or None for a new sink."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(sink_cursors.c.last_event_id).where(
                sink_cursors.c.sink == sink)).scalar()
        return None if value is None else int(value)

    def set_sink_cursor(self, sink: str, last_event_id: int) -> None:
        """Move the sink's read position (delivered, dead-lettered or dropped up to it)."""
        values = {"last_event_id": last_event_id, "updated_at": time.time()}
        with self.engine.begin() as conn:
            updated = conn.execute(sink_cursors.update().where(sink_cursors.c.sink == sink)
                                   .values(**values))
            if not updated.rowcount:
                conn.execute(sink_cursors.insert().values(sink=sink, **values))

    def pending(self, after_id: int, query: EventQuery | None = None
                ) -> tuple[int, float | None]:
        """How many matching events have an id above ``after_id``, and when the oldest of
        them was received (None when there is none): a sink's queue and its lag."""
        clauses = _where(msgspec.structs.replace(query, after_id=None, before_id=None)
                         ) if query is not None else []
        statement = sa.select(sa.func.count(), sa.func.min(events.c.received_at)).where(
            events.c.id > after_id, *clauses)
        with self.engine.connect() as conn:
            count, oldest = conn.execute(statement).one()
        return int(count), None if oldest is None else float(oldest)

    def first_id_received_after(self, after_id: int, received_at: float) -> int | None:
        """The first event id above ``after_id`` received at or after ``received_at``
        (where a sink resumes when retention drops what is older)."""
        statement = sa.select(sa.func.min(events.c.id)).where(
            events.c.id > after_id, events.c.received_at >= received_at)
        with self.engine.connect() as conn:
            value = conn.execute(statement).scalar()
        return None if value is None else int(value)

    def add_dead_letters(self, sink: str, letters: list[tuple[int, str]]) -> None:
        """Record events a sink refused for good, with the reason."""
        if letters:
            now = time.time()
            with self.engine.begin() as conn:
                conn.execute(dead_letters.insert(), [
                    {"sink": sink, "event_id": event_id, "reason": reason, "at": now}
                    for event_id, reason in letters])

    def dead_letter_list(self, sink: str, limit: int = 100) -> list[dict[str, Any]]:
        """The sink's newest dead letters."""
        statement = (sa.select(dead_letters).where(dead_letters.c.sink == sink)
                     .order_by(dead_letters.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]  # noqa: SLF001

    def dead_letter_count(self, sink: str) -> int:
        """How many dead letters the sink has."""
        statement = sa.select(sa.func.count()).select_from(dead_letters).where(
            dead_letters.c.sink == sink)
        with self.engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())
