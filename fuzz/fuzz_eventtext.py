"""atheris target: ``Code=..;action=..;index=..;data={..}`` event text."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from porteiro.exceptions import MalformedInputError
    from porteiro.wire.eventtext import parse_event_block, parse_event_text

import contextlib

from _harness import run


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    parse_event_block(text)
    with contextlib.suppress(MalformedInputError):
        parse_event_text(text)


if __name__ == "__main__":
    run(test_one_input)
