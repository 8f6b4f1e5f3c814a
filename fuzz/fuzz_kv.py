"""atheris target: ``key=value`` replies, record listings and config tables."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from porteiro.exceptions import MalformedInputError
    from porteiro.wire.kv import is_ok, parse_kv, parse_records, parse_table

import contextlib

from _harness import run


def test_one_input(data: bytes) -> None:
    is_ok(data)
    for parse in (parse_kv, parse_records, parse_table):
        with contextlib.suppress(MalformedInputError):
            parse(data)


if __name__ == "__main__":
    run(test_one_input)
