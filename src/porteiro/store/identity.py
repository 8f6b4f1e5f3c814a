"""The identity of an event: what makes two receptions the same event.

Push bodies carry no record number [OFFICIAL-EX], and attach-stream events carry none
either, while the record log has one. So the key is a hash of the fields every
channel shares — device, code, action, index, time, user, card, method, door,
direction, error, status — normalised (strings stripped, card numbers upper-cased,
numbers as integers). Two different events in the same second differ in at least one
of them; a resend, or the same passage seen live and in the backfill, hashes the same.
"""

from __future__ import annotations

import hashlib
from typing import Any

from porteiro.events import AccessControlEvent, Event

__all__ = ["event_key"]


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def event_key(device: str, event: Event) -> str:
    """A 64-hex-digit key, stable across push, attach and the record log."""
    stamp = int(event.timestamp) if event.timestamp is not None else None
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
    text = "\x1f".join(_norm(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
