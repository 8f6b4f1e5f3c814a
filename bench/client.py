"""Client throughput against an emulator process: records and people sync.

Each measurement runs against a naive baseline in the same run:

* records: ``iter_records`` (pages of 1,000) over 100,000 records, against fetching
  records one per request (``count=1``, measured on a slice and reported per record);
* sync: ``sync_people`` of 10,000 people with a card each, against adding the same kind
  of people one user and one card per call (measured on a slice, reported per person);
  then a second ``sync_people`` run, which must change nothing.

Targets: records >= 20,000/s; sync >= 5x faster per person than the naive baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from porteiro.device import Device
from porteiro.device.sync import Person, sync_people
from porteiro.emulator import make_state

TARGET_RECORDS = 20_000
TARGET_SYNC_RATIO = 5.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _emulator(state_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(  # noqa: S603  # our own interpreter and package
        [sys.executable, "-m", "porteiro", "emulate", "--port", str(port), "--state",
         str(state_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        else:
            return proc, f"127.0.0.1:{port}"


def _records_state(path: Path, count: int) -> None:
    state = make_state(0)
    base = 1_790_000_000
    state.records = [{"RecNo": i + 1, "CreateTime": base + i, "CardName": "Pessoa",
                      "CardNo": f"{i:08X}", "CardType": 0, "Door": 0, "ErrorCode": 0,
                      "Method": 1, "ReaderID": "1", "Status": 1, "Type": "Entry",
                      "UserID": str(1000 + i % 500), "UserType": 0} for i in range(count)]
    state.next_rec_no = count + 1
    state.limits.max_records = count + 10
    state.save(path)


async def bench_records(count: int, naive_sample: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.json"
        _records_state(path, count)
        proc, host = _emulator(path)
        try:
            async with Device(host, password="admin123", timeout=60) as dev:
                start = time.perf_counter()
                got = 0
                async for _ in dev.iter_records(page=1000):
                    got += 1
                paged = got / (time.perf_counter() - start)
                start = time.perf_counter()
                naive = 0
                async for _ in dev.iter_records(page=1):
                    naive += 1
                    if naive >= naive_sample:
                        break
                naive_rate = naive / (time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"records: {got:,} fetched as typed events at {paged:,.0f} records/s (pages of 1,000)")
    print(f"records: naive one-per-request baseline {naive_rate:,.0f} records/s "
          f"(on {naive:,}); ratio {paged / naive_rate:.1f}x")
    print(f"records target >= {TARGET_RECORDS:,}/s: "
          f"{'met' if paged >= TARGET_RECORDS and got == count else 'MISSED'}")
    return paged >= TARGET_RECORDS and got == count


async def bench_sync(people: int, naive_sample: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.json"
        state = make_state(0)
        state.limits.max_users = state.limits.max_cards = people + naive_sample + 10
        state.save(path)
        proc, host = _emulator(path)
        try:
            async with Device(host, password="admin123", timeout=60) as dev:
                wanted = [Person(str(i), f"Pessoa {i}", cards=(f"C{i:07X}",))
                          for i in range(1, people + 1)]
                start = time.perf_counter()
                first = await sync_people(dev, wanted)
                fast = people / (time.perf_counter() - start)
                start = time.perf_counter()
                second = await sync_people(dev, wanted)
                again = time.perf_counter() - start
                start = time.perf_counter()
                for i in range(people + 1, people + naive_sample + 1):
                    await dev.add_users([Person(str(i), f"Pessoa {i}").user_json()])
                    await dev.add_cards([{"UserID": str(i), "CardNo": f"C{i:07X}"}])
                naive = naive_sample / (time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ratio = fast / naive
    print(f"sync: {people:,} people with a card in {people / fast:.1f} s ({fast:,.0f} people/s);"
          f" {first.changes:,} changes, {len(first.failures)} failures")
    print(f"sync: second run {again:.2f} s with {second.changes} changes")
    print(f"sync: naive one-item-per-call baseline {naive:,.0f} people/s (on {naive_sample:,});"
          f" ratio {ratio:.1f}x (target >= {TARGET_SYNC_RATIO:.0f}x:"
          f" {'met' if ratio >= TARGET_SYNC_RATIO else 'MISSED'})")
    return ratio >= TARGET_SYNC_RATIO and second.changes == 0 and not first.failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=1_000)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    ok = asyncio.run(bench_records(args.records, args.naive_sample))
    ok = asyncio.run(bench_sync(args.people, args.naive_sample)) and ok
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
