"""The device-facing side of the hub: who may post, how devices are identified, what
each mode is answered, retention and device status."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from porteiro.api import create_app
from porteiro.hub import load_config
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body, parse_online_reply

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastapi import FastAPI

MAC = "c0:39:5a:62:64:c9"


def _body(card: str = "AABB1122", *, utc: int = 1790715000, mac: str | None = MAC,
          image: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    extras = {"PhysicalAddress": mac} if mac else {}
    event = RawEvent("AccessControl", "Pulse", 0,
                     {"CardNo": card, "UserID": "1001", "Door": 0, "ErrorCode": 0, "Method": 1,
                      "Status": 1, "Type": "Entry", "UTC": utc, "CreateTime": utc}, extras)
    body, ctype = format_push_body([event], time="07-02-2026 15:08:33", image=image)
    return body, {"Content-Type": ctype}


def _config(tmp_path: Path, extra_hub: str = "", devices: str = "") -> Path:
    path = tmp_path / "porteiro.toml"
    path.write_text(f'[hub]\ndata_dir = "{tmp_path / "data"}"\nflush_interval = 0.05\n'
                    f'{extra_hub}\n{devices}', encoding="utf-8")
    return path


async def _client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub")


@pytest.fixture
async def running(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    extra_hub, devices = request.param
    app = create_app(load_config(_config(tmp_path, extra_hub, devices), env={}))
    async with app.router.lifespan_context(app):
        yield app


PORTARIA = f'[[devices]]\nname = "portaria"\nhost = "10.0.0.5"\nmac = "{MAC.upper()}"\n'
ONLINE = '[[devices]]\nname = "catraca"\nhost = "10.0.0.9"\nmode = "online"\n'


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_identified_by_mac_when_the_address_is_not_the_configured_one(
        running: FastAPI) -> None:
    async with await _client(running, "192.168.0.77") as http:  # e.g. behind NAT
        reply = await http.post("/notification", content=_body()[0], headers=_body()[1])
        assert (reply.status_code, reply.text) == (200, "OK")
        unknown = await http.post("/notification", content=_body(mac=None)[0],
                                  headers=_body(mac=None)[1])
        assert unknown.status_code == 403
    hub = running.state.hub
    assert hub.store.count_events() == 1
    assert hub.devices["portaria"].online
    assert hub.metrics.rejected.labels("unknown_device")._value.get() == 1


@pytest.mark.parametrize("running", [('device_networks = ["10.0.0.0/24"]', PORTARIA)],
                         indirect=True)
async def test_device_paths_limited_to_device_networks(running: FastAPI) -> None:
    body, headers = _body()
    async with await _client(running, "10.0.0.5") as inside:
        assert (await inside.post("/notification", content=body, headers=headers)).text == "OK"
        assert (await inside.get("/keepalive")).text == "OK"
    async with await _client(running, "192.168.1.50") as outside:
        assert (await outside.post("/notification", content=body,
                                   headers=headers)).status_code == 403
        assert (await outside.get("/keepalive")).status_code == 403


@pytest.mark.parametrize("running", [("auto_register = true", "")], indirect=True)
async def test_auto_register_creates_the_device_once(running: FastAPI) -> None:
    async with await _client(running, "10.1.1.1") as http:
        for card in ("A1", "A2"):
            body, headers = _body(card)
            assert (await http.post("/notification", content=body, headers=headers)).text == "OK"
    hub = running.state.hub
    names = [name for name in hub.devices if name.startswith("auto-")]
    assert names == ["auto-c0395a6264c9"]
    assert hub.store.count_events() == 2


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_oversized_and_unreadable_bodies_are_refused_and_counted(
        running: FastAPI) -> None:
    async with await _client(running, "10.0.0.5") as http:
        big = await http.post("/notification", content=b"x" * (9 << 20),
                              headers={"Content-Type": "text/plain"})
        assert big.status_code == 413
        bad = await http.post("/notification", content=b"\x1f\x8b not gzip",
                              headers={"Content-Encoding": "gzip"})
        assert bad.status_code == 400
    metrics = running.state.hub.metrics
    assert metrics.rejected.labels("too_large")._value.get() == 1
    assert metrics.decode_errors.labels("portaria", "push")._value.get() == 1


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_good_events_next_to_a_malformed_one_are_stored(running: FastAPI) -> None:
    good = RawEvent("DoorStatus", "Pulse", 0, {"Status": "Open", "UTC": 1790715000},
                    {"PhysicalAddress": MAC})
    body, ctype = format_push_body([good], time="07-02-2026 15:08:33")
    # A second part whose JSON is cut: the first part's event must still be stored.
    broken = body.replace(b"--myboundary--", b"--myboundary\r\nContent-Type: text/plain\r\n"
                          b"\r\n{\"Events\": [{\"Code\": \"Acc\r\n--myboundary--")
    async with await _client(running, "10.0.0.5") as http:
        reply = await http.post("/notification", content=broken, headers={"Content-Type": ctype})
    assert reply.text == "OK"
    hub = running.state.hub
    assert hub.store.count_events() == 1
    assert hub.metrics.decode_errors.labels("portaria", "push")._value.get() >= 1


@pytest.mark.parametrize("running", [('language = "pt"', ONLINE)], indirect=True)
async def test_online_mode_gets_the_json_reply(running: FastAPI) -> None:
    now = int(time.time())
    async with await _client(running, "10.0.0.9") as http:
        body, headers = _body(mac=None, utc=now)  # a live request for an unknown card
        reply = await http.post("/notification", content=body, headers=headers)
        assert reply.headers["content-type"].startswith("application/json")
        assert int(reply.headers["content-length"]) == len(reply.content)
        verdict = parse_online_reply(reply.content)
        assert (verdict.granted, verdict.message) == (False, "Não cadastrado")
        # a record the reader decided alone an hour ago: stored, answered neutrally
        body, headers = _body("CCDD3344", mac=None, utc=now - 3600)
        history = parse_online_reply(
            (await http.post("/notification", content=body, headers=headers)).content)
        assert (history.granted, history.message) == (False, "")
    assert running.state.hub.store.count_events() == 2  # the attempt and the record


@pytest.mark.parametrize("running", [("offline_after = 0.2", PORTARIA)], indirect=True)
async def test_a_silent_device_goes_offline_and_the_store_follows(running: FastAPI) -> None:
    hub = running.state.hub
    async with await _client(running, "10.0.0.5") as http:
        assert (await http.get("/keepalive")).text == "OK"
    assert hub.devices["portaria"].online

    async def flushed(online: bool) -> dict[str, Any]:
        while True:
            (row,) = await asyncio.to_thread(hub.store.known_devices)
            if row["online"] is online:
                return row
            await asyncio.sleep(0.02)

    row = await asyncio.wait_for(flushed(True), 5)
    assert row["last_contact"] == pytest.approx(time.time(), abs=5)
    await asyncio.wait_for(flushed(False), 5)
    assert not hub.devices["portaria"].online
    assert hub.metrics.device_online.labels("portaria")._value.get() == 0


@pytest.mark.parametrize("running", [("max_snapshots = 2", PORTARIA)], indirect=True)
async def test_snapshot_retention_keeps_the_newest(running: FastAPI) -> None:
    async with await _client(running, "10.0.0.5") as http:
        for i in range(4):
            body, headers = _body(f"C{i}", image=b"\xff\xd8\xff\xe0 jpeg " + bytes([i]))
            assert (await http.post("/notification", content=body, headers=headers)).text == "OK"
    hub = running.state.hub
    assert hub.prune() == (0, 2)
    assert hub.store.count_events() == 4  # the events stay; only old snapshots go
    import sqlalchemy as sa  # noqa: PLC0415

    from porteiro.store.schema import snapshots  # noqa: PLC0415

    with hub.store.engine.connect() as conn:
        kept = sorted(r.event_id for r in conn.execute(sa.select(snapshots.c.event_id)))
    assert kept == [3, 4]


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_two_presses_of_a_button_in_two_posts_are_two_events(running: FastAPI) -> None:
    """``_Button_`` carries no time: keyed by arrival, a later press is not taken for a
    resend of the first (a timed event resent is still stored once)."""
    press = RawEvent("_Button_", "Pulse", 0, {"Local": True, "ReaderID": "1",
                                              "Type": "Button"}, {"PhysicalAddress": MAC})
    body, ctype = format_push_body([press], time="07-02-2026 15:08:33")
    hub = running.state.hub
    async with await _client(running, "10.0.0.5") as http:
        await http.post("/notification", content=body, headers={"Content-Type": ctype})
        await asyncio.sleep(1.1)
        await http.post("/notification", content=body, headers={"Content-Type": ctype})
        timed, headers = _body()
        for _ in range(2):
            await http.post("/notification", content=timed, headers=headers)
    kinds = [row["code"] for row in hub.store.list_events()]
    assert kinds.count("_Button_") == 2
    assert kinds.count("AccessControl") == 1


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_an_odd_content_length_is_refused_not_a_crash(running: FastAPI) -> None:
    async with await _client(running, "10.0.0.5") as http:
        reply = await http.post("/notification", content=b"x",
                                headers={"Content-Length": "9" * 40})
    assert reply.status_code in (400, 413)


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
async def test_a_bad_event_between_two_good_ones_costs_only_itself(
        running: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    """One body, three events, the middle one unreadable: the two good ones are stored,
    the bad one is logged and counted, the device gets its 200 (so it stops resending)."""
    import json  # noqa: PLC0415

    def event(card: str) -> dict[str, Any]:
        return {"Code": "AccessControl", "Action": "Pulse", "Index": 0,
                "PhysicalAddress": MAC,
                "Data": {"CardNo": card, "UserID": "1", "Status": 1, "ErrorCode": 0,
                         "Method": 1, "Door": 0, "Type": "Entry", "UTC": 1790715000}}

    info = json.dumps({"Events": [event("AA000001"), {"Code": 12, "Data": "x"},
                                  event("AA000002")], "Time": "07-02-2026 15:08:33"})
    body = (f"--myboundary\r\nContent-Type: text/plain\r\nContent-Length: {len(info)}\r\n\r\n"
            f"{info}\r\n--myboundary--\r\n").encode()
    async with await _client(running, "10.0.0.5") as http:
        reply = await http.post("/notification", content=body,
                                headers={"Content-Type": "multipart/mixed; boundary=myboundary"})
    assert (reply.status_code, reply.text) == (200, "OK")
    hub = running.state.hub
    assert sorted(r["card_no"] for r in hub.store.list_events()) == ["AA000001", "AA000002"]
    assert hub.metrics.decode_errors.labels("portaria", "push")._value.get() == 1
    assert any("push from portaria" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("running", [("", PORTARIA)], indirect=True)
@pytest.mark.parametrize(("content", "ctype", "status"), [
    (b"\x00\x01garbage", "application/octet-stream", 400),
    (b"<html>not an event</html>", "text/html", 400),
    # A body in the device's format whose events cannot be read: acknowledged (a 400
    # would make the reader resend it forever, ahead of every later event), logged and
    # counted as a decode error.
    (b'{"Events": "not a list"}', "application/json", 200),
    (b"--myboundary\r\nContent-Type: text/plain\r\n\r\n{\"Eve", "multipart/mixed", 200),
])
async def test_unreadable_bodies_get_a_clear_logged_answer(
        running: FastAPI, caplog: pytest.LogCaptureFixture, content: bytes, ctype: str,
        status: int) -> None:
    async with await _client(running, "10.0.0.5") as http:
        reply = await http.post("/notification", content=content,
                                headers={"Content-Type": ctype})
    assert reply.status_code == status
    if status == 400:
        assert reply.text.startswith("Bad Request: ")
    assert any(r.levelname == "WARNING" and ("unreadable" in r.getMessage()
                                             or "push from portaria" in r.getMessage())
               for r in caplog.records)
    hub = running.state.hub
    assert hub.store.count_events() == 0
    assert hub.metrics.decode_errors.labels("portaria", "push")._value.get() >= 1
