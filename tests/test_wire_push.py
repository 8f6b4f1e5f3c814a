"""Push and Modo Online bodies (device -> server) and the server's replies."""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porteiro.exceptions import MalformedInputError
from porteiro.wire import RawEvent
from porteiro.wire.detect import split_http_message
from porteiro.wire.push import (
    DEFAULT_MAX_DECOMPRESSED,
    PushBody,
    _parse_canonical,
    _parse_general,
    format_online_reply,
    format_push_body,
    parse_online_reply,
    parse_push_body,
)

EXAMPLES = Path(__file__).parent.parent / "examples"
FIXTURES = Path(__file__).parent / "fixtures" / "wire"

# The official raw capture's event (reference, "Modo Online and push, in detail" A).
CAPTURE_EVENT = RawEvent(
    "AccessControl", "Pulse", 0,
    {"CardName": "", "CardNo": "", "CardType": 0, "CreateTime": 1581098913, "Door": 0,
     "ErrorCode": 16, "Method": 6, "ReaderID": "1", "Status": 0, "Type": "Entry",
     "UTC": 1581098913, "UserID": "", "UserType": 0, "errortype": ""},
    {"PhysicalAddress": "c0:39:5a:62:64:c9"},
)


def test_official_capture_parses() -> None:
    capture = (FIXTURES / "push_capture_lf.txt").read_bytes()
    parsed = parse_push_body(capture, None)
    assert [e.code for e in parsed.events] == ["_FingerPrintCollect_"]
    event = parsed.events[0]
    assert event.action == "Start"
    assert event.data["Doors"] == [0]
    assert event.extras == {"PhysicalAddress": "c0:39:5a:62:64:c9"}
    assert parsed.time == "07-02-2020 15:18:47"
    assert parsed.images == ()
    assert parsed.problems == ()


def test_serializer_reproduces_the_official_capture_byte_for_byte() -> None:
    """Content-Length 767 = the JSON (LF inside) plus one LF. The stored capture has LF
    line ends throughout (probably normalised by git); the device's part headers are
    CRLF [OFFICIAL-EX parsers split on CRLF], so we send CRLF there (assumption)."""
    capture = (FIXTURES / "push_capture_lf.txt").read_bytes()
    event = parse_push_body(capture, None).events[0]
    body, ctype = format_push_body([event], time="07-02-2020 15:18:47")
    assert ctype == "multipart/mixed; boundary=myboundary"
    assert b"Content-Length: 767\r\n" in body
    assert body.replace(b"\r\n", b"\n") == capture


def test_failed_fingerprint_event_round_trip() -> None:
    body, ctype = format_push_body([CAPTURE_EVENT], time="07-02-2020 15:08:33")
    parsed = parse_push_body(body, ctype)
    assert parsed.events == (CAPTURE_EVENT,)
    assert parsed.time == "07-02-2020 15:08:33"


def test_example_http_request() -> None:
    headers, body = split_http_message((EXAMPLES / "push-body.txt").read_bytes())
    parsed = parse_push_body(body, headers["content-type"])
    assert [e.data["Method"] for e in parsed.events] == [6, 15]
    assert parsed.events[1].extras["PhysicalAddress"] == "c0:39:5a:62:64:c9"


def test_image_first_lf_only_no_header_boundary_and_form_data() -> None:
    jpeg = b"\xff\xd8\xff\xe0JFIF\r\n--myboundary\r\n\x00\xff\xd9"
    info = json.dumps({"Channel": 0, "Events": [{"Action": "Pulse", "Code": "AccessControl",
                                                 "Data": {"UserID": "5"}, "Index": 0}],
                       "Time": "x"}).encode()
    body = (b"--myboundary\nContent-Type: image/jpeg\nContent-Length: " + str(len(jpeg)).encode()
            + b"\n\n" + jpeg + b"\n--myboundary\nContent-Disposition: form-data; name=\"info\"\n"
            b"Content-Type: text/plain\n\n" + info + b"\n--myboundary--\n")
    parsed = parse_push_body(body, None)
    assert parsed.images == (jpeg,)
    assert parsed.channel == 0
    assert parsed.events[0].data == {"UserID": "5"}


def test_control_characters_and_trailing_garbage_in_the_json() -> None:
    info = b'{"Events":[{"Code":"ManagerLog","Data":{"Detail":"a\nb\tc"}}]}\n--myboundary--\x00'
    body = b"--myboundary\r\nContent-Type: text/plain\r\n\r\n" + info
    parsed = parse_push_body(body, "multipart/mixed; boundary=myboundary")
    assert parsed.events[0].data["Detail"] == "a\nb\tc"


def test_bad_event_entries_do_not_cost_the_good_ones() -> None:
    payload = {"Events": [{"Code": "AccessControl", "Data": {"UserID": "1"}}, "junk",
                          {"Data": {}}, {"Code": "DoorStatus", "Data": {"Status": "Open"}}]}
    parsed = parse_push_body(json.dumps(payload).encode(), "application/json")
    assert [e.code for e in parsed.events] == ["AccessControl", "DoorStatus"]
    assert len(parsed.problems) == 2


def test_legacy_text_body() -> None:
    body = b'Code=AccessControl;action=Pulse;index=0;data={"UserID" : "9"}'
    parsed = parse_push_body(body, "text/plain")
    assert parsed.events == (RawEvent("AccessControl", "Pulse", 0, {"UserID": "9"}),)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_bodies(encoding: str) -> None:
    body, ctype = format_push_body([CAPTURE_EVENT], time="t")
    if encoding == "gzip":
        packed = gzip.compress(body)
    elif encoding == "deflate":
        packed = zlib.compress(body)
    else:
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = squeezer.compress(body) + squeezer.flush()
    parsed = parse_push_body(packed, ctype, encoding.split("-", 1)[0])
    assert parsed.events == (CAPTURE_EVENT,)


def test_zip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (2 << 20))
    with pytest.raises(MalformedInputError, match="inflates past"):
        parse_push_body(bomb, "application/json", "gzip", max_decompressed=1 << 20)


def test_unreadable_bodies_raise_clearly() -> None:
    with pytest.raises(MalformedInputError):
        parse_push_body(b"\x00\x01 nothing here", "application/octet-stream")
    with pytest.raises(MalformedInputError):
        parse_push_body(b"{not json", "application/json")
    with pytest.raises(MalformedInputError, match="Content-Encoding"):
        parse_push_body(b"x", None, "br")


def test_online_reply_format_and_parse() -> None:
    body = format_online_reply(granted=True, message="Acesso Liberado")
    assert json.loads(body) == {"message": "Acesso Liberado", "code": "200", "auth": "true"}
    assert "ã" in format_online_reply(granted=False, message="Pagamento não realizado!").decode()
    reply = parse_online_reply(body)
    assert reply.granted is True
    assert reply.message == "Acesso Liberado"


@pytest.mark.parametrize(("auth", "expected"), [("true", True), ("false", False), (True, True),
                                                (0, False), ("1", True)])
def test_online_reply_lenient_auth(auth: object, expected: bool) -> None:
    body = json.dumps({"message": "", "code": 200, "auth": auth}).encode()
    assert parse_online_reply(body).granted is expected
    assert parse_online_reply(body).code == "200"


@pytest.mark.parametrize("body", [b"nope", b'{"message":"x"}', b'{"auth":"maybe"}', b"[]"])
def test_online_reply_garbage(body: bytes) -> None:
    with pytest.raises(MalformedInputError):
        parse_online_reply(body)


_events = st.builds(
    RawEvent,
    code=st.sampled_from(["AccessControl", "DoorStatus", "BreakIn"]),
    action=st.sampled_from(["Pulse", "Start"]),
    index=st.integers(0, 3),
    data=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=12), max_size=5),
    extras=st.just({"PhysicalAddress": "c0:39:5a:62:64:c9"}),
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_events, min_size=1, max_size=4), st.binary(max_size=400),
       st.sampled_from([None, "info"]))
def test_push_round_trip(events: list[RawEvent], image: bytes, name: str | None) -> None:
    # Images are arbitrary binary, even bytes that look like boundaries.
    image = image + b"\r\n--myboundary\r\n" if image else image
    body, ctype = format_push_body(events, time="01-01-2026 00:00:00", image=image,
                                   info_name=name)
    parsed = parse_push_body(body, ctype)
    assert list(parsed.events) == [
        RawEvent(e.code, e.action, e.index, dict(sorted(e.data.items())), e.extras)
        for e in events]
    assert parsed.images == ((image,) if image else ())


@settings(max_examples=300)
@given(st.binary(max_size=500), st.sampled_from([None, "multipart/mixed; boundary=myboundary",
                                                 "application/json", "text/plain"]))
def test_parse_push_body_only_raises_malformed(body: bytes, ctype: str | None) -> None:
    with contextlib.suppress(MalformedInputError):
        parse_push_body(body, ctype)


def _both(body: bytes, ctype: str | None, encoding: str | None = None) -> object:
    """parse_push_body (fast path when canonical) and the general path: same outcome."""
    outcomes = []
    for parse in (parse_push_body, lambda b, c, e: _parse_general(b, c, e,
                                                                  DEFAULT_MAX_DECOMPRESSED)):
        try:
            outcomes.append(parse(body, ctype, encoding))
        except MalformedInputError as exc:
            outcomes.append(("malformed", exc.reason))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


def test_fast_path_matches_the_general_path_on_the_official_capture() -> None:
    capture = (FIXTURES / "push_capture_lf.txt").read_bytes()
    event = parse_push_body(capture, None).events[0]
    body, ctype = format_push_body([event], time="07-02-2020 15:18:47")
    assert _parse_canonical(body, ctype) is not None  # the device's own body is canonical
    parsed = _both(body, ctype)
    assert parsed == parse_push_body(capture, None)
    for ctype_variant in (ctype, None, "multipart/mixed"):
        _both(capture, ctype_variant)
        _both(capture.replace(b"\n", b"\r\n"), ctype_variant)


_boundaries = st.text(st.sampled_from("abcXYZ019_.=+/:?()-' "), min_size=1, max_size=12)
_jpeg = st.binary(max_size=300).map(lambda b: b + b"\r\n--myboundary\r\n" if b else b)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_events, min_size=0, max_size=4), _jpeg, st.sampled_from([None, "info"]),
       _boundaries, st.sampled_from([None, 1]), st.booleans(),
       st.text(max_size=30) | st.sampled_from(["", "\x00\x1f", "garbage}", "\ufeff"]))
def test_fast_path_matches_the_general_path(  # noqa: PLR0917
        events: list[RawEvent], image: bytes,
                                            name: str | None, boundary: str,
                                            channel: int | None, no_image_part: bool,
                                            junk: str) -> None:
    body, ctype = format_push_body(events, time="01-01-2026 00:00:00", image=image,
                                   boundary=boundary, channel=channel, info_name=name)
    if no_image_part:  # the info part, then the closing delimiter
        delim = b"--" + boundary.encode()
        head, _, _ = body.partition(b"\r\n" + delim + b"\r\nContent-Type: image/jpeg")
        body = head + b"\r\n" + delim + b"--\r\n"
    parsed = _both(body, ctype)
    if not set(boundary) & set("'- "):  # a boundary the header carries as it is
        assert isinstance(parsed, PushBody)
        assert len(parsed.events) == len(events)
        if name is None:
            assert _parse_canonical(body, ctype) is not None
    # A JSON part that is not quite JSON, or has something after it.
    info_start = body.index(b"\r\n\r\n") + 4
    mangled = body[:info_start] + junk.encode() + body[info_start:]
    _both(mangled, ctype)
    # The same, with a Content-Length that fits (the fast path reads such a body too).
    length_at = body.index(b"Content-Length: ") + len(b"Content-Length: ")
    length_end = body.index(b"\r\n", length_at)
    length = int(body[length_at:length_end]) + len(junk.encode())
    refit = (mangled[:length_at] + str(length).encode()
             + mangled[length_end:])
    _both(refit, ctype)
    for info in (b"", b"  \n", b"[1, 2]", b'{"Events": 3}', b"Code=1;data={}", b"\xff{"):
        _both(body[:length_at] + str(len(info)).encode() + b"\r\n\r\n" + info
              + body[info_start + length - len(junk.encode()):], ctype)
    _both(body.replace(b"Content-Length: ", b"Content-Length: 1", 1), ctype)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_events, min_size=1, max_size=2), _jpeg, st.integers(0, 2000),
       st.integers(0, 8), st.binary(max_size=6),
       st.sampled_from(["multipart/mixed; boundary=myboundary", "multipart/form-data",
                        "Multipart/Mixed; boundary=\"myboundary\"", "text/plain"]))
def test_fast_path_matches_the_general_path_on_damaged_bodies(  # noqa: PLR0917
        events: list[RawEvent], image: bytes, at: int, cut: int, insert: bytes,
        ctype: str) -> None:
    body, _ = format_push_body(events, time="01-01-2026 00:00:00", image=image)
    at %= len(body) + 1
    _both(body[:at] + insert + body[at + cut:], ctype)
    _both(body[:at], ctype)
    _both(body, ctype, "identity")
