"""Persistence: SQLite (WAL, default) or PostgreSQL behind one interface, one writer.

:class:`Store` reads (and does rare bookkeeping writes); :class:`Writer` is the single
writer of events (group commit, exactly once by :func:`event_key`).
"""

from porteiro.store.identity import Occurrences, event_key
from porteiro.store.store import EventQuery, Store
from porteiro.store.writer import StoredBatch, Writer, event_row

__all__ = ["EventQuery", "Occurrences", "Store", "StoredBatch", "Writer", "event_key",
           "event_row"]
