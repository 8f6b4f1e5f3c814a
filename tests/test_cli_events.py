"""``porteiro events``: the store queried from the shell."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from porteiro.cli import app
from porteiro.events import build_event
from porteiro.store import Store, Writer
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from pathlib import Path

BASE = 1790715000  # 2026-09-29 20:50:00 UTC


def _access(card: str, utc: int, *, granted: bool) -> RawEvent:
    return RawEvent("AccessControl", "Pulse", 0, {
        "CardNo": card, "UserID": "1021" if granted else "", "Door": 0, "Method": 1,
        "ErrorCode": 0 if granted else 16, "Status": 1 if granted else 0, "Type": "Entry",
        "UTC": utc})


@pytest.fixture
async def data_dir(tmp_path: Path) -> Path:
    store = Store(f"sqlite:///{tmp_path / 'porteiro.db'}")
    store.migrate()
    writer = Writer(store)
    writer.start()
    try:
        portaria = store.ensure_device("portaria")
        garagem = store.ensure_device("garagem")
        await writer.write(portaria, "portaria", [
            build_event(_access("AA01", BASE, granted=True)),
            build_event(_access("BB02", BASE + 60, granted=False)),
            build_event(RawEvent("BreakIn", "Pulse", 0, {"Name": "Door1", "UTC": BASE + 120})),
        ], source="push")
        await writer.write(garagem, "garagem", [
            build_event(_access("CC03", BASE + 3600, granted=True))], source="push")
    finally:
        writer.close()
        store.close()
    return tmp_path


def _run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["events", *args],
                                env={"PORTEIRO_DATA_DIR": str(data_dir), "COLUMNS": "160",
                                     "PORTEIRO_TIMEZONE": "America/Sao_Paulo"})
    return result.exit_code, result.stdout, result.stderr


def test_table_in_site_time_oldest_first(data_dir: Path) -> None:
    code, out, _ = _run(data_dir, "--lang", "pt")
    assert code == 0
    lines = [line for line in out.splitlines() if "2026-09-29" in line]
    assert "17:50:00" in lines[0]  # 20:50 UTC in São Paulo (UTC-3)
    assert "Acesso liberado" in lines[0]
    assert "garagem" in lines[-1]


def test_filters_and_json(data_dir: Path) -> None:
    code, out, _ = _run(data_dir, "--denied", "--json")
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["card_no"], row["error"]["code"], row["device"]) == ("BB02", 16, "portaria")
    _, out, _ = _run(data_dir, "--json", "-d", "garagem")
    assert [json.loads(line)["card_no"] for line in out.splitlines()] == ["CC03"]
    _, out, _ = _run(data_dir, "--json", "--kind", "alarm")
    assert [json.loads(line)["code"] for line in out.splitlines()] == ["BreakIn"]
    _, out, _ = _run(data_dir, "--json", "--since", "2026-09-29T17:51", "--until",
                     str(BASE + 3000))
    assert [json.loads(line)["code"] for line in out.splitlines()] == [
        "AccessControl", "BreakIn"]
    _, out, _ = _run(data_dir, "--json", "-n", "1")
    assert [json.loads(line)["card_no"] for line in out.splitlines()] == ["CC03"]


def test_clear_errors(tmp_path: Path, data_dir: Path) -> None:
    code, _, err = _run(tmp_path / "nothing-here")
    assert code == 1
    assert "porteiro db upgrade" in err
    code, _, err = _run(data_dir, "--since", "yesterday")
    assert code == 2
    assert "15m, 2h, 3d" in err
