"""What devices POST to a server (push mode and Modo Online), and the server's replies.

The body (reference "Modo Online and push, in detail", A) [OFFICIAL-EX]::

    \\r\\n
    --myboundary\\r\\n
    Content-Type: text/plain\\r\\n
    Content-Length: 767\\r\\n              <- with a space here
    \\r\\n
    { ...JSON, 3-space indent, LF inside... }\\n
    \\r\\n
    --myboundary\\r\\n
    Content-Type: image/jpeg\\r\\n
    Content-Length: 0\\r\\n                <- 0 when there is no snapshot
    \\r\\n
    <JPEG bytes>\\r\\n
    --myboundary--\\r\\n

The JSON is ``{"Events": [{"Action", "Code", "Data", "Index", "PhysicalAddress"}],
"Time": "DD-MM-YYYY HH:MM:SS"}`` (the CT 3000 example adds ``Channel``). What we accept
beyond that, since sources disagree: a boundary from the header or from the body
(falling back to ``myboundary``); headers by name in any order, with or without
``Content-Disposition``; parts in any order; CRLF or LF; control characters inside
JSON strings and garbage after the JSON; JPEG parts sliced by Content-Length when it
is plausible (JPEG bytes may contain anything); bare JSON bodies; the legacy
``Code=...;data={...}`` text body; ``gzip``/``deflate`` encodings with a size cap.

Replies: push wants HTTP 200 (body ``OK``); Modo Online wants
``{"message": "...", "code": "200", "auth": "true"|"false"}`` (``auth`` a *string*
in every official example) [OFFICIAL-EX]; keepalive wants ``OK`` with an explicit
Content-Length.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import TYPE_CHECKING, Any

import msgspec

from porteiro.exceptions import MalformedInputError
from porteiro.wire.devicejson import dumps_device
from porteiro.wire.eventtext import parse_event_block
from porteiro.wire.multipart import DEFAULT_BOUNDARY, boundary_from_content_type
from porteiro.wire.records import MAX_RAW_KEPT, Malformed, RawEvent

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED",
    "KEEPALIVE_REPLY",
    "OnlineReply",
    "PushBody",
    "format_online_reply",
    "format_push_body",
    "parse_online_reply",
    "parse_push_body",
]

KEEPALIVE_REPLY = b"OK"
PUSH_REPLY = b"OK"
DEFAULT_MAX_DECOMPRESSED = 16 << 20

_DECODER = json.JSONDecoder(strict=False)
_HEADER = re.compile(rb"([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*([^\r\n]*)\r?\n")
_EVENT_KEYS = frozenset({"Action", "Code", "Data", "Index"})


class PushBody(msgspec.Struct, frozen=True):
    """A parsed push/online POST body.

    ``events`` keep each event's extra keys (``PhysicalAddress``...) in ``extras``;
    ``problems`` holds what could not be parsed (bounded raw bytes), so nothing is
    silently dropped; ``extras`` holds unknown top-level keys of the JSON.
    """

    events: tuple[RawEvent, ...] = ()
    time: str | None = None
    channel: int | None = None
    images: tuple[bytes, ...] = ()
    problems: tuple[Malformed, ...] = ()
    extras: dict[str, Any] = {}


def _decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    enc = (encoding or "").strip().lower()
    if not enc and body[:2] == b"\x1f\x8b":
        enc = "gzip"
    if enc in {"", "identity"}:
        return body
    if enc in {"gzip", "x-gzip"}:
        windows = [16 + zlib.MAX_WBITS]
    elif enc == "deflate":
        windows = [zlib.MAX_WBITS, -zlib.MAX_WBITS]  # zlib-wrapped, then raw deflate
    else:
        raise MalformedInputError(f"unsupported Content-Encoding {encoding!r}", body[:64])
    for wbits in windows:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or inflater.unconsumed_tail:
            raise MalformedInputError(
                f"{enc} body inflates past {limit} bytes; refused", body[:64])
        return out
    raise MalformedInputError(f"body is not valid {enc} data", body[:64])


def _events_from_json(
    payload: Any, problems: list[Malformed], offset: int
) -> tuple[list[RawEvent], str | None, int | None, dict[str, Any]]:
    if isinstance(payload, dict) and "Events" not in payload and "Code" in payload:
        payload = {"Events": [payload]}  # a single event posted on its own
    if not isinstance(payload, dict):
        problems.append(Malformed.of("info JSON is not an object", repr(payload), offset,
                                     kind="bad_info"))
        return [], None, None, {}
    raw_events = payload.get("Events")
    if not isinstance(raw_events, list):
        problems.append(Malformed.of("info JSON has no Events list", repr(payload), offset,
                                     kind="bad_info"))
        raw_events = []
    events: list[RawEvent] = []
    for item in raw_events:
        code = item.get("Code") if isinstance(item, dict) else None
        if not isinstance(code, str):
            problems.append(Malformed.of("event without a Code", json.dumps(item), offset,
                                         kind="no_code"))
            continue
        data = item.get("Data")
        if not isinstance(data, dict):
            data = {} if data is None else {"": data}
        index = item.get("Index", 0)
        extras = {k: v for k, v in item.items() if k not in _EVENT_KEYS}
        if type(index) is not int:
            extras["Index"] = index
            index = 0
        action = item.get("Action")
        events.append(RawEvent(code, action if isinstance(action, str) else "Pulse", index,
                               data, extras))
    time = payload.get("Time")
    channel = payload.get("Channel")
    rest = {k: v for k, v in payload.items() if k not in {"Events", "Time", "Channel"}}
    return (events, time if isinstance(time, str) else None,
            channel if type(channel) is int else None, rest)


def _parse_info(text: str, problems: list[Malformed], offset: int, sink: dict[str, Any]) -> None:
    """Parse one text part (JSON info, or legacy event text) into ``sink``."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:5].lower() == "code=":
        for item in parse_event_block(stripped, offset):
            if isinstance(item, RawEvent):
                sink["events"].append(item)
            elif isinstance(item, Malformed):
                problems.append(item)
        return
    try:
        payload, _ = _DECODER.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        problems.append(Malformed.of(f"info part is not JSON ({exc.msg})", text, offset,
                                     kind="bad_info"))
        return
    except RecursionError:  # "[[[[..." past the interpreter's limit (not a ValueError)
        problems.append(Malformed.of("info part is not JSON (nested too deeply)", text,
                                     offset, kind="bad_info"))
        return
    events, time, channel, rest = _events_from_json(payload, problems, offset)
    sink["events"].extend(events)
    sink["time"] = sink["time"] or time
    sink["channel"] = sink["channel"] if sink["channel"] is not None else channel
    sink["extras"].update(rest)


def _detect_boundary(body: bytes) -> str:
    for raw_line in body.lstrip().split(b"\n", 3)[:3]:
        line = raw_line.strip()
        if line.startswith(b"--") and len(line) > 2:
            return line[2:].rstrip(b"-").decode("latin-1") if line.endswith(b"--") else (
                line[2:].decode("latin-1"))
    return DEFAULT_BOUNDARY


def _split_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes, int]]:
    """(headers, content, offset) of each part; content sliced by Content-Length if sane."""
    delim = b"--" + boundary.encode("latin-1")
    parts: list[tuple[dict[str, str], bytes, int]] = []
    pos = body.find(delim)
    while pos >= 0:
        line_end = body.find(b"\n", pos)
        if line_end < 0 or body[pos + len(delim) : pos + len(delim) + 2] == b"--":
            break  # closing delimiter (or nothing after it)
        cursor = line_end + 1
        headers: dict[str, str] = {}
        while True:
            match = _HEADER.match(body, cursor)
            if match is None:
                break
            headers[match[1].decode("latin-1").lower()] = match[2].decode("latin-1").strip()
            cursor = match.end()
        if body[cursor : cursor + 2] == b"\r\n":
            cursor += 2
        elif body[cursor : cursor + 1] == b"\n":
            cursor += 1
        end = _content_end(body, cursor, headers.get("content-length"), delim)
        parts.append((headers, body[cursor:end], cursor))
        pos = body.find(delim, end)
    return parts


def _content_end(body: bytes, start: int, length: str | None, delim: bytes) -> int:
    """Where a part's content ends: Content-Length if a boundary follows it, else the
    next boundary (minus the line break before it)."""
    length = length.strip() if length is not None else None
    # ASCII digits only, and few of them: str.isdigit() accepts "\xb2" (superscript two,
    # a latin-1 header byte) and int() refuses more than 4300 digits; both raised a
    # bare ValueError out of parse_push_body. Nothing real is longer than 12 digits.
    if length and length.isascii() and length.isdigit() and len(length) <= 12:
        end = start + int(length)
        after = end
        while after < len(body) and after - end < 4 and body[after] in b"\r\n":
            after += 1  # the line breaks the device writes after the content
        if end <= len(body) and (body.startswith(delim, after) or after == len(body)):
            return end
    nxt = body.find(delim, start)
    if nxt < 0:
        return len(body)
    if body[nxt - 2 : nxt] == b"\r\n":
        return nxt - 2
    if body[nxt - 1 : nxt] == b"\n":
        return nxt - 1
    return nxt


_FAST_CACHE = 256
"""Bound of the per-Content-Type cache of the fast path (cleared when full)."""
_fast_frames: dict[str, tuple[bytes, bytes, bytes, bytes] | None] = {}


def _fast_frame(content_type: str) -> tuple[bytes, bytes, bytes, bytes] | None:
    """The fixed bytes of a canonical body for ``content_type`` (see
    :func:`_parse_canonical`), or None when its boundary is not a plain one."""
    try:
        return _fast_frames[content_type]
    except KeyError:
        pass
    frame: tuple[bytes, bytes, bytes, bytes] | None = None
    boundary = boundary_from_content_type(content_type) if "multipart" in \
        content_type.lower() else None
    if boundary and boundary.isascii() and boundary.isprintable() \
            and not any(c in boundary for c in " \t\"'-"):
        delim = b"--" + boundary.encode("ascii")
        frame = (b"\r\n" + delim + b"\r\nContent-Type: text/plain\r\nContent-Length: ",
                 b"\r\n" + delim + b"\r\nContent-Type: image/jpeg\r\nContent-Length: ",
                 b"\r\n\r\n" + delim + b"--\r\n",
                 b"\r\n" + delim + b"--\r\n")
    if len(_fast_frames) >= _FAST_CACHE:
        _fast_frames.clear()
    _fast_frames[content_type] = frame
    return frame


def _parse_canonical(body: bytes, content_type: str) -> PushBody | None:
    """The body exactly as a device writes it (:func:`format_push_body` without
    ``info_name``), boundary from the header: one ``text/plain`` part sliced by its
    Content-Length, then an ``image/jpeg`` part (or none) and the closing delimiter;
    None for anything else (the general path reads it). Same result as the general
    path, which would find the same parts at the same offsets."""
    frame = _fast_frame(content_type)
    if frame is None:
        return None
    head, image_head, tail, close = frame
    if not body.startswith(head):
        return None
    start = len(head)
    digits_end = body.find(b"\r\n\r\n", start, start + 12)
    if digits_end < 0 or not body[start:digits_end].isdigit():
        return None
    info_start = digits_end + 4
    info_end = info_start + int(body[start:digits_end])
    images: tuple[bytes, ...] = ()
    if body.startswith(image_head, info_end):
        start = info_end + len(image_head)
        digits_end = body.find(b"\r\n\r\n", start, start + 12)
        if digits_end < 0 or not body[start:digits_end].isdigit():
            return None
        image_start = digits_end + 4
        image_end = image_start + int(body[start:digits_end])
        if len(body) != image_end + len(tail) or not body.endswith(tail):
            return None
        if image_end > image_start:
            images = (body[image_start:image_end],)
    elif len(body) != info_end + len(close) or not body.endswith(close):
        return None
    info = body[info_start:info_end]
    problems: list[Malformed] = []
    sink: dict[str, Any] = {"events": [], "time": None, "channel": None, "extras": {}}
    if info.strip():
        _parse_info(info.decode("utf-8", "replace"), problems, info_start, sink)
    return PushBody(tuple(sink["events"]), sink["time"], sink["channel"], images,
                    tuple(problems), sink["extras"])


def parse_push_body(
    body: bytes,
    content_type: str | None = None,
    content_encoding: str | None = None,
    *,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED,
) -> PushBody:
    """Parse what a device POSTed. Raises :class:`MalformedInputError` only when nothing
    in the body can be read; otherwise bad pieces go to ``problems``."""
    if content_type is not None and content_encoding is None and body[:2] == b"\r\n":
        fast = _parse_canonical(body, content_type)
        if fast is not None:
            return fast
    return _parse_general(body, content_type, content_encoding, max_decompressed)


def _parse_general(body: bytes, content_type: str | None, content_encoding: str | None,
                   max_decompressed: int) -> PushBody:
    """:func:`parse_push_body` for any body."""
    data = _decompress(body, content_encoding, max_decompressed)
    problems: list[Malformed] = []
    sink: dict[str, Any] = {"events": [], "time": None, "channel": None, "extras": {}}
    images: list[bytes] = []
    ctype = (content_type or "").lower()
    head = data.lstrip()[:5]
    if "multipart" not in ctype and (head[:1] in (b"{", b"[") or head.lower() == b"code="):
        _parse_info(data.decode("utf-8", "replace"), problems, 0, sink)
    else:
        boundary = boundary_from_content_type(content_type) or _detect_boundary(data)
        if b"--" + boundary.encode("latin-1") not in data:
            boundary = _detect_boundary(data)
        parts = _split_parts(data, boundary)
        if not parts:
            raise MalformedInputError("no multipart parts and no JSON in the body",
                                      data[:MAX_RAW_KEPT])
        for headers, content, offset in parts:
            kind = headers.get("content-type", "").lower()
            if kind.startswith(("image/", "application/octet-stream")):
                if content:
                    images.append(content)
            elif content.strip():
                _parse_info(content.decode("utf-8", "replace"), problems, offset, sink)
    if not sink["events"] and not images and problems and len(problems) == 1 \
            and "not JSON" in problems[0].reason and "multipart" not in ctype:
        raise MalformedInputError(problems[0].reason, data[:MAX_RAW_KEPT])
    return PushBody(tuple(sink["events"]), sink["time"], sink["channel"], tuple(images),
                    tuple(problems), sink["extras"])


def format_push_body(
    events: Sequence[RawEvent],
    *,
    time: str,
    image: bytes | None = None,
    boundary: str = DEFAULT_BOUNDARY,
    channel: int | None = None,
    info_name: str | None = None,
) -> tuple[bytes, str]:
    """A push/online body as the device sends it; returns (body, Content-Type).

    Keys sorted as the device's JSON writer does; ``PhysicalAddress`` and other
    per-event extras come from each event's ``extras``. ``info_name`` adds the
    ``Content-Disposition: form-data; name="..."`` header of the CT 3000 example.
    """
    payload: dict[str, Any] = {
        "Events": [
            {"Action": e.action, "Code": e.code, "Data": e.data, "Index": e.index, **e.extras}
            for e in events
        ],
        "Time": time,
    }
    if channel is not None:
        payload["Channel"] = channel
    info = dumps_device(payload).encode("utf-8")
    delim = b"--" + boundary.encode("latin-1")
    disposition = (f'Content-Disposition: form-data; name="{info_name}"\r\n'.encode()
                   if info_name else b"")
    jpeg = image or b""
    out = (
        b"\r\n" + delim + b"\r\n" + disposition + b"Content-Type: text/plain\r\n"
        b"Content-Length: " + str(len(info)).encode() + b"\r\n\r\n" + info + b"\r\n"
        + delim + b"\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: " + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n\r\n"
        + delim + b"--\r\n"
    )
    return out, f"multipart/mixed; boundary={boundary}"


class OnlineReply(msgspec.Struct, frozen=True):
    """A Modo Online decision as sent to the device."""

    granted: bool
    message: str = ""
    code: str = "200"


def format_online_reply(*, granted: bool, message: str) -> bytes:
    """``{"message": ..., "code": "200", "auth": "true"|"false"}``, UTF-8.

    ``auth`` is sent as a string, as in every official example; a JSON boolean is
    untested on real devices [GUESS: may fail].
    """
    payload = {"message": message, "code": "200", "auth": "true" if granted else "false"}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def parse_online_reply(body: bytes) -> OnlineReply:
    """Read a Modo Online reply leniently (``auth`` string, bool or 0/1; ``code`` str/int)."""
    try:
        payload = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise MalformedInputError(f"Modo Online reply is not JSON ({exc})", body) from None
    if not isinstance(payload, dict) or "auth" not in payload:
        raise MalformedInputError("Modo Online reply has no 'auth' field", body)
    auth = payload["auth"]
    if isinstance(auth, bool):
        granted = auth
    elif isinstance(auth, int | str) and str(auth).strip().lower() in _TRUE | _FALSE:
        granted = str(auth).strip().lower() in _TRUE
    else:
        raise MalformedInputError(f"Modo Online 'auth' is {auth!r}", body)
    message = payload.get("message", "")
    code = payload.get("code", "200")
    return OnlineReply(granted, message if isinstance(message, str) else str(message),
                       str(code))
