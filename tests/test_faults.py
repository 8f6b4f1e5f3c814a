"""A short version of the fault-injection matrix (``make faults`` runs the whole one).

Each cell starts a real hub process (``porteiro serve``), emulated readers under steady
traffic, a webhook receiver and (when the local broker answers) an MQTT subscriber,
injects one fault, and counts: every generated event stored exactly once and delivered
to every sink, each device's events in order in each sink. See docs/reliability.md.

The PostgreSQL and MQTT cells skip when those servers are absent locally and fail under
``CI=true``, like the storage tests (tests/conftest.py).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
matrix = importlib.import_module("faults.matrix")


def _require(what: str, address: tuple[str, int]) -> None:
    if matrix.reachable(address):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI but not reachable at {address[0]}:{address[1]}")
    pytest.skip(f"{what} not reachable at {address[0]}:{address[1]}")


CELLS = [
    ("hub-kill", "push", "sqlite"),
    ("hub-kill", "attach", "sqlite"),
    ("hub-kill", "online", "sqlite"),
    ("disk-full", "push", "sqlite"),
    ("pg-down", "push", "postgresql"),
    ("mqtt-down", "push", "sqlite"),
    # Modo Online readers with no hub: they decide alone, queue, and replay when it starts.
    ("offline-queue", "online", "sqlite"),
    # Malformed POSTs on the readers' own paths among their good pushes: 400 (or, for a
    # body in the device's format, acknowledged), logged, nothing good lost.
    ("garbage", "push", "sqlite"),
]


@pytest.mark.parametrize(("fault", "mode", "db"), CELLS, ids=["-".join(c) for c in CELLS])
async def test_fault_cell_loses_nothing_and_stores_nothing_twice(
        tmp_path: Path, fault: str, mode: str, db: str) -> None:
    if db == "postgresql":
        _require("PostgreSQL", matrix.PG_HOST)
    if fault == "mqtt-down":
        _require("the MQTT broker", matrix.BROKER)
    result = await matrix.run_cell(fault, mode, db, tmp_path, phase=1.0, devices=2, rate=10)
    assert not result.error, result.error
    assert not result.checks, result.checks
    assert result.generated > 20
    assert (result.stored, result.duplicates, result.lost) == (result.generated, 0, 0)
    for sink, (lost, _again, order) in result.sinks.items():
        assert lost == 0, f"{sink}: {lost} stored event(s) never delivered"
        assert order, f"{sink}: a device's events arrived out of order"
    if mode in ("push", "online") and fault not in ("mqtt-down", "garbage"):
        assert result.refused > 0  # the fault really refused something (so it was retried)
    if mode == "attach":
        assert result.streams > 2  # the kill made every device reattach
    assert result.ok
