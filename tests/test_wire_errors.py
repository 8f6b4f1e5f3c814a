"""Error replies in both firmware styles, and the exceptions they become."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from porteiro.codes import RequestError
from porteiro.exceptions import AuthenticationError, BatchError, DeviceError
from porteiro.wire.errors import (
    error_for_reply,
    format_batch_error,
    format_json_error,
    format_legacy_error,
    parse_error_reply,
)

BATCH = (b'{"code":268632336,"detail":{"FailCodes":[286064926],"FailCount":1},'
         b'"message":"Batch Process Error"}')


def test_legacy_bad_request_variants() -> None:
    for body in (b"Error\r\nBad Request!\r\n", b"Error\nBad Request!", b"Error\r\nBad Request!"):
        reply = parse_error_reply(400, body)
        assert reply is not None
        assert reply.style == "legacy"
        assert reply.message == "Bad Request!"
        assert reply.code is None


def test_legacy_not_implemented() -> None:
    reply = parse_error_reply(501, b"Error\nNot Implemented!")
    assert reply is not None
    assert reply.message == "Not Implemented!"
    assert reply.http_status == 501


def test_json_envelope() -> None:
    reply = parse_error_reply(400, b'{"code":286064929,"message":""}',
                              "application/json; charset=utf-8")
    assert reply is not None
    assert reply.style == "json"
    assert reply.code is RequestError.USER_ALREADY_EXISTS
    assert reply.describe() == "USER_ALREADY_EXISTS (286064929): User already exists"
    assert "Usuário já existe" in reply.describe("pt")


def test_batch_envelope_names_the_real_reason() -> None:
    reply = parse_error_reply(400, BATCH)
    assert reply is not None
    assert reply.code is RequestError.BATCH_PROCESS_ERROR
    assert reply.fail_codes == (RequestError.PHOTO_ALREADY_EXISTS,)
    assert reply.fail_count == 1
    error = error_for_reply(reply)
    assert isinstance(error, BatchError)
    assert error.fail_codes == (RequestError.PHOTO_ALREADY_EXISTS,)
    assert "286064926" in str(error)


def test_unknown_code_is_kept() -> None:
    reply = parse_error_reply(400, b'{"code":123456789,"message":"x"}')
    assert reply is not None
    assert reply.code is not None
    assert int(reply.code) == 123456789
    assert not reply.code.known


def test_exceptions_for_replies() -> None:
    locked = parse_error_reply(400, b'{"code":268632081,"message":""}')
    assert locked is not None
    assert isinstance(error_for_reply(locked), AuthenticationError)
    plain = parse_error_reply(400, b"Error\r\nBad Request!\r\n")
    assert plain is not None
    error = error_for_reply(plain)
    assert isinstance(error, DeviceError)
    assert error.http_status == 400
    unauthorized = parse_error_reply(401, b"")
    assert unauthorized is not None
    assert isinstance(error_for_reply(unauthorized), AuthenticationError)


def test_not_errors() -> None:
    assert parse_error_reply(200, b"OK\r\n") is None
    assert parse_error_reply(200, b"found=0\r\n") is None
    assert parse_error_reply(200, b'{"result":true}') is None


def test_unknown_error_body() -> None:
    reply = parse_error_reply(500, b"<html>oops</html>")
    assert reply is not None
    assert reply.style == "unknown"


def test_serializers_are_device_exact() -> None:
    assert format_legacy_error("bad_request") == (400, b"Error\r\nBad Request!\r\n",
                                                  "text/plain; charset=utf-8")
    assert format_json_error(285278242) == (400, b'{"code":285278242,"message":""}',
                                            "application/json; charset=utf-8")
    assert format_batch_error([286064926])[1] == BATCH


@given(st.lists(st.integers(0, 2**31 - 1), max_size=10))
def test_batch_round_trip(codes: list[int]) -> None:
    status, body, ctype = format_batch_error(codes)
    reply = parse_error_reply(status, body, ctype)
    assert reply is not None
    assert [int(c) for c in reply.fail_codes] == codes
    assert reply.fail_count == len(codes)


@given(st.integers(0, 599), st.binary(max_size=300), st.none() | st.text(max_size=30))
def test_parse_error_reply_never_raises(status: int, body: bytes, ctype: str | None) -> None:
    parse_error_reply(status, body, ctype)
