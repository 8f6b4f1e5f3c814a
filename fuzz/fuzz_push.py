"""atheris target: push / Modo Online bodies (multipart, JSON, text, gzip/deflate)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from porteiro.exceptions import MalformedInputError
    from porteiro.wire.push import parse_push_body

import contextlib

from _harness import run

CTYPES = [None, "multipart/mixed; boundary=myboundary", "multipart/form-data",
          "application/json", "text/plain", "multipart/mixed; boundary=x"]
ENCODINGS = [None, "gzip", "deflate", "identity", "br"]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    ctype = fdp.PickValueInList(CTYPES)
    encoding = fdp.PickValueInList(ENCODINGS)
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    with contextlib.suppress(MalformedInputError):
        parse_push_body(body, ctype, encoding, max_decompressed=1 << 16)


if __name__ == "__main__":
    run(test_one_input)
