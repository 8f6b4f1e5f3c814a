"""The database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Changes go through alembic migrations (``migrations/versions``); a test checks that the
migrated schema and these tables agree.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["audit", "cards", "cursors", "dead_letters", "devices", "events", "faces",
           "leases", "metadata", "people", "sink_cursors", "snapshots", "sync_status"]

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

devices = sa.Table(
    "devices", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("serial", sa.String(64)),
    sa.Column("mac", sa.String(32)),
    sa.Column("host", sa.String(255)),
    sa.Column("mode", sa.String(16), nullable=False, server_default="push"),
    sa.Column("utc_offset_s", sa.Integer, nullable=False, server_default="0"),
    sa.Column("online", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_contact", sa.Float),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("event_key", sa.String(64), nullable=False, unique=True),
    sa.Column("rec_no", sa.BigInteger),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("ts", sa.Float),
    sa.Column("utc_offset_s", sa.Integer, nullable=False, server_default="0"),
    sa.Column("user_id", sa.String(64)),
    sa.Column("card_no", sa.String(64)),
    sa.Column("door", sa.Integer),
    sa.Column("direction", sa.String(16)),
    sa.Column("granted", sa.Boolean),
    sa.Column("method", sa.Integer),
    sa.Column("error", sa.Integer),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("txid", sa.BigInteger),
    # PostgreSQL: the inserting transaction's id (default pg_current_xact_id(), set by
    # migration 0007); readers of the log skip rows of transactions that may still be
    # followed by a lower id committing later (several writers). NULL on SQLite.
    sa.Index("ix_events_device_ts", "device_id", "ts"),
    sa.Index("ix_events_ts", "ts"),
    sa.Index("ix_events_user", "user_id"),
    sa.Index("ix_events_card", "card_no"),
    sa.Index("ix_events_kind_id", "kind", "id"),
    sa.Index("ix_events_device_id_id", "device_id", "id"),
    # Ids are positions in the log that sinks, live streams (Last-Event-ID) and the
    # writer rely on: never reuse one, even when retention deletes the newest rows.
    sqlite_autoincrement=True,
)

snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("content_type", sa.String(64), nullable=False, server_default="image/jpeg"),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

cursors = sa.Table(
    "cursors", metadata,
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("last_rec_no", sa.BigInteger),
    sa.Column("last_ts", sa.Float),
)

sink_cursors = sa.Table(
    "sink_cursors", metadata,
    sa.Column("sink", sa.String(100), primary_key=True),
    sa.Column("last_event_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.Float),
)
"""The outbox's read position per sink: every event with a higher id is still to be
delivered (see :mod:`porteiro.forward`)."""

dead_letters = sa.Table(
    "dead_letters", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("sink", sa.String(100), nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_dead_letters_sink_id", "sink", "id"),
)
"""Events a sink refused for good (e.g. HTTP 400), with the reason."""

people = sa.Table(
    "people", metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("external_id", sa.String(128), unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("type", sa.String(16), nullable=False, server_default="general"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("valid_from", sa.Float),
    sa.Column("valid_to", sa.Float),
    sa.Column("doors", sa.Text, nullable=False, server_default='{"*":[0]}'),
    sa.Column("time_sections", sa.Text, nullable=False, server_default="[255]"),
    sa.Column("holiday_schedule", sa.Integer, nullable=False, server_default="255"),
    sa.Column("guest_uses", sa.Integer),
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("device_password", sa.String(64)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""The site's people (:class:`porteiro.access.Person`); ``doors`` and ``time_sections``
are JSON."""

cards = sa.Table(
    "cards", metadata,
    sa.Column("card_no", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("people.user_id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("card_type", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="normal"),
    sa.Index("ix_cards_user_id", "user_id"),
)

faces = sa.Table(
    "faces", metadata,
    sa.Column("user_id", sa.String(64), sa.ForeignKey("people.user_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

sync_status = sa.Table(
    "sync_status", metadata,
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("error_code", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_sync_status_state", "state"),
)
"""Per device and person: ``pending``, ``applied`` or ``failed`` (with the decoded device
error); ``fingerprint`` is what was last applied, so a sync sends only what changed."""

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("address", sa.String(64)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200)),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Index("ix_audit_at", "at"),
    sqlite_autoincrement=True,
)
"""Every state-changing API call: who (token name), from where, what, the result."""

leases = sa.Table(
    "leases", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""Work that one hub instance at a time may do (``collector:<device>``): who holds it
and until when (several instances on one PostgreSQL database)."""
