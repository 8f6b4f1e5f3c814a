"""Persistence: SQLite (WAL, default) or PostgreSQL behind one interface, one writer.

Work in progress for the hub (issue [4/8]): schema and migrations, event identity,
the group-commit writer.
"""

from porteiro.store.identity import event_key
from porteiro.store.store import Store, StoredBatch, Writer

__all__ = ["Store", "StoredBatch", "Writer", "event_key"]
