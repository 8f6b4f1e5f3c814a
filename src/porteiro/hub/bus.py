"""In-process fan-out of committed events to live subscribers (the SSE stream).

The writer calls :meth:`EventBus.publish` on the event loop after each commit with the
rows it inserted, in id order. Each subscriber has a bounded queue: a client too slow
to keep up is dropped (it reconnects with Last-Event-ID and catches up from the
store), so one stuck browser can never hold memory or slow ingestion down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["EventBus", "Subscription"]

_LOG = logging.getLogger(__name__)


class Subscription:
    """One subscriber's queue; ``overflowed`` is set when it fell behind and was cut."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()

    def close(self) -> None:
        """Stop receiving."""
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EventBus:
    """Committed rows to every subscriber."""

    def __init__(self, *, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._subscribers: set[Subscription] = set()
        self.last_id = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        """A new subscription; close it (or use ``with``) when done."""
        subscription = Subscription(self, self.maxsize)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget ``subscription``."""
        self._subscribers.discard(subscription)

    def publish(self, rows: list[dict[str, Any]]) -> None:
        """Deliver committed rows (called on the loop by the writer's listener)."""
        if rows:
            self.last_id = max(self.last_id, int(rows[-1]["id"]))
        for subscription in list(self._subscribers):
            for row in rows:
                try:
                    subscription.queue.put_nowait(row)
                except asyncio.QueueFull:
                    _LOG.warning("a live-stream subscriber fell %d events behind; cut off",
                                 self.maxsize)
                    subscription.overflowed.set()
                    self.unsubscribe(subscription)
                    break
