"""What the wire parsers produce: raw events, heartbeats and malformed-input records.

These are the *undecoded* shapes (strings and dicts as the device sent them);
:mod:`porteiro.events` turns a :class:`RawEvent` into a typed event.
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_RAW_KEPT = 4096
"""How many bytes of a malformed input a :class:`Malformed` record keeps."""


class RawEvent(msgspec.Struct, frozen=True):
    """One event as the device sent it.

    ``code`` is kept exactly as sent (``_Button_`` stays ``_Button_``); ``data`` is
    the JSON object (``{}`` when the device sent none). ``extras`` holds per-event
    fields outside ``data`` (push bodies carry ``PhysicalAddress``). Treat the dicts
    as read-only.
    """

    code: str
    action: str = "Pulse"
    index: int = 0
    data: dict[str, Any] = {}
    extras: dict[str, Any] = {}


class Heartbeat(msgspec.Struct, frozen=True):
    """A heartbeat part of an attach stream; ``offset`` is its position in the stream."""

    offset: int = 0


MALFORMED_KINDS: dict[str, tuple[str, str]] = {
    "not_event": ("text that is not an event", "texto que não é um evento"),
    "bad_json": ("invalid JSON in an event", "JSON inválido em um evento"),
    "not_object": ("event data is not a JSON object", "os dados do evento não são um objeto JSON"),
    "too_large": ("part too large, skipped", "parte grande demais, ignorada"),
    "truncated": ("input ended inside a part", "a entrada terminou no meio de uma parte"),
    "bad_info": ("unreadable info part", "parte info ilegível"),
    "no_code": ("event without a Code", "evento sem Code"),
    "other": ("malformed input", "entrada malformada"),
}
"""Stable kinds of :class:`Malformed` with their English and Portuguese names."""


class Malformed(msgspec.Struct, frozen=True):
    """Input that could not be parsed, kept (bounded) so that nothing is silently lost.

    ``reason`` is a technical English detail; ``kind`` a stable key of
    :data:`MALFORMED_KINDS` (use :meth:`text` for a translated line). ``offset`` is
    the position in the stream (or body) where the bad input began; ``raw`` holds at
    most :data:`MAX_RAW_KEPT` bytes of it and ``truncated`` says whether there was more.
    """

    reason: str
    raw: bytes = b""
    offset: int = 0
    truncated: bool = False
    kind: str = "other"

    @classmethod
    def of(cls, reason: str, raw: bytes | str, offset: int = 0, *, kind: str = "other"
           ) -> Malformed:
        """Build a record from raw input, keeping at most :data:`MAX_RAW_KEPT` bytes."""
        blob = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        if len(blob) > MAX_RAW_KEPT:
            return cls(reason, blob[:MAX_RAW_KEPT], offset, truncated=True, kind=kind)
        return cls(reason, blob, offset, kind=kind)

    def text(self, lang: str = "en") -> str:
        """``<kind in lang>: <technical reason>``."""
        en, pt = MALFORMED_KINDS.get(self.kind, MALFORMED_KINDS["other"])
        return f"{pt if lang == 'pt' else en}: {self.reason}"
