"""The hub (first part): configuration contract and the push receiver end to end."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from porteiro.access import Presentation
from porteiro.api import create_app
from porteiro.emulator import EmulatorHost
from porteiro.hub import ConfigError, load_config
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

CONTRACT = '''[hub]
listen = "127.0.0.1:8000"
data_dir = "./porteiro-data"      # SQLite database and snapshots
# database_url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"   # instead of SQLite

[[tokens]]
name = "ops"
token = "change-me-admin"
scope = "admin"                   # or "read"

[[devices]]
name = "portaria"
host = "127.0.0.1"                # the reader's address; for push/online also where it posts from
port = 80
user = "admin"
password = "secret"
mode = "push"                     # attach | push | online
utc_offset = "-03:00"
'''


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "porteiro.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    config = load_config(path, env={})
    assert config.hub.listen == "127.0.0.1:8000"
    assert config.tokens[0].scope == "admin"
    (device,) = config.devices
    assert (device.name, device.mode, device.offset_seconds()) == ("portaria", "push", -10800)


@pytest.mark.parametrize(("text", "named"), [
    ('[hub]\nlisten = "nowhere"\n', "hub.listen"),
    ('[[devices]]\nname = "x"\nhost = "h"\nmode = "pull"\n', "devices.0.mode"),
    ('[[devices]]\nname = "x"\nhost = "h"\nutc_offset = "3"\n', "devices.0.utc_offset"),
    ('[hub]\nlisen = "127.0.0.1:1"\n', "hub.lisen"),
    ("not toml at all [", "not valid TOML"),
])
def test_invalid_configuration_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(path, env={})


def test_environment_overrides(tmp_path: Path) -> None:
    config = load_config(None, env={"PORTEIRO_LISTEN": "127.0.0.1:9999",
                                    "PORTEIRO_DATA_DIR": str(tmp_path)})
    assert config.hub.listen == "127.0.0.1:9999"
    assert config.hub.url() == f"sqlite:///{tmp_path / 'porteiro.db'}"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def hub_url(tmp_path: Path) -> AsyncIterator[str]:
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
[[devices]]
name = "a"
host = "127.0.0.1"
[[devices]]
name = "b"
host = "127.0.0.1"
''', encoding="utf-8")
    port = _port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_config(path, env={})),
                                           host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_pushes_are_stored_exactly_once(hub_url: str) -> None:
    port = int(hub_url.rsplit(":", 1)[1])
    async with EmulatorHost.start(devices=2) as host:
        for device, name in zip(host.devices, ("a", "b"), strict=True):
            device.state.config["Intelbras_ModeCfg"]["DeviceMode"] = 1
            server = device.state.config["PictureHttpUpload"]["UploadServerList"][0]
            server.update({"Address": "127.0.0.1", "Port": port,
                           "Uploadpath": f"/notification/{name}"})
            for i in range(30):  # distinct passages (different cards)
                device.present(Presentation(card_no=f"{name.upper()}{i:07X}"))
            device.tamper()
        for device in host.devices:
            assert device.uplink is not None
            device.uplink.notify()

        async def drained() -> None:
            while any(d.state.pending_push for d in host.devices):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(drained(), 30)
        delivered = sum(d.uplink.delivered for d in host.devices if d.uplink)
    async with httpx.AsyncClient(base_url=hub_url) as http:
        rows = (await http.get("/api/events", params={"limit": 1000})).json()["events"]
        assert len(rows) == delivered == 62
        # a resend (no 200 seen by the device) is acknowledged and stored once
        body, ctype = format_push_body([RawEvent("BreakIn", "Pulse", 0,
                                                 {"Name": "SS-1", "UTC": 1790000000})],
                                       time="01-01-2026 00:00:00")
        for _ in range(2):
            reply = await http.post("/notification/a", content=body,
                                    headers={"Content-Type": ctype})
            assert reply.text == "OK"
        rows = (await http.get("/api/events", params={"limit": 1000})).json()["events"]
        assert len(rows) == 63
        unknown = await http.post("/notification/zzz", content=body,
                                  headers={"Content-Type": ctype})
        assert unknown.status_code == 403
        bad = await http.post("/notification/a", content=b"\x00garbage",
                              headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        keepalive = await http.get("/keepalive/a")
        assert keepalive.text == "OK"
        assert keepalive.headers["content-length"] == "2"


def test_db_upgrade_and_bad_config_commands(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from porteiro.cli import app  # noqa: PLC0415

    good = tmp_path / "ok.toml"
    good.write_text(f'[hub]\ndata_dir = "{tmp_path / "d"}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(good)])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "d" / "porteiro.db").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[hub]\nlisten = "x"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--config", str(bad)])
    assert result.exit_code == 2
    assert "hub.listen" in result.stderr


async def test_attach_collector_backfills_gaps_exactly_once(tmp_path: Path) -> None:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        for i in range(5):  # before the hub exists: only the record log has these
            emulated.present(Presentation(card_no=f"OLD{i:05d}"))
        emulated_port = int(url.rsplit(":", 1)[1])
        path = tmp_path / "porteiro.toml"
        path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
[[devices]]
name = "leitora"
host = "127.0.0.1"
port = {emulated_port}
password = "admin123"
mode = "attach"
''', encoding="utf-8")
        app = create_app(load_config(path, env={}))
        async with app.router.lifespan_context(app):
            hub = app.state.hub
            collector = hub.collectors["leitora"]
            await asyncio.wait_for(collector.connected.wait(), 10)
            for i in range(5):  # live
                emulated.present(Presentation(card_no=f"LIVE{i:04d}"))
            emulated.drop_streams()  # a gap...
            for i in range(5):
                emulated.present(Presentation(card_no=f"GAP{i:05d}"))
            collector.connected.clear()
            await asyncio.wait_for(collector.connected.wait(), 10)  # ...filled on reconnect

            async def settled() -> None:
                while hub.store.count_events() < 15:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(settled(), 10)
            await asyncio.sleep(0.3)
            rows = hub.store.list_events(limit=100)
            (summary,) = hub.store.device_summaries(0)
        assert summary["backfill"]["last_rec_no"] == 15  # the record log was read to its end
        cards = sorted(r["card_no"] for r in rows)
        assert len(rows) == 15  # every record once, no duplicates from live + backfill
        assert cards[:5] == [f"GAP{i:05d}" for i in range(5)]
        assert {r["source"] for r in rows} >= {"backfill"}
