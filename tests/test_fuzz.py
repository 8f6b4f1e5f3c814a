"""Bad input: every wire parser, fuzzed, and the memory each one holds on hostile input.

Budget: a hypothesis profile per run. ``make test`` uses a small one (a few seconds);
``PORTEIRO_FUZZ=1`` (what ``make fuzz`` sets) selects the large one, 20,000 examples per
parser unless ``PORTEIRO_FUZZ_EXAMPLES`` says otherwise. The contract checked: single-
input parsers raise only :class:`MalformedInputError`; the stream parser and the
``never raises`` parsers raise nothing; memory stays bounded on giant Content-Length,
endless parts, deep nesting, megabyte lines, invalid UTF-8 and zip bombs.

The atheris targets in ``fuzz/`` check the same contract with coverage guidance.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tracemalloc
import zlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porteiro.exceptions import MalformedInputError
from porteiro.wire import AttachStreamParser, Heartbeat, Malformed, RawEvent, sniff
from porteiro.wire.detect import split_http_message
from porteiro.wire.errors import error_for_reply, parse_error_reply
from porteiro.wire.eventtext import parse_event_block, parse_event_text
from porteiro.wire.kv import is_ok, parse_kv, parse_records, parse_table
from porteiro.wire.multipart import DEFAULT_MAX_PART_BYTES
from porteiro.wire.push import DEFAULT_MAX_DECOMPRESSED, parse_online_reply, parse_push_body

if TYPE_CHECKING:
    from collections.abc import Callable

FUZZ = os.environ.get("PORTEIRO_FUZZ") == "1"
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("porteiro-fuzz-small", max_examples=60, deadline=None,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("porteiro-fuzz-large",
                          max_examples=int(os.environ.get("PORTEIRO_FUZZ_EXAMPLES", "20000")),
                          deadline=None, suppress_health_check=_SUPPRESS)
BUDGET = settings.get_profile("porteiro-fuzz-large" if FUZZ else "porteiro-fuzz-small")

# -- inputs: arbitrary bytes, and bytes built from the pieces real inputs are made of ---

_PIECES = [
    b"--myboundary\r\n", b"--myboundary--\r\n", b"--other\n", b"\r\n", b"\n", b"\r",
    b"Content-Type: text/plain\r\n", b"Content-Type: image/jpeg\r\n",
    b"Content-Type: multipart/x-mixed-replace; boundary=myboundary\r\n",
    b"Content-Length:315\r\n", b"Content-Length: 0\r\n", b"Content-Length: 99999999999\r\n",
    b"Content-Length: \xb2\r\n", b"Content-Disposition: form-data; name=\"info\"\r\n",
    b"HTTP/1.1 200 OK\r\n", b"POST /notification HTTP/1.1\r\n",
    b"Transfer-Encoding: chunked\r\n", b"5\r\n", b"-3\r\n", b"0x1f\r\n",
    b"Code=AccessControl;action=Pulse;index=0;data=", b"Code=Door;action=Start;index=x;",
    b"code=", b"data=", b"Heartbeat\n", b"heartbeat", b"found=2\r\n", b"totalCount=1\r\n",
    b"records[0].CardNo=AB\r\n", b"records[99999999999].X=1\r\n", b"table.A[0].B=1\r\n",
    b"a[0][99999]=1\n", b"OK\r\n", b"Error\r\nBad Request!\r\n",
    b'{"Events":[{"Code":"A","Action":"Pulse","Index":0,"Data":{"UTC":1}}],"Time":"x"}',
    b'{"code":268632336,"detail":{"FailCodes":[286064926],"FailCount":1}}',
    b'{"auth":"true","message":"ok","code":"200"}', b'{"Code":"A"}', b'"Events"',
    b"{", b"}", b"[", b"]", b'"', b":", b",", b"null", b"1e999", b"\\u00", b"\xff", b"\xc3",
    b"\xe2\x82", b"\x00", b"\x1f\x8b", b"\x78\x9c", b"\xef\xbb\xbf",
]
_fragments = st.lists(st.sampled_from(_PIECES) | st.binary(max_size=24), max_size=40).map(
    b"".join)
blobs = st.binary(max_size=2000) | _fragments
texts = blobs.map(lambda b: b.decode("utf-8", "replace")) | st.text(max_size=500)
_CTYPES = [None, "", "multipart/mixed; boundary=myboundary", "multipart/form-data",
           "multipart/mixed; boundary=\"--x\"", "multipart/mixed; boundary=other",
           "application/json", "text/plain", "image/jpeg", "multipart/mixed; boundary=\xb2"]
_ENCODINGS = [None, "", "identity", "gzip", "x-gzip", "deflate", "br", "GZIP "]


def _only_malformed(call: Callable[[], object]) -> None:
    """Run ``call``: returning or raising MalformedInputError is fine, nothing else."""
    with contextlib.suppress(MalformedInputError):
        call()


# -- the attach stream ---------------------------------------------------------------

@BUDGET
@given(blobs, st.lists(st.integers(1, 300), min_size=1, max_size=30),
       st.sampled_from([None, "myboundary", "other", "x"]))
def test_attach_parser_never_raises_and_stays_bounded(data: bytes, cuts: list[int],
                                                      boundary: str | None) -> None:
    parser = AttachStreamParser(boundary, max_part_bytes=1024)
    items = []
    pos = 0
    step = 0
    while pos < len(data):
        size = cuts[step % len(cuts)]
        items += parser.feed(data[pos : pos + size])
        assert parser.buffered <= 1024 + 300
        pos += size
        step += 1
    items += parser.close()
    assert parser.buffered == 0
    assert all(isinstance(item, RawEvent | Heartbeat | Malformed) for item in items)
    assert all(len(item.raw) <= 4096 for item in items if isinstance(item, Malformed))
    # Chunking changes nothing about which events are found.
    whole = AttachStreamParser(boundary, max_part_bytes=1024)
    once = whole.feed(data) + whole.close()
    if len(data) <= 1024:
        assert [i for i in items if isinstance(i, RawEvent)] == \
            [i for i in once if isinstance(i, RawEvent)]


# -- event text, key=value, records, tables -------------------------------------------

@BUDGET
@given(texts)
def test_event_text_parsers(text: str) -> None:
    items = parse_event_block(text)
    assert all(isinstance(item, RawEvent | Heartbeat | Malformed) for item in items)
    _only_malformed(lambda: parse_event_text(text))


@BUDGET
@given(blobs | texts)
def test_kv_parsers(body: bytes | str) -> None:
    is_ok(body)
    _only_malformed(lambda: parse_kv(body))
    _only_malformed(lambda: parse_records(body))
    _only_malformed(lambda: parse_table(body))


# -- push bodies, online replies, error envelopes, sniffing ----------------------------

@BUDGET
@given(blobs, st.sampled_from(_CTYPES), st.sampled_from(_ENCODINGS),
       st.sampled_from(["none", "gzip", "zlib", "raw"]))
def test_push_body_raises_only_malformed(body: bytes, ctype: str | None,
                                         encoding: str | None, pack: str) -> None:
    if pack == "gzip":
        body = gzip.compress(body)
    elif pack == "zlib":
        body = zlib.compress(body)
    elif pack == "raw":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(body) + packer.flush()
    _only_malformed(lambda: parse_push_body(body, ctype, encoding, max_decompressed=4096))


@BUDGET
@given(blobs)
def test_online_reply_raises_only_malformed(body: bytes) -> None:
    _only_malformed(lambda: parse_online_reply(body))


@BUDGET
@given(st.integers(-1, 999), blobs, st.sampled_from([None, "application/json", "text/plain"]))
def test_error_reply_never_raises(status: int, body: bytes, ctype: str | None) -> None:
    reply = parse_error_reply(status, body, ctype)
    if reply is not None:
        error_for_reply(reply)
        reply.describe("pt")


@BUDGET
@given(blobs)
def test_sniff_and_split_never_raise(data: bytes) -> None:
    sniff(data)
    _headers, body = split_http_message(data)
    assert len(body) <= len(data)
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + data
    assert len(split_http_message(chunked)[1]) <= len(data)


# -- hostile inputs, with the memory they cost ----------------------------------------

def _peak_mb(call: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / (1 << 20)


def _feed_all(parser: AttachStreamParser, chunks: object) -> list[object]:
    out: list[object] = []
    for chunk in chunks:  # type: ignore[attr-defined]
        out += parser.feed(chunk)
    return out + parser.close()


_EVENT = b'Code=Door;action=Start;index=0;data={"UTC":1}\n'


def _part(body: bytes, length: bytes | None = None) -> bytes:
    size = str(len(body)).encode() if length is None else length
    return (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length:" + size
            + b"\r\n\r\n" + body + b"\r\n")


def test_endless_part_holds_at_most_one_part_and_the_stream_recovers() -> None:
    parser = AttachStreamParser("myboundary")
    items: list[object] = []

    def run() -> None:
        items.extend(parser.feed(_part(_EVENT)))
        items.extend(parser.feed(b"--myboundary\r\n\r\nCode=X;action=Start;index=0;data={\"a\":\""))
        for _ in range(64 * 4):  # 64 MiB that never close the JSON, in 256 KiB chunks
            items.extend(parser.feed(b"a" * (256 << 10)))
            assert parser.buffered <= DEFAULT_MAX_PART_BYTES + (256 << 10)
        items.extend(parser.feed(b"\r\n" + _part(_EVENT)))
        items.extend(parser.close())

    assert _peak_mb(run) < 8 * DEFAULT_MAX_PART_BYTES / (1 << 20)
    assert [i.code for i in items if isinstance(i, RawEvent)] == ["Door", "Door"]
    assert [i.kind for i in items if isinstance(i, Malformed)] == ["too_large"]


@pytest.mark.parametrize("length", [b"99999999999", b"9" * 5000, b"-1", b"\xb2", b""])
def test_giant_or_absurd_content_length(length: bytes) -> None:
    stream = _part(_EVENT, length) + _part(_EVENT)
    parser = AttachStreamParser("myboundary")
    items = _feed_all(parser, [stream[i : i + 7] for i in range(0, len(stream), 7)])
    assert [i.code for i in items if isinstance(i, RawEvent)] == ["Door", "Door"]
    info = b'{"Events":[{"Code":"A","Data":{}}]}'
    body = (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: " + length
            + b"\r\n\r\n" + info + b"\r\n--myboundary--\r\n")
    push = parse_push_body(body, "multipart/mixed; boundary=myboundary")
    assert [e.code for e in push.events] == ["A"]


DEEP = "[" * 100_000


def test_deep_json_nesting_is_malformed_everywhere() -> None:
    text = "Code=A;action=Start;index=0;data=" + DEEP
    assert [i.kind for i in parse_event_block(text) if isinstance(i, Malformed)] == ["bad_json"]
    with pytest.raises(MalformedInputError):
        parse_event_text(text)
    stream = _part(_EVENT) + _part(text.encode() + b"\n") + _part(_EVENT)
    items = _feed_all(AttachStreamParser("myboundary"), [stream])
    assert [i.code for i in items if isinstance(i, RawEvent)] == ["Door", "Door"]
    with pytest.raises(MalformedInputError):
        parse_push_body(DEEP.encode())
    with pytest.raises(MalformedInputError):
        parse_online_reply(DEEP.encode())
    assert parse_error_reply(400, DEEP.encode(), "application/json") is not None
    with pytest.raises(MalformedInputError):
        parse_table("a" + "[0]" * 100_000 + "=1")
    with pytest.raises(MalformedInputError):
        parse_table(".".join(["a"] * 100_000) + "=1")


def test_deep_but_decodable_nesting_with_invalid_utf8() -> None:
    for depth in (400, 900, 990):
        nested = b"[" * depth + b"]" * depth
        body = b'Code=A;action=Start;index=0;data={"\xff":' + nested + b"}\n"
        items = _feed_all(AttachStreamParser("myboundary"), [_part(body) + _part(_EVENT)])
        assert [i.code for i in items if isinstance(i, RawEvent)][-1] == "Door"


def test_megabyte_lines_and_invalid_utf8_cost_a_few_times_their_size() -> None:
    line = "x" * (1 << 20)
    bad = b"\xff\xfe" * (1 << 19)

    def run() -> None:
        with pytest.raises(MalformedInputError):
            parse_kv(line)
        assert parse_kv("k=" + line)["k"] == line
        parse_event_block("Code=A;action=" + line)
        _only_malformed(lambda: parse_push_body(bad))
        parse_error_reply(500, bad)
        sniff(bad)
        items = _feed_all(AttachStreamParser("myboundary"),
                          [_part(bad), _part(_EVENT)])
        assert any(isinstance(i, RawEvent) for i in items)

    assert _peak_mb(run) < 40


@pytest.mark.parametrize("pack", ["gzip", "zlib", "raw"])
def test_zip_bombs_are_refused_within_the_cap(pack: str) -> None:
    bomb_size = 256 << 20  # 256 MiB of zeros, ~250 KB compressed
    packer = zlib.compressobj(9, zlib.DEFLATED, {"gzip": 31, "zlib": 15, "raw": -15}[pack])
    chunk = bytes(1 << 20)
    body = b"".join(packer.compress(chunk) for _ in range(bomb_size >> 20)) + packer.flush()
    encoding = "gzip" if pack == "gzip" else "deflate"
    assert bomb_size > DEFAULT_MAX_DECOMPRESSED

    def run() -> None:
        with pytest.raises(MalformedInputError, match="inflates past"):
            parse_push_body(body, "multipart/mixed; boundary=myboundary", encoding)

    # The inflater stops at the cap: memory is the cap plus the compressed body, not
    # the bomb's 256 MiB.
    assert _peak_mb(run) < 2.5 * DEFAULT_MAX_DECOMPRESSED / (1 << 20)
    if pack == "gzip":  # no Content-Encoding header, gzip magic in the body
        with pytest.raises(MalformedInputError, match="inflates past"):
            parse_push_body(body)


@pytest.mark.parametrize("size", [b"-f", b"-3", b"+5", b"0x2", b"1_0", b" "])
def test_chunked_body_with_a_bad_size_line_ends(size: bytes) -> None:
    # "-f" once moved the dechunker backwards forever (found by atheris).
    data = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\nab\r\n0\r\n\r\n"
    _headers, body = split_http_message(data)
    assert b"ab" in body
