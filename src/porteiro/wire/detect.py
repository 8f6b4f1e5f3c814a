"""Guess what a captured input is, from its first bytes (for ``porteiro decode``).

Recognised: an ``eventManager`` attach stream (with or without the HTTP response
head), a push body (multipart with a JSON ``info`` part, bare JSON, gzip/deflate, or
a whole HTTP request), a ``recordFinder`` listing (``found=N`` + ``records[i].K=V``),
and bare event text (``Code=...;data={...}``, handled as an attach stream without
framing).
"""

from __future__ import annotations

import enum
import re

__all__ = ["InputFormat", "sniff", "split_http_message"]


class InputFormat(enum.StrEnum):
    """What :func:`sniff` found."""

    ATTACH = "attach"
    PUSH = "push"
    RECORDS = "records"
    EVENT_TEXT = "text"
    UNKNOWN = "unknown"


_REQUEST_LINE = re.compile(rb"^(?:POST|PUT|GET) \S+ HTTP/\d", re.IGNORECASE)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_RECORDS = re.compile(rb"^(?:found|totalCount)=\d+|^records\[\d+\]\.", re.MULTILINE)


def sniff(head: bytes) -> InputFormat:
    """Classify an input from its first bytes (64 KiB is plenty)."""
    text = head.lstrip()
    if not text:
        return InputFormat.UNKNOWN
    if text[:2] == b"\x1f\x8b" or text[:1] == b"\x78":
        return InputFormat.PUSH  # gzip or zlib: only push bodies are compressed
    if _REQUEST_LINE.match(text):
        return InputFormat.PUSH
    if text[:5].upper() == b"HTTP/":
        lower = text[:4096].lower()
        if b"x-mixed-replace" in lower or b"code=" in lower:
            return InputFormat.ATTACH
        return InputFormat.PUSH
    if text[:1] in (b"{", b"["):
        return InputFormat.PUSH
    if _RECORDS.search(text[:4096]):
        return InputFormat.RECORDS
    if text[:5].lower() == b"code=":
        return InputFormat.EVENT_TEXT
    if text[:2] == b"--":
        sample = text[:16384]
        if b'"Events"' in sample or b"name=\"info\"" in sample:
            return InputFormat.PUSH
        return InputFormat.ATTACH
    if b"Code=" in text[:4096]:
        return InputFormat.EVENT_TEXT
    return InputFormat.UNKNOWN


def split_http_message(data: bytes) -> tuple[dict[str, str], bytes]:
    """Split a captured HTTP request/response into (lower-cased headers, body).

    Input that does not start with an HTTP start line is returned as the body with no
    headers. Chunked transfer encoding is undone.
    """
    stripped = data.lstrip()
    first_line = stripped.split(b"\n", 1)[0]
    if not (_REQUEST_LINE.match(stripped) or first_line[:5].upper() == b"HTTP/"):
        return {}, data
    crlf = stripped.find(b"\r\n\r\n")
    lf = stripped.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, body = stripped[:crlf], stripped[crlf + 4 :]
    elif lf >= 0:
        head, body = stripped[:lf], stripped[lf + 2 :]
    else:
        head, body = stripped, b""
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return headers, body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(body):
        line_end = body.find(b"\n", pos)
        if line_end < 0:
            break
        size_text = body[pos:line_end].split(b";", 1)[0].strip()
        # Hex digits only: int(x, 16) also takes "-f", "+5", "0x1f" and "1_0", and a
        # negative size moved ``pos`` backwards, looping forever on "-f\n...".
        if _CHUNK_SIZE.fullmatch(size_text) is None:
            return bytes(out) + body[pos:]  # not chunked after all: keep the rest as is
        size = int(size_text, 16)
        if size == 0:
            break
        start = line_end + 1
        out += body[start : start + size]
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1
    return bytes(out)
