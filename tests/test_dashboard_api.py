"""The API routes the dashboard needs: whoami, stats, door states, device identity,
snapshots by query token, and the page itself."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from porteiro.access import Presentation
from porteiro.api import create_app
from porteiro.emulator import EmulatorHost
from porteiro.events import build_event
from porteiro.hub import load_config
from porteiro.store import Writer
from porteiro.wire import RawEvent
from test_api import ADMIN, JPEG, READER, Running, _access, _app, _push

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from porteiro.store import Store


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    hub = Running(_app(tmp_path))
    await hub.start()
    yield hub
    await hub.stop()


async def test_whoami_tells_the_scope_and_the_site(running: Running) -> None:
    async with running.client(ADMIN) as http:
        admin = (await http.get("/api/whoami")).json()
    async with running.client(READER) as http:
        reader = (await http.get("/api/whoami")).json()
    async with running.client(None) as http:
        anonymous = await http.get("/api/whoami")
    assert (admin["name"], admin["scope"], admin["open"]) == ("ops", "admin", False)
    assert (reader["name"], reader["scope"]) == ("dashboard", "read")
    assert (admin["timezone"], admin["language"]) == ("America/Sao_Paulo", "en")
    assert anonymous.status_code == 401


async def test_stats_for_the_charts(running: Running) -> None:
    now = int(time.time())
    hour_ago = now - 3600
    async with running.client() as http:
        await _push(http, "a", [_access("A1", now), _access("A2", now, user="2"),
                                _access("A3", hour_ago, granted=False, error=21),
                                _access("A4", now, granted=False, error=21, user="3"),
                                _access("A5", now, granted=False, error=32, user="4")])
        await _push(http, "a", [RawEvent("BreakIn", "Pulse", 0, {"Name": "Door1",
                                                                "UTC": now})])
        await _push(http, "a", [_access("OLD", now - 3 * 86400)])  # outside 24 h
        day = (await http.get("/api/stats", params={"hours": 24, "lang": "pt"})).json()
        week = (await http.get("/api/stats", params={"hours": 168})).json()
        bad = await http.get("/api/stats", params={"hours": 0})
    assert bad.status_code == 422
    assert len(day["series"]) == 24
    assert len(week["series"]) == 168
    assert day["bucket_seconds"] == 3600
    last, before = day["series"][-1], day["series"][-2]
    assert (last["granted"], last["denied"], last["other"]) == (2, 2, 1)
    assert before["denied"] == 1
    assert [(d["code"], d["count"]) for d in day["denials"]] == [(21, 2), (32, 1)]
    assert day["denials"][0]["text"]  # in Portuguese
    assert [(d["device"], d["granted"], d["denied"], d["other"]) for d in day["devices"]] == [
        ("a", 2, 3, 1)]
    assert sum(s["granted"] for s in week["series"]) == 3  # the old one too
    (alarm,) = day["alarms"]
    assert (alarm["device"], alarm["code"]) == ("a", "BreakIn")


async def test_snapshot_by_query_token(running: Running) -> None:
    async with running.client() as http:
        await _push(http, "a", [_access("S1", int(time.time()))], image=JPEG)
        (event,) = (await http.get("/api/events")).json()["events"]
    async with running.client(None) as http:
        url = event["snapshot_url"]
        assert (await http.get(url)).status_code == 401
        picture = await http.get(url, params={"access_token": READER})
    assert picture.content == JPEG


async def test_door_states_and_device_identity(tmp_path: Path) -> None:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        path = tmp_path / "porteiro.toml"
        path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
[[devices]]
name = "leitora"
host = "127.0.0.1"
port = {url.rsplit(":", 1)[1]}
password = "{emulated.state.password}"
mode = "attach"
[[devices.doors]]
index = 1
name = "Garagem"
''', encoding="utf-8")
        app = create_app(load_config(path, env={}))
        async with app.router.lifespan_context(app):
            hub = app.state.hub
            await asyncio.wait_for(hub.collectors["leitora"].connected.wait(), 10)
            emulated.set_door_contact(0, is_open=True)
            emulated.present(Presentation(card_no="AB12"))

            async def settled() -> None:
                while not hub.online.history.door_states("leitora") \
                        or hub.devices["leitora"].info is None:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(settled(), 10)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                device = (await http.get("/api/devices/leitora")).json()
    assert device["doors"] == [{"index": 0, "name": "Door1", "open": True},
                               {"index": 1, "name": "Garagem", "open": None}]
    assert device["firmware"]
    assert device["device_type"]


async def test_stats_query_on_each_database(store: Store) -> None:
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("a")
        base = 1_790_715_000 - 1_790_715_000 % 3600
        events = [build_event(_access(f"C{i}", base + 3599 - i, user=str(i)))
                  for i in range(3)]
        events.append(build_event(_access("D", base + 3600, granted=False, error=21)))
        await writer.write(device_id, "a", events, source="push")
    finally:
        await asyncio.to_thread(writer.close)
    found = store.stats(float(base), float(base + 7200))
    assert found["series"] == {base: {"granted": 3, "denied": 0, "other": 0},
                               base + 3600: {"granted": 0, "denied": 1, "other": 0}}
    assert found["denials"] == [(21, 1)]
    assert found["devices"] == {"a": {"granted": 3, "denied": 1, "other": 0}}
