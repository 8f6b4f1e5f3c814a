"""Persistence behind one interface: SQLite (WAL, default) or PostgreSQL, same code.

:class:`Store` owns the engine and the schema (migrated with alembic on open) and
answers reads. Every write of events goes through the single
:class:`~porteiro.store.writer.Writer` (group commit); the small bookkeeping writes
here (device registration, last contact, retention) are rare and short.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from porteiro.store.schema import devices, events, snapshots

__all__ = ["Store"]


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
