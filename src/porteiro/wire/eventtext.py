"""The device's event text: ``Code=X;action=Y;index=N;data={json}``.

This is what an ``eventManager.cgi?action=attach`` part carries, and what some
firmware posts as a legacy push body. Real devices bend it (reference §3, 4a):

* ``data=`` is optional (``Code=Heartbeat`` style lines exist) and its JSON is
  pretty-printed over many lines, may contain raw control characters inside
  strings, and may be followed by garbage: we parse the first JSON value and ignore
  what follows it up to the next event (``raw_decode``).
* Several events may follow each other with no boundary between them (the official
  example does this), so a block of text yields a *list*.
* ``index`` is normally an integer; anything else is kept in ``extras["index"]``.
* Field names are matched case-insensitively (``Code``/``code``, ``action``/``Action``).

What we send is strict: :func:`format_event_text` writes the device's own layout
(3-space indentation, ``"Key" : value`` separators, LF line ends, UTF-8).
"""

from __future__ import annotations

import json
import re
from typing import Any

from porteiro.exceptions import MalformedInputError
from porteiro.wire.devicejson import dumps_device
from porteiro.wire.records import Heartbeat, Malformed, RawEvent

__all__ = [
    "format_event_text",
    "parse_event_block",
    "parse_event_text",
    "scan_events",
]

# strict=False: firmware writes raw newlines/tabs inside JSON strings.
_DECODER = json.JSONDecoder(strict=False)
_raw_decode = _DECODER.raw_decode

# An event starts at "Code=" (any case) at the start of the text or after
# whitespace, ';' or the '}' that closed the previous event.
_EVENT_START = re.compile(r"(?:(?<=[\s;}])|^)[Cc][Oo][Dd][Ee]=")
_WS = re.compile(r"[ \t\r\n]*")


# The canonical header, as every known firmware writes it: one regex match instead of
# a split-and-loop (this is on the decode hot path).
_CANONICAL_HEADER = re.compile(r"Code=([^;=\s]*);action=([^;=\s]*);index=(\d{1,9});?")


def _parse_header(header: str, extras: dict[str, Any]) -> tuple[str, str, int]:
    """Split ``Code=X;action=Y;index=N`` (without ``data=``) into its fields."""
    match = _CANONICAL_HEADER.fullmatch(header)
    if match is not None:
        return match[1], match[2], int(match[3])
    code = ""
    action = "Pulse"
    index = 0
    for field in header.split(";"):
        key, sep, value = field.partition("=")
        if not sep:
            if field.strip():
                extras.setdefault("_header", []).append(field.strip())
            continue
        key_l = key.strip().lower()
        value = value.strip()
        if key_l == "code":
            code = value
        elif key_l == "action":
            action = value
        elif key_l == "index":
            try:
                index = int(value)
            except ValueError:
                extras["index"] = value
        else:
            extras[key.strip()] = value
    return code, action, index


def parse_event_block(text: str, offset: int = 0) -> list[RawEvent | Heartbeat | Malformed]:
    """Every event in ``text``, in order; unparseable stretches become :class:`Malformed`.

    Never raises. ``offset`` is added to the positions reported in ``Malformed``
    records (character positions within ``text``). Garbage that directly follows a
    valid event's JSON is ignored (a known firmware quirk); other non-blank text
    that is not an event is reported as ``Malformed``, except a bare ``Heartbeat``,
    which is reported as :class:`Heartbeat`.
    """
    items, _, _ = scan_events(text, final=True, offset=offset)
    return items


def scan_events(
    text: str,
    *,
    final: bool,
    offset: int = 0,
    after_event: bool = False,
) -> tuple[list[RawEvent | Heartbeat | Malformed], int, bool]:
    """Incremental core of :func:`parse_event_block`.

    With ``final=False`` the text may end in the middle of an event: scanning stops
    before anything that could still grow (an unterminated JSON, a header line with
    no newline yet, trailing text that may be the start of ``Code=``) and the
    returned index says how far the text was consumed. ``after_event`` tells that
    ``text`` starts right after a valid event, so leading garbage is the firmware's
    trailing garbage and is skipped silently. Returns ``(items, consumed,
    after_event)`` where the last value is the flag to pass with the rest.
    """
    out: list[RawEvent | Heartbeat | Malformed] = []
    pos = 0
    end = len(text)
    while pos < end:
        match = _EVENT_START.search(text, pos)
        if match is None:
            if not final:
                # A heartbeat body is complete once its line ends: report it now
                # rather than when the next boundary arrives (liveness matters).
                rest = text[pos:]
                if rest.endswith("\n") and rest.strip().lower() == "heartbeat":
                    out.append(Heartbeat(offset + pos + len(rest) - len(rest.lstrip())))
                    pos = end
                break
            if not after_event:
                _garbage(text, pos, end, offset, out)
            pos = end
            break
        start = match.start()
        if start > pos and not after_event:
            _garbage(text, pos, start, offset, out)
        resume, after_event = _parse_one(text, start, offset, out, final=final)
        if resume < 0:  # incomplete: wait for more text
            pos = start
            break
        pos = resume
    return out, pos, after_event


def _garbage(
    text: str, pos: int, end: int, offset: int, out: list[RawEvent | Heartbeat | Malformed]
) -> None:
    chunk = text[pos:end]
    stripped = chunk.strip()
    if not stripped:
        return
    if stripped.lower() == "heartbeat":
        out.append(Heartbeat(offset + pos + len(chunk) - len(chunk.lstrip())))
        return
    out.append(Malformed.of("text that is not an event", chunk, offset + pos, kind="not_event"))


def _parse_one(
    text: str,
    start: int,
    offset: int,
    out: list[RawEvent | Heartbeat | Malformed],
    *,
    final: bool = True,
) -> tuple[int, bool]:
    """Parse the event at ``start``; append it (or a Malformed).

    Returns where to resume and whether a JSON object just closed (so that garbage
    right after it is the firmware quirk, skipped silently). The index is -1 when
    ``final`` is False and the event may still be incomplete.
    """
    line_end = text.find("\n", start)
    if line_end < 0:
        if not final:
            return -1, False
        line_end = len(text)
    data_at = text.find("data=", start, line_end)
    extras: dict[str, Any] = {}
    if data_at < 0:
        header = text[start:line_end]
        code, action, index = _parse_header(header.rstrip("\r"), extras)
        out.append(RawEvent(code, action, index, {}, extras))
        return line_end, False
    json_at = _WS.match(text, data_at + 5).end()  # type: ignore[union-attr]  # always matches
    try:
        try:
            data, json_end = _raw_decode(text, json_at)
        except RecursionError:
            # "[[[[..." deeper than the interpreter's limit: the C decoder raises
            # RecursionError, which is not a ValueError. Same handling as bad JSON.
            raise json.JSONDecodeError("JSON nested too deeply", text, json_at) from None
    except json.JSONDecodeError as exc:
        nxt = _EVENT_START.search(text, data_at)
        if not final and (nxt is None or exc.pos >= len(text) - 1):
            return -1, False  # the JSON may simply not have arrived in full yet
        # Resume at the next event so that nothing valid after the bad one is lost.
        stop = nxt.start() if nxt is not None else len(text)
        code, _, _ = _parse_header(text[start:data_at], {})
        out.append(Malformed.of(f"event {code or '?'}: bad JSON ({exc.msg})", text[start:stop],
                                offset + start, kind="bad_json"))
        return stop, False
    code, action, index = _parse_header(text[start:data_at], extras)
    if not isinstance(data, dict):
        if data is None:
            data = {}
        else:
            out.append(Malformed.of(f"event {code or '?'}: data is not a JSON object",
                                    text[start:json_end], offset + start, kind="not_object"))
            return json_end, True
    out.append(RawEvent(code, action, index, data, extras))
    return json_end, True


def parse_event_text(text: str) -> RawEvent:
    """Exactly one event. Raises :class:`MalformedInputError` otherwise."""
    items = parse_event_block(text)
    events = [item for item in items if isinstance(item, RawEvent)]
    if len(events) == 1 and events[0].code and len(items) == 1:
        return events[0]
    if not events:
        bad = next((i for i in items if isinstance(i, Malformed)), None)
        raise MalformedInputError(bad.reason if bad else "no event in the text", text[:4096])
    raise MalformedInputError(
        f"expected one event, found {len(events)} and {len(items) - len(events)} malformed part(s)",
        text[:4096],
    )


def format_event_text(event: RawEvent, *, indent: int | None = 3) -> str:
    """The device's layout: ``Code=X;action=Y;index=N;data={...}``.

    By default the JSON is written as the device writes it (sorted keys, 3-space
    indentation, see :mod:`porteiro.wire.devicejson`); ``indent=None`` writes compact
    JSON on one line. Events with an empty ``data`` still carry ``data={}``.
    """
    if indent is None:
        body = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    else:
        body = dumps_device(event.data, trailing_newline=False)
    return f"Code={event.code};action={event.action};index={event.index};data={body}"
