"""Incremental parser for the ``eventManager.cgi?action=attach`` multipart stream.

Feed it byte chunks exactly as they come off the socket (split anywhere: inside a
header, a UTF-8 character or a JSON string) and it returns, in order, every
:class:`RawEvent`, :class:`Heartbeat` and :class:`Malformed` that became complete.

What real devices do, and how it is handled (reference §3):

* The boundary comes from the response's ``Content-Type`` (``boundary=myboundary``);
  without one, the first ``--xxx`` line of the stream names it.
* Part headers (``Content-Type``, ``Content-Length:315`` with or without a space)
  are read by name; a missing blank line after them is fine. ``Content-Length`` is
  *not trusted* to cut the body: firmware miscounts, and an event is complete as
  soon as its JSON closes, so events are delivered without waiting for the next
  boundary (no heartbeat-long delay).
* Several events in one part (no boundary between them), pretty-printed JSON,
  garbage after the JSON, CRLF or LF, ``Heartbeat``/``heartbeat`` bodies.
* Invalid UTF-8 is decoded with U+FFFD replacements inside the event it belongs
  to; it never shifts or breaks the events around it.
* Bounded memory: a part that grows past ``max_part_bytes`` without completing (a
  lying Content-Length, a never-ending JSON) is reported as one :class:`Malformed`
  (its first bytes kept) and skipped up to the next boundary.

The parser does no I/O; :mod:`porteiro.device` drives it from an HTTP response.
"""

from __future__ import annotations

import json
import re
from typing import Any

from porteiro.wire.eventtext import format_event_text, scan_events
from porteiro.wire.records import MAX_RAW_KEPT, Heartbeat, Malformed, RawEvent

__all__ = [
    "DEFAULT_BOUNDARY",
    "DEFAULT_MAX_PART_BYTES",
    "AttachStreamParser",
    "StreamItem",
    "boundary_from_content_type",
    "format_attach_event",
    "format_attach_heartbeat",
    "format_attach_part",
]

StreamItem = RawEvent | Heartbeat | Malformed

DEFAULT_BOUNDARY = "myboundary"
DEFAULT_MAX_PART_BYTES = 1 << 20

_BOUNDARY_PARAM = re.compile(r"""boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))""", re.IGNORECASE)
# Part headers (by name, any order, "Content-Length:315" with or without a space),
# then an optional blank line (some firmware leaves it out).
_HEADER_BLOCK = re.compile(rb"(?:[A-Za-z][A-Za-z0-9-]*[ \t]*:[^\n]*\n)*(?:[ \t]*\r?\n)?")
_PARTIAL_HEADER = re.compile(rb"[A-Za-z][A-Za-z0-9-]*[ \t]*(?::[^\n]*)?\r?")
_BINARY_TYPE = re.compile(
    rb"(?im)^content-type[ \t]*:[ \t]*(?:image/|video/|audio/|application/octet-stream)"
)


def boundary_from_content_type(content_type: str | None) -> str | None:
    """The ``boundary`` parameter of a Content-Type header, without quotes or dashes."""
    if not content_type:
        return None
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        return None
    value = (match.group(1) or match.group(2)).strip()
    # Some servers write "boundary=--myboundary": the delimiter is "--" + boundary.
    return value[2:] if value.startswith("--") and len(value) > 2 else value


class AttachStreamParser:
    """Bytes in, stream items out. Never raises on input; see the module docstring."""

    __slots__ = (
        "_after_event",
        "_base",
        "_binary",
        "_buf",
        "_delim",
        "_fast_part",
        "_in_headers",
        "_max",
        "_resync",
        "_stalled_len",
    )

    def __init__(
        self,
        boundary: str | None = None,
        *,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
    ) -> None:
        if max_part_bytes < 1024:
            raise ValueError("max_part_bytes must be at least 1024")
        self._delim: bytes | None = b"--" + boundary.encode("latin-1") if boundary else None
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._max = max_part_bytes
        self._after_event = False  # the pending text starts right after a valid event
        self._resync = False  # skipping an oversized part up to the next boundary
        self._binary = False  # inside a binary part (skipped)
        self._in_headers = False  # right after a boundary line, reading part headers
        self._stalled_len = -1  # buffer length when the last scan could not progress
        self._fast_part: re.Pattern[bytes] | None = None

    @classmethod
    def for_content_type(
        cls, content_type: str | None, *, max_part_bytes: int = DEFAULT_MAX_PART_BYTES
    ) -> AttachStreamParser:
        """A parser for a response with this ``Content-Type`` header."""
        return cls(boundary_from_content_type(content_type), max_part_bytes=max_part_bytes)

    @property
    def boundary(self) -> str | None:
        """The boundary in use (None until detected)."""
        return self._delim[2:].decode("latin-1") if self._delim else None

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of an item (bounded by ``max_part_bytes``)."""
        return len(self._buf)

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet consumed."""
        return self._base

    def feed(self, chunk: bytes) -> list[StreamItem]:
        """Add bytes; return every item they completed."""
        if not chunk:
            return []
        self._buf += chunk
        if (
            self._stalled_len >= 0
            and b"}" not in chunk
            and b"\n" not in chunk
            and len(self._buf) <= self._max
        ):
            # Nothing that could complete a pending item arrived (an event ends with
            # '}' or a newline; a boundary line ends with a newline): skip the rescan
            # that would make a slowly arriving large part cost O(n^2).
            return []
        return self._drain(final=False)

    def close(self) -> list[StreamItem]:
        """End of stream: whatever is left is parsed as complete, or reported."""
        items = self._drain(final=True)
        if self._buf:
            leftover = bytes(self._buf)
            if leftover.strip() and not self._resync:
                items.append(Malformed.of("stream ended inside a part", leftover, self._base,
                                          kind="truncated"))
            self._consume(len(self._buf))
        return items

    # -- internals -----------------------------------------------------------------

    def _consume(self, count: int) -> None:
        if count:
            del self._buf[:count]
            self._base += count

    def _detect_boundary(self) -> bool:
        """Find the boundary from the first ``--xxx`` line; False if not yet possible."""
        buf = self._buf
        start = 0
        while True:
            line_end = buf.find(b"\n", start)
            if line_end < 0:
                return False
            line = bytes(buf[start:line_end]).strip()
            if line.startswith(b"--") and len(line) > 2:
                self._delim = line.rstrip(b"-") if line.endswith(b"--") else line
                return True
            if line.upper().startswith(b"HTTP/"):
                # A capture that includes the response head: take the boundary from
                # its Content-Type and drop the head.
                head_end = _head_end(buf, start)
                if head_end < 0:
                    return False
                found = boundary_from_content_type(bytes(buf[start:head_end]).decode("latin-1"))
                self._consume(head_end)
                if found:
                    self._delim = b"--" + found.encode("latin-1")
                    return True
                start = 0
                continue
            if line.lower().startswith(b"code="):
                # No multipart framing at all: a bare event-text stream.
                self._delim = b"--" + DEFAULT_BOUNDARY.encode("latin-1")
                return True
            start = line_end + 1
            if start > self._max:
                self._delim = b"--" + DEFAULT_BOUNDARY.encode("latin-1")
                return True

    def _drain(self, *, final: bool) -> list[StreamItem]:
        items: list[StreamItem] = []
        if self._delim is None and not self._detect_boundary():
            if not final:
                self._check_overflow(items)
                return items
            self._delim = b"--" + DEFAULT_BOUNDARY.encode("latin-1")
        delim = self._delim
        assert delim is not None  # noqa: S101  # set just above; narrows the type
        if self._fast_part is None:
            self._fast_part = re.compile(re.escape(delim) + _FAST_PART_TAIL)
        buf = self._buf
        pos = 0
        fast = self._fast_part
        while pos < len(buf):
            next_boundary = buf.find(delim, pos)
            if next_boundary == pos:
                if fast is not None:
                    end = _fast_event(fast, buf, pos, items)
                    if end > pos:
                        pos = end
                        self._in_headers = self._binary = self._resync = False
                        self._after_event = True
                        continue
                line_end = buf.find(b"\n", pos)
                if line_end < 0:
                    if not final:
                        break
                    line_end = len(buf) - 1
                pos = line_end + 1
                self._in_headers = True
                self._binary = False
                self._after_event = False
                self._resync = False
                continue
            if self._in_headers:
                pos = self._skip_part_headers(pos, final=final)
                if self._in_headers:
                    break  # a header line is still arriving
            complete = next_boundary >= 0
            region_end = next_boundary if complete else len(buf)
            if self._resync or self._binary:
                if not complete:
                    pos = region_end  # discard; keeps memory flat
                    break
                pos = region_end
                continue
            pos = self._scan_region(pos, region_end, complete=complete or final, items=items)
            if pos < region_end:
                break  # waiting for more bytes
        self._consume(pos)
        if not final:
            self._check_overflow(items)
        self._stalled_len = len(self._buf) if self._buf else -1
        return items

    def _skip_part_headers(self, pos: int, *, final: bool) -> int:
        """Skip part headers (and the blank line, if any); note binary parts.

        Leaves ``_in_headers`` set when the bytes end inside what may be a header line.
        """
        buf = self._buf
        block = _HEADER_BLOCK.match(buf, pos)
        end = block.end() if block is not None else pos
        if not final and (end >= len(buf) or (end + 1 == len(buf) and buf[end] == 0x0D)):
            return pos  # the headers (or their blank line) may still be arriving
        if end < len(buf) or final:
            partial = _PARTIAL_HEADER.fullmatch(buf, end)
            if partial is not None and not final:
                return pos  # "Content-Len" so far: wait for the line to end
        if end > pos:
            self._binary = _BINARY_TYPE.search(buf, pos, end) is not None
        self._in_headers = False
        return end

    def _scan_region(self, start: int, end: int, *, complete: bool, items: list[StreamItem]) -> int:
        """Parse events in ``buf[start:end]``; return the absolute index consumed up to."""
        raw = bytes(self._buf[start:end])
        dirty = False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Invalid UTF-8, or a character split across chunks at the end of an
            # incomplete region. surrogateescape keeps the byte <-> char mapping exact;
            # events built from it get U+FFFD in place of the bad bytes.
            text = raw.decode("utf-8", "surrogateescape")
            dirty = True
        found, consumed, self._after_event = scan_events(
            text, final=complete, offset=self._base + start, after_event=self._after_event
        )
        if dirty:
            found = [_clean(item, raw, self._base + start) for item in found]
        items.extend(found)
        if consumed >= len(text):
            return end
        if raw.isascii():
            return start + consumed
        return start + len(text[:consumed].encode("utf-8", "surrogateescape"))

    def _check_overflow(self, items: list[StreamItem]) -> None:
        """Bound memory: report and drop a pending item that grew past the limit."""
        if len(self._buf) <= self._max:
            return
        if not self._resync:
            items.append(
                Malformed.of(
                    f"part larger than {self._max} bytes without completing; skipped to the"
                    " next boundary",
                    bytes(self._buf[:MAX_RAW_KEPT]),
                    self._base,
                    kind="too_large",
                )
            )
        # Keep a tail long enough to hold a boundary that straddles chunks.
        keep = len(self._delim) + 2 if self._delim else 0
        self._consume(len(self._buf) - keep)
        self._resync = True
        self._after_event = False


# The canonical part, exactly as devices frame it: boundary line, Content-Type,
# Content-Length, blank line, then the event header up to "data=". The fast path
# below handles such a part in one regex match plus one JSON decode; anything else
# (or any doubt) goes through the general path, which yields the same result.
_FAST_PART_TAIL = (
    rb"[ \t]*\r?\n(?:Content-Type:[ \t]*text/plain[ \t]*\r?\n)?Content-Length:[ \t]*(\d{1,7})"
    rb"[ \t]*\r?\n\r?\n(Code=([A-Za-z0-9_]+);action=([A-Za-z]+);index=(\d{1,9});data=)"
)
_raw_decode = json.JSONDecoder(strict=False).raw_decode


def _fast_event(fast: re.Pattern[bytes], buf: bytearray, pos: int, items: list[StreamItem]) -> int:
    """Parse a canonical, complete part at ``pos``; return its end, or ``pos`` if not one.

    Content-Length is only a hint here: the part is accepted when the JSON that starts
    after ``data=`` ends exactly where Content-Length says (trailing whitespace aside)
    and is an object; otherwise the general path decides.
    """
    match = fast.match(buf, pos)
    if match is None:
        return pos
    body_end = match.start(2) + int(match[1])
    if body_end > len(buf):
        return pos
    try:
        text = buf[match.end() : body_end].decode("utf-8")
        data, json_end = _raw_decode(text)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, deep nesting
        return pos
    if type(data) is not dict or (json_end != len(text) and not text[json_end:].isspace()):
        return pos
    items.append(RawEvent(match[3].decode("ascii"), match[4].decode("ascii"), int(match[5]), data))
    if buf[body_end : body_end + 2] == b"\r\n":
        return body_end + 2
    return body_end


def _head_end(buf: bytearray, start: int) -> int:
    """Index just past the blank line that ends an HTTP head (CRLF or LF), or -1."""
    crlf = buf.find(b"\r\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(ends) if ends else -1


def _clean(item: StreamItem, raw: bytes, offset: int) -> StreamItem:
    """Replace surrogate-escaped invalid UTF-8 with U+FFFD inside a decoded event.

    ``raw``/``offset``: the region the event came from, for the report when the
    event's data is nested too deeply to walk (``_fix_value`` recurses; the JSON
    decoder accepts nesting close to the interpreter's recursion limit).
    """
    if not isinstance(item, RawEvent):
        return item
    try:
        return RawEvent(
            _fix_text(item.code),
            _fix_text(item.action),
            item.index,
            _fix_value(item.data),
            _fix_value(item.extras),
        )
    except RecursionError:
        return Malformed.of(f"event {_fix_text(item.code) or '?'}: data nested too deeply",
                            raw, offset, kind="bad_json")


def _fix_text(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _fix_value(value: Any) -> Any:
    if isinstance(value, str):
        return _fix_text(value)
    if isinstance(value, dict):
        return {_fix_text(k): _fix_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_value(v) for v in value]
    return value


# -- serializers (the emulator speaks these) -----------------------------------------


def format_attach_part(body: bytes, *, boundary: str = DEFAULT_BOUNDARY) -> bytes:
    """One part as the device frames it: ``Content-Length:N`` with no space, CRLF heads.

    The device's body ends with LF and its Content-Length counts that LF (the official
    example: 314 bytes of event text, ``Content-Length:315``). The CRLF after the body,
    before the next boundary, is our assumption of the framing [GUESS in the reference].
    """
    return (
        b"--" + boundary.encode("latin-1") + b"\r\nContent-Type: text/plain\r\n"
        b"Content-Length:" + str(len(body)).encode("ascii") + b"\r\n\r\n" + body + b"\r\n"
    )


def format_attach_event(event: RawEvent, *, boundary: str = DEFAULT_BOUNDARY) -> bytes:
    """One event part, byte for byte in the device's layout."""
    return format_attach_part(
        (format_event_text(event) + "\n").encode("utf-8"), boundary=boundary
    )


def format_attach_heartbeat(*, boundary: str = DEFAULT_BOUNDARY) -> bytes:
    """A heartbeat part (body ``Heartbeat``)."""
    return format_attach_part(b"Heartbeat\n", boundary=boundary)
