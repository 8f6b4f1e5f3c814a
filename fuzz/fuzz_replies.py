"""atheris target: device replies (error envelopes, Modo Online replies) and sniffing."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from porteiro.exceptions import MalformedInputError
    from porteiro.wire.detect import sniff, split_http_message
    from porteiro.wire.errors import error_for_reply, parse_error_reply
    from porteiro.wire.push import parse_online_reply

import contextlib

from _harness import run


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    status = fdp.ConsumeIntInRange(0, 599)
    ctype = fdp.PickValueInList([None, "application/json", "text/plain"])
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    reply = parse_error_reply(status, body, ctype)
    if reply is not None:
        error_for_reply(reply).__str__()
    with contextlib.suppress(MalformedInputError):
        parse_online_reply(body)
    sniff(body)
    split_http_message(body)
    split_http_message(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)


if __name__ == "__main__":
    run(test_one_input)
