"""Forwarding: each sink's read position in the event log, and dead letters.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "sink_cursors",
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("last_event_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float),
        sa.PrimaryKeyConstraint("sink", name="pk_sink_cursors"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", _ID, nullable=False),
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_sink_id", "dead_letters", ["sink", "id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_sink_id", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("sink_cursors")
