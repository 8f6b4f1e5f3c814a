"""atheris target: the attach stream parser, fed in chunks the input chooses."""

from __future__ import annotations

import atheris

with atheris.instrument_imports():
    from porteiro.wire import AttachStreamParser

from _harness import run

MAX_PART = 4096


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    boundary = fdp.PickValueInList([None, "myboundary", "x"])
    cuts = [fdp.ConsumeIntInRange(1, 512) for _ in range(fdp.ConsumeIntInRange(1, 8))]
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    parser = AttachStreamParser(boundary, max_part_bytes=MAX_PART)
    pos = step = 0
    while pos < len(stream):
        size = cuts[step % len(cuts)]
        parser.feed(stream[pos : pos + size])
        if parser.buffered > MAX_PART + 512:
            raise AssertionError(f"parser holds {parser.buffered} bytes")
        pos += size
        step += 1
    parser.close()
    if parser.buffered:
        raise AssertionError("bytes left after close()")


if __name__ == "__main__":
    run(test_one_input)
