"""SQLite: event ids are never reused (AUTOINCREMENT).

An event id is a position in the log: sinks keep theirs as a cursor, live streams
resume from ``Last-Event-ID``. SQLite's plain rowid reuses the highest ids after they
are deleted (retention emptying the table, say), which would hide new events behind
old positions. PostgreSQL's sequence never goes back: nothing to do there.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # SQLite cannot alter a key in place: the table is rebuilt with its rows and ids.
    with op.batch_alter_table("events", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("events", recreate="always",
                              table_kwargs={"sqlite_autoincrement": False}):
        pass
