"""PostgreSQL: each event row records its transaction id, so the log is read in commit
order even with several writers (hub instances).

An id is taken when a row is inserted, but the row becomes visible when its transaction
commits: with two writers, id 6 may be visible while id 5 is still to commit, and a
reader that moved its cursor to 6 would never see 5. Readers therefore take only rows
whose transaction id is below the oldest transaction still running
(``pg_snapshot_xmin(pg_current_snapshot())``): every lower id is then committed or gone.
SQLite has one writer at a time; the column stays NULL there.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("events", sa.Column(
            "txid", sa.BigInteger,
            server_default=sa.text("(pg_current_xact_id()::text::bigint)")))
    else:
        op.add_column("events", sa.Column("txid", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("events", "txid")
