"""Shared glue of the atheris targets: run a ``test_one_input`` under libFuzzer.

Each target checks the contract of ``tests/test_fuzz.py`` with coverage guidance:
single-input parsers raise only :class:`~porteiro.exceptions.MalformedInputError`,
the stream parser and the never-raising parsers raise nothing. Any other exception is
a crash: libFuzzer stops and writes the input to ``fuzz/artifacts/``.

Run one by hand: ``.venv/bin/python fuzz/fuzz_push.py -max_total_time=60
fuzz/corpus/push examples tests/fixtures/wire`` (``make fuzz`` runs them all).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import atheris

if TYPE_CHECKING:
    from collections.abc import Callable


def run(test_one_input: Callable[[bytes], None]) -> None:
    """Start libFuzzer with this process's arguments."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
