"""Sniffing captured inputs and splitting captured HTTP messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from porteiro.wire import InputFormat, sniff
from porteiro.wire.detect import split_http_message

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("attach-stream.txt", InputFormat.ATTACH), ("push-body.txt", InputFormat.PUSH),
     ("records.txt", InputFormat.RECORDS)],
)
def test_examples(name: str, expected: InputFormat) -> None:
    assert sniff((EXAMPLES / name).read_bytes()) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"Code=AccessControl;action=Pulse;index=0;data={}", InputFormat.EVENT_TEXT),
        (b'\r\n--myboundary\r\nContent-Type: text/plain\r\n\r\n{"Events":[]}', InputFormat.PUSH),
        (b'{"Events":[{"Code":"AccessControl"}]}', InputFormat.PUSH),
        (b"\x1f\x8b\x08\x00", InputFormat.PUSH),
        (b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=b\r\n\r\n",
         InputFormat.ATTACH),
        (b"POST /notification HTTP/1.1\r\nHost: x\r\n\r\n", InputFormat.PUSH),
        (b"found=0\r\n", InputFormat.RECORDS),
        (b"", InputFormat.UNKNOWN),
        (b"hello world", InputFormat.UNKNOWN),
    ],
)
def test_sniff(head: bytes, expected: InputFormat) -> None:
    assert sniff(head) == expected


def test_split_http_request_with_chunked_body() -> None:
    message = (b"POST /notification HTTP/1.1\r\nContent-Type: multipart/mixed; boundary=x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    headers, body = split_http_message(message)
    assert headers["content-type"] == "multipart/mixed; boundary=x"
    assert body == b"hello world"


def test_split_leaves_plain_bodies_alone() -> None:
    assert split_http_message(b"--myboundary\r\n") == ({}, b"--myboundary\r\n")


def test_split_lf_only_response() -> None:
    headers, body = split_http_message(b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\nOK")
    assert headers == {"content-type": "text/plain"}
    assert body == b"OK"
