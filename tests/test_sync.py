"""People sync to readers: the client's bulk sync, the hub's SyncManager and its API,
against emulated readers over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from porteiro.access import User, UserStatus
from porteiro.api import create_app
from porteiro.codes import CardStatus, CardType, RequestError, UserType
from porteiro.device import Device
from porteiro.device.sync import DeviceCard, Person, fingerprint, sync_people
from porteiro.emulator import EmulatorHost
from porteiro.emulator.device import EmulatedDevice
from porteiro.emulator.runner import make_state
from porteiro.hub import HubConfig, load_config
from porteiro.hub.hub import Hub as RunningHub
from porteiro.hub.people import PersonInput

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastapi import FastAPI

    from porteiro.hub import Hub

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
BIG_JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 20_000
ADMIN = {"Authorization": "Bearer admin-token-123"}
READ = {"Authorization": "Bearer read-token-123"}


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request a :class:`Device` makes that is not a listing."""
    seen: list[tuple[str, str]] = []
    original = Device._request

    async def counting(self: Device, method: str, path: str, **kwargs: Any) -> httpx.Response:
        action = str((kwargs.get("params") or {}).get("action", ""))
        if action != "list":
            seen.append((path.rsplit("/", 1)[-1], action))
        return await original(self, method, path, **kwargs)

    monkeypatch.setattr(Device, "_request", counting)
    return seen


# -- the client's bulk sync ----------------------------------------------------------------


async def test_sync_people_carries_everything_a_reader_keeps(writes: list[Any]) -> None:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        guest = Person("7", "Visitante", cards=(DeviceCard("ab12", card_type=2, status=2),),
                       doors=(0, 1), password="4321", user_type=int(UserType.GUEST), status=1,
                       valid_from=_epoch("2026-01-01T03:00:00"),
                       valid_to=_epoch("2026-12-31T23:00:00"), time_sections=(3, 4),
                       holiday_schedule=5, use_time=2, face=JPEG)
        plain = Person("8", "Maria", cards=("CD34",))
        async with Device(url, password="admin123") as dev:
            report = await sync_people(dev, [guest, plain])
            assert report.count("applied") == 2
            assert (report.users_added, report.cards_added, report.faces_added) == (2, 2, 1)
            user = emulated.state.users["7"]
            assert (user.name, user.user_type, user.status, user.password) == (
                "Visitante", UserType.GUEST, UserStatus.FROZEN, "4321")
            assert (user.doors, user.time_sections, user.holiday_schedule) == ((0, 1), (3, 4), 5)
            assert (user.valid_from, user.valid_to) == (guest.valid_from, guest.valid_to)
            assert user.uses_left == 2
            assert user.face
            card = emulated.state.cards["AB12"]
            assert (card.user_id, card.card_type, card.status) == (
                "7", CardType.GUEST, CardStatus.FROZEN)
            assert emulated.state.users["8"].valid_to is not None  # open-ended: sent as 2037
            known = {uid: r.fingerprint for uid, r in report.people.items() if r.fingerprint}
            assert known["7"] == fingerprint(guest)
            writes.clear()
            again = await sync_people(dev, [guest, plain], known=known)
            assert again.changes == 0
            assert writes == []  # only listings
            assert {r.state for r in again.people.values()} == {"unchanged"}
            # Without memory of earlier runs a password cannot be compared: resent.
            blind = await sync_people(dev, [guest, plain])
            assert (blind.users_updated, blind.faces_added) == (1, 0)


async def test_sync_people_changed_secret_and_partial_face_failure() -> None:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        emulated.state.limits.max_photo_bytes = 10_000
        people = [Person(str(i), f"P{i}", face=JPEG) for i in range(1, 13)]
        people[4] = Person("5", "P5", face=BIG_JPEG)
        async with Device(url, password="admin123") as dev:
            report = await sync_people(dev, people)
        failed = report.people["5"]
        assert failed.state == "failed"
        assert failed.part == "face"
        assert failed.error is RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED
        assert failed.fingerprint is not None
        assert failed.fingerprint.endswith(".x")
        assert report.count("applied") == 11  # the rest of its batch too
        assert sorted(emulated.state.faces, key=int) == [str(i) for i in range(1, 13) if i != 5]
        assert "5" in emulated.state.users  # the person is there, without the face
        known = {uid: r.fingerprint for uid, r in report.people.items() if r.fingerprint}
        changed = [*people[:11], Person("12", "P12", face=JPEG, password="99")]
        async with Device(url, password="admin123") as dev:
            second = await sync_people(dev, changed, known=known)
        assert second.people["12"].state == "applied"  # its password changed
        assert second.people["5"].state == "failed"  # only its face is retried
        assert (second.users_updated, second.faces_added) == (1, 0)
        assert emulated.state.users["12"].password == "99"


# -- the hub -----------------------------------------------------------------------------


@dataclass
class Site:
    hub: Hub
    app: FastAPI
    host: EmulatorHost
    a: EmulatedDevice
    b: EmulatedDevice
    tmp: Path

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://hub")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, ports: dict[str, int], *, auto_sync: bool = False,
            extra: str = "") -> Path:
    devices = "".join(f'''
[[devices]]
name = "{name}"
host = "127.0.0.1"
port = {port}
password = "admin123"
mode = "push"
''' for name, port in ports.items())
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
[people]
auto_sync = {"true" if auto_sync else "false"}
[[access.schedules]]
number = 3
windows = ["08:00-18:00"]
[[tokens]]
name = "ops"
token = "admin-token-123"
scope = "admin"
[[tokens]]
name = "viewer"
token = "read-token-123"
scope = "read"
{devices}{extra}''', encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def _site(tmp_path: Path, *, auto_sync: bool = False, extra: str = ""
                ) -> AsyncIterator[Site]:
    async with EmulatorHost.start(devices=2) as host:
        ports = {"a": host.ports[0], "b": host.ports[1]}
        app = create_app(load_config(_config(tmp_path, ports, auto_sync=auto_sync,
                                             extra=extra), env={}))
        async with app.router.lifespan_context(app):
            hub = app.state.hub
            hub.sync.debounce = 0.0
            yield Site(hub, app, host, host.devices[0], host.devices[1], tmp_path)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with _site(tmp_path, extra='''
[[devices]]
name = "nopass"
host = "127.0.0.1"
mode = "push"
''') as value:
        yield value


async def _people(hub: Hub) -> None:
    await hub.people.create(PersonInput.model_validate({
        "user_id": "1", "name": "Ana", "password": "1234", "cards": ["A1B2C3D4"],
        "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2027-01-01T00:00:00Z",
        "time_sections": [3]}))
    await hub.people.set_face("1", JPEG)
    await hub.people.create(PersonInput.model_validate({
        "user_id": "2", "name": "Bruno", "type": "guest", "guest_uses": 5,
        "cards": [{"card_no": "B0000002", "type": "guest", "status": "lost"}]}))
    await hub.people.create(PersonInput.model_validate({
        "user_id": "3", "name": "Carla", "status": "frozen", "doors": {"a": [0]}}))


def _states(hub: Hub, device: str) -> dict[str, str]:
    return {uid: row.state for uid, row in
            hub.store.people.sync_states(hub.devices[device].id).items()}


async def test_hub_syncs_two_readers_and_a_rerun_changes_nothing(
        site: Site, writes: list[Any]) -> None:
    hub = site.hub
    await _people(hub)
    results = await hub.sync.run()
    assert results["nopass"].state == "skipped"
    assert results["nopass"].reason == "no password configured for this device"
    for name, emulated in (("a", site.a), ("b", site.b)):
        assert results[name].state == "idle"
        assert results[name].report is not None
        assert results[name].report.count("failed") == 0
        users = emulated.state.users
        assert users["1"].password == "1234"
        assert users["1"].face
        assert users["1"].time_sections == (3,)
        assert users["1"].valid_from == _epoch("2026-01-01T00:00:00")
        assert users["2"].user_type == UserType.GUEST
        assert users["2"].uses_left == 5
        assert emulated.state.cards["B0000002"].status == CardStatus.CANCELLED
        assert emulated.state.cards["A1B2C3D4"].user_id == "1"
    # per-device doors: Carla only on reader a
    assert site.a.state.users["3"].status == UserStatus.FROZEN
    assert "3" not in site.b.state.users
    assert _states(hub, "a") == {"1": "applied", "2": "applied", "3": "applied"}
    assert _states(hub, "b") == {"1": "applied", "2": "applied"}
    writes.clear()
    again = await hub.sync.run(["a", "b"])
    assert writes == []
    for name in ("a", "b"):
        report = again[name].report
        assert report is not None
        assert report.changes == 0
        assert report.count("unchanged") == len(_states(hub, name))

    # one person changed: only that person is sent
    await hub.people.patch("2", {"name": "Bruno Souza"})
    writes.clear()
    third = await hub.sync.run(["a", "b"])
    for name in ("a", "b"):
        report = third[name].report
        assert report is not None
        assert report.count("applied") == 1
        assert report.people["2"].state == "applied"
        assert report.users_updated == 1
    assert writes == [("AccessUser.cgi", "updateMulti")] * 2
    assert site.b.state.users["2"].name == "Bruno Souza"

    # Carla moves to reader b only; Ana is deleted
    await hub.people.patch("3", {"doors": {"b": [0]}})
    await hub.people.delete("1")
    fourth = await hub.sync.run(["a", "b"])
    assert fourth["a"].report is not None
    assert fourth["a"].report.people["3"].state == "removed"
    assert "3" not in site.a.state.users
    assert "3" in site.b.state.users
    for emulated in (site.a, site.b):
        assert "1" not in emulated.state.users
        assert "A1B2C3D4" not in emulated.state.cards
        assert "1" not in emulated.state.faces
    assert _states(hub, "a") == {"2": "applied"}
    assert _states(hub, "b") == {"2": "applied", "3": "applied"}


async def test_a_refused_photo_fails_one_person_on_one_reader(site: Site) -> None:
    hub = site.hub
    site.b.state.limits.max_photo_bytes = 10_000
    await _people(hub)
    for user_id in ("4", "5", "6"):
        await hub.people.create(PersonInput.model_validate({"user_id": user_id,
                                                            "name": f"P{user_id}"}))
        await hub.people.set_face(user_id, BIG_JPEG if user_id == "5" else JPEG)
    results = await hub.sync.run(["a", "b"])
    report_a, report_b = results["a"].report, results["b"].report
    assert report_a is not None
    assert report_b is not None
    assert report_a.count("failed") == 0
    assert set(site.a.state.faces) == {"1", "4", "5", "6"}
    assert report_b.people["5"].state == "failed"
    assert report_b.people["5"].error is RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED
    assert set(site.b.state.faces) == {"1", "4", "6"}
    assert "5" in site.b.state.users
    assert _states(hub, "b")["5"] == "failed"
    assert _states(hub, "b")["4"] == "applied"

    async with site.client() as http:
        reply = await http.get("/api/sync", headers=READ, params={"state": "failed"})
        assert reply.status_code == 200
        body = reply.json()
        (row,) = body["people"]
        assert (row["device"], row["user_id"], row["state"]) == ("b", "5", "failed")
        error = row["error"]
        assert error["code"] == int(RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED)
        assert error["name"] == "MAX_PHOTO_FILE_SIZE_EXCEEDED"
        assert error["en"] == RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED.en
        assert error["pt"] == RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED.pt
        assert error["detail"].startswith("face: ")
        devices = {d["device"]: d for d in body["devices"]}
        assert devices["b"]["counts"] == {"pending": 0, "applied": 4, "failed": 1}
        assert devices["a"]["counts"] == {"pending": 0, "applied": 6, "failed": 0}
        assert devices["b"]["state"] == "idle"
        assert devices["b"]["last_result"]["failed"] == 1
        assert devices["nopass"]["state"] == "skipped"
        everything = (await http.get("/api/sync", headers=READ,
                                     params={"device": "b"})).json()["people"]
        assert everything[0]["state"] == "failed"  # failures first
        assert {r["device"] for r in everything} == {"b"}
        mine = (await http.get("/api/sync", headers=READ,
                               params={"user_id": "4"})).json()["people"]
        assert sorted(r["device"] for r in mine) == ["a", "b"]


async def test_api_schedules_in_the_background_and_audits(site: Site) -> None:
    hub = site.hub
    await _people(hub)
    async with site.client() as http:
        refused = await http.post("/api/people/sync", headers=READ)
        assert refused.status_code == 403
        assert (await http.post("/api/people/sync")).status_code == 401
        unknown = await http.post("/api/people/sync", headers=ADMIN,
                                  json={"devices": ["zzz"]})
        assert unknown.status_code == 404
        reply = await http.post("/api/people/sync", headers=ADMIN)
        assert reply.status_code == 202
        assert reply.json() == {"scheduled": ["a", "b"], "skipped": [
            {"device": "nopass", "reason": "no password configured for this device"}]}

        async def idle() -> dict[str, Any]:
            while True:
                body = (await http.get("/api/sync", headers=READ)).json()
                if not body["busy"]:
                    return body
                await asyncio.sleep(0.05)

        body = await asyncio.wait_for(idle(), 20)
        devices = {d["device"]: d for d in body["devices"]}
        assert devices["a"]["counts"]["applied"] == 3
        assert devices["b"]["counts"]["applied"] == 2
        assert devices["a"]["last_run"] is not None
        assert set(site.a.state.users) == {"1", "2", "3"}
        only_b = await http.post("/api/people/sync", headers=ADMIN, params={"devices": "b"})
        assert only_b.json()["scheduled"] == ["b"]
        await asyncio.wait_for(idle(), 20)
    entries = hub.store.people.audit_list(action="people.sync")
    assert [(e["actor"], e["target"], e["outcome"]) for e in entries] == [
        ("ops", "b", "ok"), ("ops", "*", "ok"), ("ops", "zzz", "refused"),
        ("viewer", None, "refused")]
    assert entries[0]["address"] == "127.0.0.1"
    assert entries[0]["detail"]["scheduled"] == ["b"]
    assert entries[2]["detail"]["status"] == 404
    assert entries[3]["detail"]["status"] == 403


async def test_an_offline_reader_stays_pending_and_syncs_when_it_comes_back(
        tmp_path: Path) -> None:
    port = _free_port()
    extra = f'''
[[devices]]
name = "late"
host = "127.0.0.1"
port = {port}
password = "admin123"
mode = "push"
'''
    async with _site(tmp_path, extra=extra) as site:
        hub = site.hub
        await _people(hub)
        results = await hub.sync.run()
        assert results["late"].state == "offline"
        assert _states(hub, "late") == {"1": "pending", "2": "pending"}
        assert _states(hub, "a") == {"1": "applied", "2": "applied", "3": "applied"}
        status = {d["device"]: d for d in hub.sync.status()}
        assert status["late"]["state"] == "offline"
        assert status["late"]["reason"].startswith("unreachable")
        late = EmulatedDevice(make_state(9))
        await site.host.add(late, port)
        hub.contact(hub.devices["late"])  # it pushed something: it is back

        async def synced() -> None:
            while set(_states(hub, "late").values()) != {"applied"}:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(synced(), 20)
        assert set(late.state.users) == {"1", "2"}
        assert late.state.users["1"].password == "1234"


async def test_auto_sync_follows_people_changes(tmp_path: Path) -> None:
    async with _site(tmp_path, auto_sync=True) as site:
        hub = site.hub
        await _people(hub)

        async def on_both(user_id: str, *, present: bool = True) -> None:
            while (user_id in site.a.state.users) != present or (
                    user_id in site.b.state.users) != present or hub.sync.busy():
                await asyncio.sleep(0.05)

        await asyncio.wait_for(on_both("2"), 20)
        assert site.a.state.users["1"].face
        await hub.people.delete("2")
        await asyncio.wait_for(on_both("2", present=False), 20)


async def test_requests_during_a_run_cause_exactly_one_more_run(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = site.hub
    await _people(hub)
    runs: list[str] = []
    original = hub.sync._sync

    async def counted(runtime: Any) -> Any:
        runs.append(runtime.settings.name)
        return await original(runtime)

    monkeypatch.setattr(hub.sync, "_sync", counted)
    site.a.faults.delay_seconds = 0.05  # every request of reader a is slow
    assert hub.sync.schedule(["a"]) == {"a": None}
    while not runs:
        await asyncio.sleep(0.01)
    for _ in range(5):  # while it runs
        hub.sync.schedule(["a"])
        await asyncio.sleep(0.01)
    assert {d["device"]: d["state"] for d in hub.sync.status()}["a"] in ("running", "queued")

    async def idle() -> None:
        while hub.sync.busy():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(idle(), 20)
    await asyncio.sleep(0.3)
    assert runs == ["a", "a"]
    assert set(site.a.state.users) == {"1", "2", "3"}


async def test_sync_logs_no_secrets(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    hub = site.hub
    await hub.people.create(PersonInput.model_validate({
        "user_id": "9", "name": "Muitos", "password": "987654",
        "cards": [f"CAFE{i:04d}" for i in range(7)]}))  # readers take 5 cards a person
    caplog.set_level("DEBUG")
    results = await hub.sync.run(["a"])
    report = results["a"].report
    assert report is not None
    failed = report.people["9"]
    assert (failed.state, failed.part) == ("failed", "cards")
    assert failed.error is RequestError.EXCEED_MAX_CARDS_PER_USER
    assert "person 9 refused: cards:" in caplog.text
    assert "987654" not in caplog.text
    assert "CAFE0006" not in caplog.text
    await hub.people.patch("9", {"cards": ["CAFE0001"]})  # the card removal is logged
    caplog.clear()
    await hub.sync.run(["a"])
    assert set(site.a.state.cards) == {"CAFE0001"}
    assert "CAFE0006" not in caplog.text


async def test_cli_people_sync_waits_and_reports(tmp_path: Path) -> None:
    import uvicorn  # noqa: PLC0415
    from typer.testing import CliRunner  # noqa: PLC0415

    from porteiro.cli import app as cli  # noqa: PLC0415

    async with EmulatorHost.start(devices=2) as host:
        host.devices[1].state.limits.max_photo_bytes = 10_000
        ports = {"a": host.ports[0], "b": host.ports[1]}
        app = create_app(load_config(_config(tmp_path, ports, extra='''
[[devices]]
name = "nopass"
host = "127.0.0.1"
mode = "push"
'''), env={}))
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            hub = app.state.hub
            await _people(hub)
            await hub.people.create(PersonInput.model_validate({"user_id": "5", "name": "G"}))
            await hub.people.set_face("5", BIG_JPEG)
            base = ["people", "sync", "--hub", f"http://127.0.0.1:{port}"]

            def run(*args: str) -> Any:
                return CliRunner().invoke(cli, [*base, *args])

            result = await asyncio.to_thread(run, "--token", "admin-token-123", "--wait")
            assert result.exit_code == 1, result.output
            assert "Sync scheduled: a, b." in result.stdout
            assert "nopass: skipped (no password configured for this device)" in result.stderr
            assert ("a: done; this run 4 sent, 0 unchanged, 0 removed, 0 failed. "
                    "Now 4 applied, 0 pending, 0 failed.") in result.stdout
            assert "b: done; this run 2 sent" in result.stdout
            assert ("person 5: face: Maximum file size limit exceeded (286064923 "
                    "MAX_PHOTO_FILE_SIZE_EXCEEDED)") in result.stderr
            result = await asyncio.to_thread(run, "--token", "admin-token-123", "--wait",
                                             "--device", "a", "--lang", "pt")
            assert result.exit_code == 0, result.output
            assert "Sincronização agendada: a." in result.stdout
            assert "nesta execução 0 enviada(s), 4 sem mudança" in result.stdout
            result = await asyncio.to_thread(run, "--token", "read-token-123")
            assert result.exit_code == 1
            assert "403" in result.stderr
            result = await asyncio.to_thread(run, "--token", "admin-token-123", "-d", "zzz")
            assert result.exit_code == 1
            assert "unknown device(s): zzz" in result.stderr
        finally:
            server.should_exit = True
            await task


async def test_a_reset_reader_gets_everything_again(site: Site) -> None:
    hub = site.hub
    await _people(hub)
    await hub.sync.run(["a"])
    site.a.state.users.clear()  # someone reset the reader
    site.a.state.cards.clear()
    site.a.state.faces.clear()
    results = await hub.sync.run(["a"])
    report = results["a"].report
    assert report is not None
    assert (report.users_added, report.cards_added, report.faces_added) == (3, 2, 1)
    assert site.a.state.users["1"].password == "1234"
    assert site.a.state.users["1"].face
    site.a.state.users["2"] = msgspec.structs.replace(site.a.state.users["2"],
                                                      name="edited by hand")
    again = (await hub.sync.run(["a"]))["a"].report
    assert again is not None
    assert again.people["2"].state == "applied"
    assert site.a.state.users["2"].name == "Bruno"
    await hub.people.delete_face("1")
    removed = (await hub.sync.run(["a"]))["a"].report
    assert removed is not None
    assert removed.faces_removed == 1
    assert "1" not in site.a.state.faces
    assert (await hub.sync.run(["a"]))["a"].report.changes == 0  # type: ignore[union-attr]


async def test_users_registered_on_the_reader_by_hand_stay_unless_remove_unknown(
        tmp_path: Path) -> None:
    """Adding Porteiro to a running site must not wipe the readers' people."""
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        emulated.upsert_users([User("7777", "Cadastrado na leitora")])
        port = int(url.rsplit(":", 1)[1])
        for remove_unknown in (False, True):
            config = HubConfig.model_validate({
                "hub": {"data_dir": str(tmp_path / str(remove_unknown))},
                "people": {"auto_sync": False, "remove_unknown": remove_unknown},
                "devices": [{"name": "a", "host": "127.0.0.1", "port": port,
                             "password": emulated.state.password, "mode": "push"}]})
            hub = RunningHub(config)
            await hub.start()
            try:
                await hub.people.create(PersonInput(user_id="1", name="Ana"))
                await hub.sync.run(["a"])
                assert "1" in emulated.state.users
                assert ("7777" in emulated.state.users) is not remove_unknown
                await hub.people.delete("1")
                await hub.sync.run(["a"])
                assert "1" not in emulated.state.users  # the hub's own are removed
            finally:
                await hub.stop()
