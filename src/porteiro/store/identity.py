"""The identity of an event: what makes two receptions the same event.

Push bodies carry no record number [OFFICIAL-EX], and attach-stream events carry none
either, while the record log has one. So the key is a hash of the fields every
channel shares — device, code, action, index, time, user, card, method, door,
direction, error, status — normalised (strings stripped, card numbers upper-cased,
numbers as integers). A resend, or the same passage seen live and in the backfill,
hashes the same.

Two events can still agree on every one of those fields: the same card read twice in
one second, two exit-button presses. Nothing on the wire tells such a pair from a
resend, so the *order of appearance* does: :class:`Occurrences` numbers identical
events as one source delivers them (the 2nd gets ``#2`` in its key). A push body, a
live stream and a record-log backfill each deliver a device's events once and in
order, so the same pair gets the same numbers from each of them, and a resend (a new
POST, counted afresh) still collapses onto the first.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from porteiro.events import AccessControlEvent, Event

__all__ = ["Occurrences", "PresentationOccurrences", "event_key", "presentation_key"]


def _norm(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value.strip()  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def event_key(device: str, event: Event, occurrence: int = 1,
              received: float | None = None) -> str:
    """A 64-hex-digit key, stable across push, attach and the record log; the
    ``occurrence``-th identical event of a source gets a key of its own. ``received``
    stands in for the time of an event that has none (a live stream, which never
    repeats itself, may use it)."""
    when = event.timestamp if event.timestamp is not None else received
    stamp = int(when) if when is not None else None
    parts: list[Any] = [device, event.event_code.value, event.action, event.index, stamp]
    if isinstance(event, AccessControlEvent):
        parts = [device, "AccessControl", "", 0, stamp, event.user_id,
                 (event.card_no or "").upper(),
                 int(event.method) if event.method is not None else None,
                 event.door, event.direction.value if event.direction else None,
                 int(event.error) if event.error is not None else None, event.granted]
    else:
        data = event.data
        parts += [data.get("Name"), data.get("UserID"), data.get("Status"), data.get("Door")]
    if occurrence > 1:
        parts.append(f"#{occurrence}")
    text = "\x1f".join([_norm(part) for part in parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def presentation_key(device: str, event: AccessControlEvent, occurrence: int = 1) -> str:
    """The key of a *presentation* at a Modo Online reader: what the reader saw (time,
    user, card, door, direction), not what was decided.

    A reader in Modo Online asks the hub, and when the answer does not reach it in time
    (a hub killed after deciding, a reply later than ``RemoteCheckTimeout``) it decides
    alone and later sends its own record of the same presentation, with its own verdict.
    Keyed by the presentation, the hub's stored decision and the reader's record are one
    event, as they were one passage; keyed by the verdict they would be two.
    """
    stamp = int(event.timestamp) if event.timestamp is not None else None
    parts: list[Any] = [device, "AccessControl:presentation", stamp, event.user_id,
                        (event.card_no or "").upper(), event.door,
                        event.direction.value if event.direction else None]
    if occurrence > 1:
        parts.append(f"#{occurrence}")
    text = "\x1f".join([_norm(part) for part in parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Occurrences:
    """Numbers identical events (same base key) as one source delivers them.

    Only events of the same second can be identical, so a bounded memory of recent
    keys is enough; the oldest are forgotten first.
    """

    def __init__(self, limit: int = 4096, *, live: bool = False) -> None:
        self.limit = limit
        self.live = live
        """A live stream: events without a time of their own (``_Button_``) are keyed
        by the second they arrived, so one press is not merged with every other."""
        self._seen: dict[str, int] = {}

    def key(self, device: str, event: Event) -> str:
        """The event's key: its base key the first time, numbered after that."""
        received = time.time() if self.live and event.timestamp is None else None
        base = event_key(device, event, received=received)
        count = self._seen.pop(base, 0) + 1
        self._seen[base] = count  # re-inserted: most recent last
        if len(self._seen) > self.limit:
            del self._seen[next(iter(self._seen))]
        return base if count == 1 else event_key(device, event, count, received)


class PresentationOccurrences(Occurrences):
    """:class:`Occurrences` for a Modo Online reader: access events are keyed by the
    presentation (:func:`presentation_key`), every other event as usual."""

    def key(self, device: str, event: Event) -> str:
        if not isinstance(event, AccessControlEvent):
            return super().key(device, event)
        base = presentation_key(device, event)
        count = self._seen.pop(base, 0) + 1
        self._seen[base] = count
        if len(self._seen) > self.limit:
            del self._seen[next(iter(self._seen))]
        return base if count == 1 else presentation_key(device, event, count)
