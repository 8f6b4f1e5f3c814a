"""``porteiro people`` and ``porteiro door`` against a hub served on a loopback port (the
command runs in a thread, as a separate process would, while the hub serves)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
from typing import TYPE_CHECKING

import pytest
import uvicorn
from typer.testing import CliRunner

from porteiro.api import create_app
from porteiro.cli import app
from porteiro.codes import OpenMethod
from porteiro.emulator import EmulatorHost
from porteiro.hub import load_config
from test_api_people import ADMIN, READER, site_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """The hub on a loopback port, and the emulated reader behind it."""

    def __init__(self, hub: Hub, url: str, emulated: EmulatedDevice) -> None:
        self.hub = hub
        self.url = url
        self.emulated = emulated

    async def run(self, *args: str, token: str | None = ADMIN, hub_url: str | None = None
                  ) -> tuple[int, str, str]:
        env = {"PORTEIRO_HUB": hub_url or self.url, "COLUMNS": "200"}
        if token is not None:
            env["PORTEIRO_TOKEN"] = token
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with EmulatorHost.start(devices=1) as host:
        emulated, device_url = host.endpoints[0]
        config = load_config(site_config(tmp_path, int(device_url.rsplit(":", 1)[1])), env={})
        application = create_app(config)
        port = _port()
        server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        try:
            yield Served(application.state.hub, f"http://127.0.0.1:{port}", emulated)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)


def _people_csv(count: int, bad_row: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user_id", "name", "type", "doors", "cards"])
    for row in range(1, count + 1):
        card = "NOT-A-CARD" if row == bad_row else f"C{row:07d}"
        writer.writerow([f"u{row:05d}", f"Pessoa {row}", "general", "0", card])
    return out.getvalue()


async def test_import_in_chunks_with_progress_then_nothing_changes(served: Served,
                                                                   tmp_path: Path) -> None:
    people = tmp_path / "pessoas.csv"
    people.write_text(_people_csv(2500, bad_row=1234), encoding="utf-8")
    code, out, err = await served.run("people", "import", str(people))
    assert code == 1, err  # a row was refused
    assert "2499 created, 0 updated, 0 unchanged, 1 refused (of 2500 rows)" in out
    assert "row 1234, cards.0.card_no:" in err
    assert "Importing" in err
    assert "2500/2500" in err  # the progress bar, finished
    assert len(served.hub.people.directory) == 2499
    assert served.hub.people.directory.get("u02500") is not None
    imports = served.hub.store.people.audit_list(action="people.import")
    assert len(imports) == 3  # 1,000 rows per request
    assert {e["actor"] for e in imports} == {"ops"}
    code, out, err = await served.run("people", "import", str(people), "--lang", "pt")
    assert code == 1
    assert "0 criada(s), 0 atualizada(s), 2499 sem mudança, 1 recusada(s)" in out
    assert "linha 1234, cards.0.card_no:" in err
    assert "Importando" in err


async def test_import_json_small_without_progress(served: Served, tmp_path: Path) -> None:
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"people": [
        {"user_id": "1", "name": "Ana", "password": "1234", "cards": ["AB12CD34"]},
        {"user_id": "2", "name": "Bia", "doors": {"portaria": [0]}}]}), encoding="utf-8")
    code, out, err = await served.run("people", "import", str(people))
    assert code == 0, err
    assert "2 created" in out
    assert "Importing" not in err
    weird = tmp_path / "people.txt"
    weird.write_text("user_id\n1\n", encoding="utf-8")
    code, _, err = await served.run("people", "import", str(weird))
    assert code == 2
    assert "--format" in err
    code, out, err = await served.run("people", "import", str(weird), "--format", "csv")
    assert (code, "0 created, 1 updated" in out) == (0, True), err  # a row replaces


async def test_unreadable_file(served: Served, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    code, _, err = await served.run("people", "import", str(broken))
    assert code == 1
    assert f"Cannot read {broken}" in err
    headless = tmp_path / "headless.csv"
    headless.write_text("name\nAna\n", encoding="utf-8")
    code, _, err = await served.run("people", "import", str(headless), "--lang", "pt")
    assert code == 1
    assert "Não foi possível ler" in err
    assert "user_id" in err


async def test_export_and_list(served: Served, tmp_path: Path) -> None:
    people = tmp_path / "in.csv"
    people.write_text(_people_csv(3, bad_row=0), encoding="utf-8")
    assert (await served.run("people", "import", str(people)))[0] == 0
    target = tmp_path / "out.csv"
    code, out, err = await served.run("people", "export", "-o", str(target))
    assert code == 0, err
    assert out == ""
    assert f"Exported 3 people to {target}" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["user_id"] for r in rows] == ["u00001", "u00002", "u00003"]
    code, out, _ = await served.run("people", "export")
    assert [p["user_id"] for p in json.loads(out)["people"]] == ["u00001", "u00002", "u00003"]
    code, out, _ = await served.run("people", "list", "--lang", "pt")
    assert code == 0
    assert "Nome" in out
    assert "Pessoa 2" in out
    code, out, err = await served.run("people", "list", "--limit", "2", "--json")
    assert [json.loads(line)["user_id"] for line in out.splitlines()] == ["u00001", "u00002"]
    code, out, err = await served.run("people", "list", "--search", "pessoa 3", "--json")
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["Pessoa 3"]


async def test_door_open(served: Served) -> None:
    code, out, err = await served.run("door", "open", "portaria")
    assert code == 0, err
    assert "Door 1 of portaria opened (audit entry" in out
    assert served.emulated.state.records[-1]["Method"] == int(OpenMethod.REMOTE)
    code, _, err = await served.run("door", "open", "portaria", "--door", "3")
    assert code == 1
    assert "portaria refused to open door 3" in err
    assert "INVALID_ARGS" in err
    code, _, err = await served.run("door", "open", "portaria", "--door", "3", "--lang", "pt")
    assert "recusou abrir a porta 3" in err
    code, _, err = await served.run("door", "open", "nowhere")
    assert (code, "no device named nowhere" in err) == (1, True)
    code, _, err = await served.run("door", "open", "garagem")
    assert (code, "garagem did not answer" in err) == (1, True)
    code, _, err = await served.run("door", "open", "portaria", "--door", "0")
    assert code == 2
    for _ in range(2):
        await served.run("door", "open", "portaria")
    code, _, err = await served.run("door", "open", "portaria")
    assert code == 1
    assert "Too many openings of portaria: try again in" in err
    entries = served.hub.store.people.audit_list(action="door.open")
    assert {e["actor"] for e in entries} == {"ops"}


async def test_hub_unreachable_and_tokens(served: Served, tmp_path: Path) -> None:
    people = tmp_path / "p.csv"
    people.write_text(_people_csv(2, bad_row=0), encoding="utf-8")
    code, _, err = await served.run("people", "list", hub_url=f"http://127.0.0.1:{_port()}")
    assert code == 1
    assert "Cannot reach the hub at http://127.0.0.1:" in err
    code, _, err = await served.run("people", "list", "--lang", "pt",
                                    hub_url=f"http://127.0.0.1:{_port()}")
    assert "Não foi possível falar com o hub" in err
    code, _, err = await served.run("people", "list", token=None)
    assert (code, "pass --token or set PORTEIRO_TOKEN" in err) == (1, True)
    code, _, err = await served.run("people", "list", token="wrong")
    assert (code, "refused the token (401)" in err) == (1, True)
    code, _, err = await served.run("people", "import", str(people), token=READER)
    assert code == 1
    assert "may not do this (403)" in err
    assert "admin scope" in err
    code, _, err = await served.run("door", "open", "portaria", token=READER)
    assert (code, "403" in err) == (1, True)
    assert len(served.hub.people.directory) == 0
