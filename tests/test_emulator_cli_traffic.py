"""`porteiro emulate` as a process, and generated traffic."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

from porteiro.emulator import EmulatedDevice, make_state
from porteiro.emulator.traffic import run_traffic
from porteiro.wire.kv import parse_kv

if TYPE_CHECKING:
    from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulate_command_serves_devices_with_their_own_serials(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "reader.json"
    proc = subprocess.Popen(  # noqa: S603  # our own interpreter and package
        [sys.executable, "-m", "porteiro", "emulate", "--port", str(port), "--devices", "2",
         "--serial", "ABC123", "--errors", "legacy", "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        serials = []
        deadline = time.monotonic() + 20
        for offset in range(2):
            while True:
                try:
                    reply = httpx.get(f"http://127.0.0.1:{port + offset}/cgi-bin/magicBox.cgi"
                                      "?action=getSerialNo",
                                      auth=httpx.DigestAuth("admin", "admin123"), timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the emulator did not start"
                    time.sleep(0.1)
            serials.append(parse_kv(reply.content)["sn"])
        assert serials[0] == "ABC123"
        assert serials[1] != serials[0]
        legacy = httpx.get(f"http://127.0.0.1:{port}/cgi-bin/configManager.cgi"
                           "?action=getConfig&name=Nope",
                           auth=httpx.DigestAuth("admin", "admin123"), timeout=2)
        assert legacy.content == b"Error\r\nBad Request!\r\n"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


async def test_generated_traffic_is_a_realistic_mix() -> None:
    device = EmulatedDevice(make_state(0, doors=2))
    done = await run_traffic(device, rate=400, duration=1.0, seed=3)
    assert done >= 300
    records = device.state.records
    granted = [r for r in records if r["Status"] == 1]
    denied = [r for r in records if r["Status"] == 0]
    assert granted
    assert denied
    assert {r["ErrorCode"] for r in denied} & {16, 17}
    assert {r["Method"] for r in granted} >= {1, 15}
    assert [r["RecNo"] for r in records] == list(range(1, len(records) + 1))
    await asyncio.sleep(0)
