"""Decode throughput: attach-stream bytes -> typed events, against bare ``json.loads``.

Builds a synthetic ``eventManager`` attach stream of mixed events formatted exactly
as devices send them (pretty-printed JSON, ``Content-Length:`` without a space,
heartbeat parts), then measures in the same run, on the same payloads:

* full decode: chunks fed to :class:`AttachStreamParser`, every event built with
  :func:`build_event` (codes looked up, times converted);
* the floor: bare ``json.loads`` of each event's ``data`` JSON text, as sent.

Prints events/s for both and the ratio (targets: >= 100,000 events/s on one core,
ratio <= 3). Then streams ``--stream`` events (default 2,000,000) through the same
pipeline without keeping them and reports peak RSS at several points, to show that
memory stays flat. ``--check`` exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from porteiro.events import build_event
from porteiro.wire import AttachStreamParser, RawEvent, format_attach_event, format_attach_heartbeat

if TYPE_CHECKING:
    from collections.abc import Iterator

TARGET_EVENTS_PER_S = 100_000
TARGET_RATIO = 3.0

_NAMES = ["João da Silva", "Maria Aparecida", "José Antônio", "Ana Luíza", "Carlos Eduardo",
          "Francisca", "Paulo Sérgio", "Fernanda Lima", "Luís Otávio", "Beatriz Gonçalves"]
_METHODS = [1, 1, 1, 15, 15, 15, 15, 6, 6, 0, 2, 4, 21, 25, 14]
_ERRORS = [0] * 14 + [16, 17, 18, 19, 20, 21, 32, 33, 64, 97, 99, 164]


def _access(rng: random.Random, utc: int) -> RawEvent:
    error = rng.choice(_ERRORS)
    user = rng.randint(1, 5000)
    data = {
        "CardName": rng.choice(_NAMES),
        "CardNo": f"{rng.getrandbits(32):08X}",
        "CardType": 0,
        "CreateTime": utc,
        "Door": rng.randint(0, 1),
        "ErrorCode": error,
        "Method": rng.choice(_METHODS),
        "ReaderID": str(rng.randint(1, 2)),
        "Status": 0 if error else 1,
        "Type": rng.choice(["Entry", "Exit"]),
        "UTC": utc,
        "UserID": str(user),
        "UserType": 0,
    }
    if data["Method"] == 15:
        data["Similarity"] = rng.randint(80, 99)
        data["Mask"] = rng.choice([0, 1, 2])
    return RawEvent("AccessControl", "Pulse", 0, data)


def _other(rng: random.Random, utc: int) -> RawEvent:
    pick = rng.random()
    if pick < 0.4:
        return RawEvent("DoorStatus", "Pulse", 0,
                        {"Name": "Porta 1", "Status": rng.choice(["Open", "Close"]), "UTC": utc})
    if pick < 0.6:
        code = rng.choice(["BreakIn", "DoorNotClosed", "Duress", "ChassisIntruded", "AlarmLocal"])
        action = rng.choice(["Pulse", "Start", "Stop"])
        return RawEvent(code, action, 0, {"Name": "SS-1", "UTC": utc})
    if pick < 0.8:
        return RawEvent("_Button_", "Pulse", 0, {"Local": True, "ReaderID": "1", "Type": "Button"})
    code = rng.choice(["Reboot", "TimeChange", "NetworkChange", "ManagerLog", "ScreenSaver"])
    return RawEvent(code, "Pulse", 0, {"UTC": utc, "Type": "Web"})


def build_stream(count: int, seed: int = 7) -> tuple[bytes, list[str]]:
    """``count`` events as an attach stream, plus each event's data JSON text as sent."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    data_texts: list[str] = []
    utc = 1_790_000_000
    for i in range(count):
        utc += rng.randint(0, 3)
        event = _access(rng, utc) if rng.random() < 0.8 else _other(rng, utc)
        part = format_attach_event(event)
        parts.append(part)
        text = part.decode("utf-8")
        data_texts.append(text[text.index("data=") + 5 : text.rindex("}") + 1])
        if i % 50 == 49:
            parts.append(format_attach_heartbeat())
    return b"".join(parts), data_texts


def _chunks(stream: bytes, size: int) -> Iterator[bytes]:
    view = memoryview(stream)
    for start in range(0, len(stream), size):
        yield bytes(view[start : start + size])


def decode_all(stream: bytes, chunk_size: int) -> int:
    """Full pipeline; returns the number of typed events built."""
    parser = AttachStreamParser.for_content_type("multipart/x-mixed-replace; boundary=myboundary")
    count = 0
    for chunk in _chunks(stream, chunk_size):
        for item in parser.feed(chunk):
            if isinstance(item, RawEvent):
                build_event(item)
                count += 1
    for item in parser.close():
        if isinstance(item, RawEvent):
            build_event(item)
            count += 1
    return count


def floor_all(data_texts: list[str]) -> int:
    loads = json.loads
    for text in data_texts:
        loads(text)
    return len(data_texts)


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def _peak_rss_mib() -> float:
    """Peak resident set of this process image (VmHWM; resets at exec, unlike ru_maxrss,
    which Linux carries over from the parent that forked us)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    """Current resident set (not the peak), from /proc; falls back to the peak."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123
            pages = int(statm.read().split()[1])
    except OSError:
        return _peak_rss_mib()
    return pages * resource.getpagesize() / (1024 * 1024)


def stream_flat(total: int, chunk_size: int) -> list[tuple[int, float]]:
    """Decode ``total`` events from a generated stream, keeping none; peak RSS samples."""
    block, _ = build_stream(10_000, seed=11)
    parser = AttachStreamParser("myboundary")
    seen = 0
    samples: list[tuple[int, float]] = []
    marks = {total * k // 10 for k in range(1, 11)}
    while seen < total:
        for chunk in _chunks(block, chunk_size):
            for item in parser.feed(chunk):
                if isinstance(item, RawEvent):
                    build_event(item)
                    seen += 1
                    if seen in marks:
                        samples.append((seen, _rss_mib()))
            if seen >= total:
                break
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--stream", type=int, default=2_000_000,
                        help="events for the flat-memory run (0 to skip)")
    parser.add_argument("--chunk", type=int, default=65536, help="bytes per feed()")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only-stream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.only_stream:
        # Run in a fresh process so that its peak RSS is the streaming run's alone.
        start = time.perf_counter()
        samples = stream_flat(args.stream, args.chunk)
        elapsed = time.perf_counter() - start
        for seen, rss in samples:
            print(f"  after {seen:>10,} events: RSS {rss:7.1f} MiB")
        growth = samples[-1][1] - samples[0][1]
        print(f"  {args.stream / elapsed:,.0f} events/s; peak RSS of the whole run"
              f" {_peak_rss_mib():.1f} MiB; RSS change from 10% to 100%: {growth:+.1f} MiB"
              f" ({'flat' if growth < 5 else 'GROWING'})")
        return 0 if growth < 5 else 1

    print(f"building a synthetic attach stream of {args.events:,} events ...")
    stream, data_texts = build_stream(args.events)
    print(f"  {len(stream) / 1e6:.1f} MB, {len(stream) / args.events:.0f} bytes/event,"
          f" chunks of {args.chunk:,} bytes")
    decoded = decode_all(stream, args.chunk)
    if decoded != args.events:
        print(f"ERROR: decoded {decoded} events, expected {args.events}")
        return 1

    t_decode = _best(lambda: decode_all(stream, args.chunk), args.repeat)
    t_floor = _best(lambda: floor_all(data_texts), args.repeat)
    rate = args.events / t_decode
    floor_rate = args.events / t_floor
    ratio = t_decode / t_floor
    print(f"full decode (bytes -> typed events): {rate:>12,.0f} events/s"
          f"  ({t_decode * 1e6 / args.events:.2f} us/event)")
    print(f"bare json.loads of the data objects: {floor_rate:>12,.0f} events/s"
          f"  ({t_floor * 1e6 / args.events:.2f} us/event)")
    print(f"ratio decode / json.loads: {ratio:.2f}x  (target <= {TARGET_RATIO:.0f}x)")
    print(f"throughput target >= {TARGET_EVENTS_PER_S:,} events/s:"
          f" {'met' if rate >= TARGET_EVENTS_PER_S else 'MISSED'}")
    ok = rate >= TARGET_EVENTS_PER_S and ratio <= TARGET_RATIO

    if args.stream:
        print(f"streaming {args.stream:,} events in a fresh process, keeping none ...")
        sys.stdout.flush()
        child = subprocess.run(  # noqa: S603  # our own interpreter and script
            [sys.executable, __file__, "--only-stream", "--stream", str(args.stream),
             "--chunk", str(args.chunk)],
            check=False,
        )
        ok = ok and child.returncode == 0
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
