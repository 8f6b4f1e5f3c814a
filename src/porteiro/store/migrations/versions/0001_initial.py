"""Initial schema: devices, events, snapshots, cursors.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("serial", sa.String(64)),
        sa.Column("mac", sa.String(32)),
        sa.Column("host", sa.String(255)),
        sa.Column("mode", sa.String(16), nullable=False, server_default="push"),
        sa.Column("utc_offset_s", sa.Integer, nullable=False, server_default="0"),
        sa.Column("online", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_contact", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("name", name="uq_devices_name"),
    )
    op.create_table(
        "events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_events_device_id_devices"),
        sa.UniqueConstraint("event_key", name="uq_events_event_key"),
    )
    op.create_index("ix_events_device_ts", "events", ["device_id", "ts"])
    op.create_index("ix_events_ts", "events", ["ts"])
    op.create_index("ix_events_user", "events", ["user_id"])
    op.create_table(
        "snapshots",
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False, server_default="image/jpeg"),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_snapshots"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE",
                                name="fk_snapshots_event_id_events"),
    )
    op.create_table(
        "cursors",
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("last_rec_no", sa.BigInteger),
        sa.Column("last_ts", sa.Float),
        sa.PrimaryKeyConstraint("device_id", name="pk_cursors"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_cursors_device_id_devices"),
    )


def downgrade() -> None:
    op.drop_table("cursors")
    op.drop_table("snapshots")
    op.drop_index("ix_events_user", table_name="events")
    op.drop_index("ix_events_ts", table_name="events")
    op.drop_index("ix_events_device_ts", table_name="events")
    op.drop_table("events")
    op.drop_table("devices")
