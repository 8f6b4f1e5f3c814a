"""`porteiro device ...` against an emulator process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from typer.testing import CliRunner

from porteiro.cli import app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(  # noqa: S603  # our own interpreter and package
        [sys.executable, "-m", "porteiro", "emulate", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def run(host: str, *args: str) -> tuple[int, str, str]:
    env = {"PORTEIRO_HOST": host, "PORTEIRO_PASSWORD": "admin123", "COLUMNS": "120"}
    result = CliRunner().invoke(app, ["device", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_info_and_door(emulator: str) -> None:
    code, out, _ = run(emulator, "--json", "info")
    assert code == 0
    assert json.loads(out)["device_type"] == "SS 3530 MF FACE W"
    code, out, _ = run(emulator, "--json", "door", "open")
    assert code == 0
    assert json.loads(out) == {"door": 1, "open": False}


def test_sync_records_and_errors(emulator: str, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("user_id,name,cards,doors,pin\n1,Ana Souza,12EA3004,1,\n"
                      "2,João Lima,AB000001;AB000002,1,1234\n", encoding="utf-8")
    code, out, _ = run(emulator, "sync", str(people))
    assert code == 0, out
    assert "2 added" in out
    code, out, _ = run(emulator, "--lang", "pt", "sync", str(people))
    assert "0 incluídos, 0 atualizados" in out or "0 incluídos, 1 atualizados" in out
    code, out, _ = run(emulator, "--json", "users", "list")
    assert {u["UserID"] for u in json.loads(out)} == {"1", "2"}
    csv_file = tmp_path / "records.csv"
    code, _, _ = run(emulator, "records", "--csv", str(csv_file))
    assert code == 0
    assert csv_file.read_text(encoding="utf-8").startswith("record_no,")
    code, _, err = run(emulator, "--lang", "pt", "door", "open", "--door", "9")
    assert code == 1
    assert "Erro:" in err
    assert "INVALID_ARGS" in err


def test_wrong_password_is_a_clean_error(emulator: str) -> None:
    result = CliRunner().invoke(app, ["device", "--password", "nope", "info"],
                                env={"PORTEIRO_HOST": emulator})
    assert result.exit_code == 1
    assert "Error:" in result.stderr


def test_sync_facade(emulator: str) -> None:
    from porteiro.device import SyncDevice  # noqa: PLC0415

    with SyncDevice(emulator, password="admin123") as dev:
        assert dev.info().device_type == "SS 3530 MF FACE W"
        dev.open_door(0)
        assert isinstance(dev.records(), list)
        assert dev.records()[-1].granted is True


def test_more_commands(emulator: str, tmp_path: Path) -> None:
    code, out, _ = run(emulator, "--json", "time", "--set", "2026-03-01T12:00:00+00:00")
    assert code == 0
    assert json.loads(out)["time"].startswith("2026-03-01T12:00")
    code, _, _ = run(emulator, "users", "add", "77", "--name", "Teste")
    assert code == 0
    photo = tmp_path / "face.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9")
    code, out, _ = run(emulator, "--json", "faces", "add", "77", "--photo", str(photo))
    assert code == 0
    assert json.loads(out)["ok"] is True
    code, out, _ = run(emulator, "configure", "online", "127.0.0.1", "--port", "3999")
    assert code == 0
    code, out, _ = run(emulator, "configure", "push", "127.0.0.1", "--port", "3999")
    assert code == 0
    code, out, _ = run(emulator, "reboot")
    assert code == 0


def test_watch_prints_live_events(emulator: str) -> None:
    env = {**os.environ, "PORTEIRO_HOST": emulator,
           "PORTEIRO_PASSWORD": "admin123"}
    proc = subprocess.Popen(  # our own interpreter and package
        [sys.executable, "-m", "porteiro", "device", "watch", "--format", "jsonl",
         "--heartbeat", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(2)  # let it connect
        httpx.post(f"http://{emulator}/sim/tamper", auth=httpx.DigestAuth("admin", "admin123"),
                   timeout=5)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line)["code"] == "ChassisIntruded"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
