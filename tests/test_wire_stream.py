"""The eventManager attach stream parser: device quirks, chunking, garbage, bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porteiro.wire import (
    AttachStreamParser,
    Heartbeat,
    Malformed,
    RawEvent,
    StreamItem,
    boundary_from_content_type,
    format_attach_event,
    format_attach_heartbeat,
    format_event_text,
    parse_event_block,
)

FIXTURES = Path(__file__).parent / "fixtures" / "wire"
OFFICIAL = (FIXTURES / "attach_official.txt").read_bytes()


def parse_all(data: bytes, *, boundary: str | None = "myboundary", chunk: int | None = None,
              max_part_bytes: int = 1 << 20) -> list[StreamItem]:
    parser = AttachStreamParser(boundary, max_part_bytes=max_part_bytes)
    items: list[StreamItem] = []
    step = chunk or len(data) or 1
    for start in range(0, len(data), step):
        items += parser.feed(data[start : start + step])
    return items + parser.close()


def events(items: list[StreamItem]) -> list[RawEvent]:
    return [item for item in items if isinstance(item, RawEvent)]


def test_official_example_every_event_and_the_heartbeat() -> None:
    items = parse_all(OFFICIAL)
    assert [type(i).__name__ for i in items] == ["RawEvent"] * 5 + ["Heartbeat"]
    first = events(items)[0]
    assert first.code == "AccessControl"
    assert first.action == "Pulse"
    assert first.index == 0
    assert first.data["CardNo"] == "12EA3004"
    assert first.data["UTC"] == 1629721071
    assert [e.code for e in events(items)] == [
        "AccessControl", "BreakIn", "DoorNotClosed", "_Button_", "Duress"]
    assert events(items)[2].action == "Start"
    assert events(items)[3].data == {"Local": True, "ReaderID": "1", "Type": "Button"}


def test_content_length_of_the_official_example_matches_our_serializer() -> None:
    """The official 315 counts the event text with LF line ends plus one trailing LF."""
    event = events(parse_all(OFFICIAL))[0]
    part = format_attach_event(event)
    assert b"Content-Length:315\r\n" in part
    assert part == OFFICIAL[: len(part)]


@pytest.mark.parametrize("boundary", [None, "myboundary"])
def test_boundary_detected_from_the_stream_when_not_given(boundary: str | None) -> None:
    parser = AttachStreamParser(boundary)
    items = parser.feed(OFFICIAL) + parser.close()
    assert parser.boundary == "myboundary"
    assert len(events(items)) == 5


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("multipart/x-mixed-replace; boundary=myboundary", "myboundary"),
        ('multipart/x-mixed-replace;boundary="test"', "test"),
        ("multipart/x-mixed-replace; boundary=--myboundary", "myboundary"),
        ("Multipart/Mixed; charset=utf-8; BOUNDARY=abc123", "abc123"),
        ("text/plain", None),
        (None, None),
    ],
)
def test_boundary_from_content_type(header: str | None, expected: str | None) -> None:
    assert boundary_from_content_type(header) == expected


def test_custom_boundary_from_content_type() -> None:
    data = OFFICIAL.replace(b"--myboundary", b"--test")
    parser = AttachStreamParser.for_content_type("multipart/x-mixed-replace; boundary=test")
    assert len(events(parser.feed(data) + parser.close())) == 5


def test_lf_only_stream() -> None:
    assert events(parse_all(OFFICIAL.replace(b"\r\n", b"\n"))) == events(parse_all(OFFICIAL))


def test_content_length_with_a_space_and_no_blank_line() -> None:
    data = (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n"
            b'Code=Reboot;action=Pulse;index=0;data={\n   "UTC" : 1\n}\n')
    assert [e.code for e in events(parse_all(data))] == ["Reboot"]


def test_lying_content_length_is_not_trusted() -> None:
    body = b'Code=BreakIn;action=Pulse;index=0;data={\n   "Name" : "SS-1"\n}\n'
    data = (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length:99999\r\n\r\n" + body
            + b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length:3\r\n\r\n" + body)
    assert [e.code for e in events(parse_all(data))] == ["BreakIn", "BreakIn"]


def test_an_event_is_delivered_before_the_next_boundary_arrives() -> None:
    """No heartbeat-long delay: the closing brace completes the event."""
    parser = AttachStreamParser("myboundary")
    part = format_attach_event(RawEvent("AccessControl", "Pulse", 0, {"UserID": "7"}))
    got = parser.feed(part)
    assert [e.data for e in events(got)] == [{"UserID": "7"}]


def test_heartbeats_either_case_and_reported_promptly() -> None:
    parser = AttachStreamParser("myboundary")
    got = parser.feed(b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length:10\r\n\r\n"
                      b"Heartbeat\n")
    assert len(got) == 1
    assert isinstance(got[0], Heartbeat)
    got = parser.feed(b"\r\n--myboundary\r\nContent-Type: text/plain\r\n\r\nheartbeat\r\n")
    assert [type(i) for i in got + parser.close()] == [Heartbeat]


def test_pretty_printed_json_with_garbage_after_it() -> None:
    data = (b"--myboundary\r\nContent-Type: text/plain\r\n\r\n"
            b'Code=Duress;action=Pulse;index=0;data={\n   "UserID" : "1"\n}\x00\x07junk}}\n'
            b"--myboundary\r\n")
    items = parse_all(data)
    assert [e.code for e in events(items)] == ["Duress"]
    assert not [i for i in items if isinstance(i, Malformed)]


def test_malformed_part_is_reported_and_neighbours_survive() -> None:
    good = format_attach_event(RawEvent("AccessControl", "Pulse", 0, {"UserID": "1"}))
    bad = (b"--myboundary\r\nContent-Type: text/plain\r\nContent-Length:40\r\n\r\n"
           b'Code=AccessControl;action=Pulse;index=0;data={"UserID": oops}\n\r\n')
    items = parse_all(good + bad + good)
    assert [e.data["UserID"] for e in events(items)] == ["1", "1"]
    problems = [i for i in items if isinstance(i, Malformed)]
    assert len(problems) == 1
    assert b"oops" in problems[0].raw
    assert "bad JSON" in problems[0].reason
    assert problems[0].offset == len(good) + len(bad) - len(bad.split(b"\r\n\r\n", 1)[1])


def test_invalid_utf8_is_replaced_inside_its_event_only() -> None:
    name = "Jo\u00e3o".encode("latin-1")  # what a misconfigured firmware might send
    part = (b"--myboundary\r\nContent-Type: text/plain\r\n\r\n"
            b'Code=AccessControl;action=Pulse;index=0;data={"CardName" : "' + name + b'"}\n')
    good = format_attach_event(RawEvent("AccessControl", "Pulse", 0, {"CardName": "Jos\u00e9"}))
    got = events(parse_all(good + part + good, chunk=7))
    assert [e.data["CardName"] for e in got] == ["Jos\u00e9", "Jo\ufffdo", "Jos\u00e9"]


def test_utf8_split_inside_a_character() -> None:
    event = RawEvent("AccessControl", "Pulse", 0, {"CardName": "Gon\u00e7alves"})
    part = format_attach_event(event)
    cut = part.index("\u00e7".encode()) + 1  # between the two bytes of c-cedilla
    parser = AttachStreamParser("myboundary")
    items = parser.feed(part[:cut]) + parser.feed(part[cut:]) + parser.close()
    assert events(items)[0].data["CardName"] == "Gon\u00e7alves"


def test_never_ending_part_is_bounded_and_the_stream_recovers() -> None:
    limit = 4096
    parser = AttachStreamParser("myboundary", max_part_bytes=limit)
    items = parser.feed(b"--myboundary\r\nContent-Type: text/plain\r\n\r\n"
                        b'Code=AccessControl;action=Pulse;index=0;data={"x" : "')
    for _ in range(100):
        items += parser.feed(b"a" * 1000)
        assert parser.buffered <= limit + 1000
    items += parser.feed(b'"}\r\n' + format_attach_event(RawEvent("Reboot", "Pulse", 0, {})))
    items += parser.close()
    problems = [i for i in items if isinstance(i, Malformed)]
    assert len(problems) == 1
    assert "larger than 4096 bytes" in problems[0].reason
    assert problems[0].truncated or len(problems[0].raw) <= 4096
    assert [e.code for e in events(items)] == ["Reboot"]


def test_capture_with_http_response_head() -> None:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=test\r\n"
            b"Connection: close\r\n\r\n")
    items = parse_all(head + OFFICIAL.replace(b"--myboundary", b"--test"), boundary=None, chunk=13)
    assert len(events(items)) == 5
    assert not [i for i in items if isinstance(i, Malformed)]


def test_bare_event_text_stream_without_framing() -> None:
    text = (format_event_text(RawEvent("BreakIn", "Pulse", 0, {"Name": "SS-1"})) + "\n"
            + format_event_text(RawEvent("Reboot", "Pulse", 0, {})) + "\n").encode()
    got = events(parse_all(text, boundary=None, chunk=5))
    assert [e.code for e in got] == ["BreakIn", "Reboot"]


def test_event_text_without_data_and_odd_index() -> None:
    items = parse_event_block("Code=Reboot;action=Pulse;index=x\nCode=Upgrade;action=Start")
    assert events(items) == [
        RawEvent("Reboot", "Pulse", 0, {}, {"index": "x"}),
        RawEvent("Upgrade", "Start", 0, {}, {}),
    ]


def test_data_null_and_non_object_data() -> None:
    items = parse_event_block("Code=A;action=Pulse;index=0;data=null\nCode=B;action=Pulse;"
                              "index=0;data=[1,2]\nCode=C;action=Pulse;index=0;data={}")
    assert [e.code for e in events(items)] == ["A", "C"]
    assert [m.reason for m in items if isinstance(m, Malformed)] == [
        "event B: data is not a JSON object"]


def test_control_characters_inside_json_strings_are_accepted() -> None:
    items = parse_event_block('Code=ManagerLog;action=Pulse;index=0;data={"Detail" : "a\tb\nc"}')
    assert events(items)[0].data["Detail"] == "a\tb\nc"


# -- properties ------------------------------------------------------------------------

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)
_codes = st.sampled_from(["AccessControl", "DoorStatus", "BreakIn", "_Button_", "Reboot",
                          "NewFutureEvent"])
_raw_events = st.builds(
    RawEvent,
    code=_codes,
    action=st.sampled_from(["Pulse", "Start", "Stop"]),
    index=st.integers(0, 7),
    data=st.dictionaries(st.text(max_size=12), _json_values, max_size=6),
)
_streams = st.lists(st.one_of(_raw_events, st.just(None)), min_size=1, max_size=12)


def _render(items: list[RawEvent | None]) -> bytes:
    return b"".join(format_attach_heartbeat() if i is None else format_attach_event(i)
                    for i in items)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_streams, st.lists(st.integers(1, 200), min_size=1, max_size=50))
def test_any_chunking_yields_the_same_items(stream: list[RawEvent | None],
                                            cuts: list[int]) -> None:
    data = _render(stream)
    whole = parse_all(data)
    parser = AttachStreamParser("myboundary")
    got: list[StreamItem] = []
    pos = 0
    for size in cuts * (len(data) // max(1, sum(cuts)) + 1):
        if pos >= len(data):
            break
        got += parser.feed(data[pos : pos + size])
        pos += size
    got += parser.close()
    assert got == whole
    assert events(got) == [i for i in stream if i is not None]
    assert sum(isinstance(i, Heartbeat) for i in got) == stream.count(None)


_garbage = st.binary(min_size=1, max_size=60).filter(
    lambda g: b"--myboundary" not in g and b"code=" not in g.lower()
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_streams, st.lists(_garbage, min_size=1, max_size=12), st.integers(1, 97))
def test_garbage_between_parts_loses_no_valid_event(stream: list[RawEvent | None],
                                                    garbage: list[bytes], chunk: int) -> None:
    parts = [format_attach_heartbeat() if i is None else format_attach_event(i) for i in stream]
    mixed = garbage[-1] + b"".join(part + garbage[n % len(garbage)]
                                   for n, part in enumerate(parts))
    got = events(parse_all(mixed, chunk=chunk))
    assert got == [i for i in stream if i is not None]


@settings(max_examples=300)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_the_decoder_never_raises_on_arbitrary_bytes(data: bytes, chunk: int) -> None:
    items = parse_all(data, boundary=None, chunk=chunk, max_part_bytes=1024)
    for item in items:
        if isinstance(item, RawEvent):
            json.dumps(item.data)  # decoded data is always valid JSON again


@settings(max_examples=200)
@given(_raw_events)
def test_event_text_round_trip(event: RawEvent) -> None:
    assert parse_event_block(format_event_text(event)) == [event]
    assert parse_event_block(format_event_text(event, indent=None)) == [event]
