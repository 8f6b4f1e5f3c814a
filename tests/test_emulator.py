"""The emulator over real loopback HTTP with a Digest client."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TYPE_CHECKING

import httpx
import pytest

from porteiro.codes import RequestError
from porteiro.emulator import EmulatedDevice, EmulatorHost, State
from porteiro.wire import AttachStreamParser, Heartbeat, Malformed, RawEvent
from porteiro.wire.errors import parse_error_reply
from porteiro.wire.kv import parse_kv, parse_records, parse_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

AUTH = httpx.DigestAuth("admin", "admin123")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 1000 + b"\xff\xd9"
OFFICIAL_USER = {"UserList": [{
    "UserID": "5", "UserName": "test", "UserType": 0, "Authority": 1, "Password": "234",
    "Doors": [0], "TimeSections": [255], "SpecialDaysSchedule": [255], "UserStatus": 0,
    "ValidFrom": "2019-01-02 00:00:00", "ValidTo": "2037-01-02 01:00:00"}]}


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[EmulatorHost]:
    async with EmulatorHost.start(devices=1, state_dir=tmp_path) as running:
        yield running


@pytest.fixture
async def client(host: EmulatorHost) -> AsyncIterator[httpx.AsyncClient]:
    _, url = host.endpoints[0]
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=10) as http:
        yield http


@pytest.fixture
def device(host: EmulatorHost) -> EmulatedDevice:
    return host.devices[0]


async def test_digest_challenge(host: EmulatorHost) -> None:
    _, url = host.endpoints[0]
    async with httpx.AsyncClient(base_url=url) as anonymous:
        reply = await anonymous.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert reply.status_code == 401
    challenge = reply.headers["WWW-Authenticate"]
    assert challenge.startswith("Digest ")
    assert 'qop="auth"' in challenge


async def test_magic_box(client: httpx.AsyncClient, device: EmulatedDevice) -> None:
    info = parse_kv((await client.get("/cgi-bin/magicBox.cgi?action=getSystemInfo")).content)
    assert info["serialNumber"] == device.state.identity.serial
    assert info["deviceType"] == "SS 3530 MF FACE W"
    reply = await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert reply.content == f"sn={device.state.identity.serial}\r\n".encode()
    version = parse_kv((await client.get("/cgi-bin/magicBox.cgi?action=getSoftwareVersion")
                        ).content)
    assert version["version"].startswith("2.000")


async def test_time_get_and_set(client: httpx.AsyncClient) -> None:
    reply = await client.get("/cgi-bin/global.cgi?action=setCurrentTime&time=2024-01-02%2010:00:00")
    assert reply.content == b"OK\r\n"
    now = parse_kv((await client.get("/cgi-bin/global.cgi?action=getCurrentTime")).content)
    assert now["result"].startswith("2024-01-02 10:00")


async def test_config_round_trip(client: httpx.AsyncClient, device: EmulatedDevice) -> None:
    reply = await client.get("/cgi-bin/configManager.cgi?action=setConfig"
                             "&AccessControl[0].State=CloseAlways&AccessControl[0].Name=Portaria")
    assert reply.content == b"OK\r\n"
    table = parse_table((await client.get(
        "/cgi-bin/configManager.cgi?action=getConfig&name=AccessControl")).content)
    assert table["AccessControl"][0]["State"] == "CloseAlways"
    assert table["AccessControl"][0]["Name"] == "Portaria"
    unknown = await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=Nope")
    error = parse_error_reply(unknown.status_code, unknown.content,
                              unknown.headers.get("content-type"))
    assert error is not None
    assert error.code is RequestError.UNKNOWN_TABLE
    device.state.error_style = "legacy"
    unknown = await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=Nope")
    assert unknown.status_code == 400
    assert unknown.content == b"Error\r\nBad Request!\r\n"


async def test_users_cards_faces_rules(client: httpx.AsyncClient) -> None:
    ok = await client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=OFFICIAL_USER)
    assert ok.content == b"OK\r\n"
    again = await client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=OFFICIAL_USER)
    assert again.status_code == 400
    assert json.loads(again.content)["detail"]["FailCodes"] == [286064929]
    eleven = {"UserList": [{"UserID": str(i)} for i in range(100, 111)]}
    too_many = await client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=eleven)
    assert json.loads(too_many.content)["code"] == int(RequestError.INVALID_ARGS)

    card = {"CardList": [{"UserID": "5", "CardNo": "12ea3004", "CardType": 0, "CardStatus": 0}]}
    assert (await client.post("/cgi-bin/AccessCard.cgi?action=insertMulti", json=card)
            ).content == b"OK\r\n"
    orphan = {"CardList": [{"UserID": "77", "CardNo": "AB"}]}
    reply = await client.post("/cgi-bin/AccessCard.cgi?action=insertMulti", json=orphan)
    assert json.loads(reply.content)["detail"]["FailCodes"] == [286064925]
    listed = await client.get("/cgi-bin/AccessCard.cgi?action=list&CardNoList[0]=12EA3004")
    assert listed.json()["CardList"][0]["UserID"] == "5"

    def face(user: str, photo: bytes) -> dict[str, object]:
        return {"FaceList": [{"UserID": user, "PhotoData": [base64.b64encode(photo).decode()]}]}

    cases = [("77", JPEG, 288686082), ("5", b"GIF89a....", 286064927),
             ("5", b"\xff\xd8\xff" + b"\x00" * 400_000, 286064923)]
    for user, photo, code in cases:
        reply = await client.post("/cgi-bin/AccessFace.cgi?action=insertMulti",
                                  json=face(user, photo))
        assert json.loads(reply.content)["detail"]["FailCodes"] == [code]
    assert (await client.post("/cgi-bin/AccessFace.cgi?action=insertMulti", json=face("5", JPEG))
            ).content == b"OK\r\n"
    dup = await client.post("/cgi-bin/AccessFace.cgi?action=insertMulti", json=face("5", JPEG))
    assert json.loads(dup.content) == {"code": 268632336, "detail": {
        "FailCodes": [286064926], "FailCount": 1}, "message": "Batch Process Error"}
    assert (await client.post("/cgi-bin/AccessFace.cgi?action=updateMulti", json=face("5", JPEG))
            ).content == b"OK\r\n"

    users = (await client.get("/cgi-bin/AccessUser.cgi?action=list&UserIDList[0]=5")).json()
    assert users["UserList"][0]["ValidTo"] == "2037-01-02 01:00:00"
    assert (await client.get("/cgi-bin/AccessUser.cgi?action=removeMulti&UserIDList[0]=5")
            ).content == b"OK\r\n"
    assert (await client.get("/cgi-bin/AccessUser.cgi?action=list&UserIDList[0]=5")
            ).json() == {"UserList": []}


async def _present(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    reply = await client.post("/sim/present", json=fields)
    assert reply.status_code == 200, reply.text
    result: dict[str, object] = reply.json()
    return result


async def test_access_records_and_record_finder(client: httpx.AsyncClient) -> None:
    await client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=OFFICIAL_USER)
    await client.post("/cgi-bin/AccessCard.cgi?action=insertMulti", json={"CardList": [
        {"UserID": "5", "CardNo": "12EA3004"}]})
    granted = await _present(client, card_no="12EA3004")
    assert granted == {"granted": True, "method": 1, "error": 0, "user_id": "5",
                       "message": None}
    denied = await _present(client, card_no="FFFF0000")
    assert denied["granted"] is False
    assert denied["error"] == 16
    page = parse_records((await client.get(
        "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&count=10")).content)
    assert page.found == 2
    assert [r["RecNo"] for r in page.records] == ["1", "2"]
    assert page.records[0]["CardNo"] == "12EA3004"
    assert page.records[1]["ErrorCode"] == "16"
    future = await client.get("/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec"
                              "&StartTime=2099-01-01%2000:00:00&EndTime=2099-12-31%2000:00:00")
    assert future.content == b"found=0\r\ntotalCount=0\r\n"
    bad = await client.get("/cgi-bin/recordFinder.cgi?action=find&name=Nope")
    assert json.loads(bad.content)["code"] == 285278242


async def _read_items(chunks: AsyncIterator[bytes], parser: AttachStreamParser, *, want: int,
                      timeout: float = 5) -> list[object]:
    items: list[object] = []

    async def pump() -> None:
        while len(items) < want:
            items.extend(parser.feed(await anext(chunks)))

    await asyncio.wait_for(pump(), timeout)
    return items


async def test_attach_stream_events_and_heartbeats(client: httpx.AsyncClient,
                                                   device: EmulatedDevice) -> None:
    url = "/cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl,DoorStatus]&heartbeat=1"
    async with client.stream("GET", url) as stream:
        assert stream.headers["content-type"] == "multipart/x-mixed-replace; boundary=myboundary"
        parser = AttachStreamParser.for_content_type(stream.headers["content-type"])
        chunks = stream.aiter_raw()
        await asyncio.sleep(0.05)
        device.open_door(0)
        device.tamper()  # filtered out by codes=
        device.set_door_contact(0, is_open=True)
        items = await _read_items(chunks, parser, want=2)
        events = [i for i in items if isinstance(i, RawEvent)]
        assert [e.code for e in events] == ["AccessControl", "DoorStatus"]
        assert events[0].data["Method"] == 4
        items = await _read_items(chunks, parser, want=1, timeout=3)
        assert isinstance(items[0], Heartbeat)


async def test_open_door_channel_is_one_based(client: httpx.AsyncClient) -> None:
    assert (await client.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=1")
            ).content == b"OK\r\n"
    assert (await client.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=2")
            ).status_code == 400
    status = await client.get("/cgi-bin/accessControl.cgi?action=getDoorStatus&channel=1")
    assert status.content == b"Info.status=Close\r\n"


async def test_lockout_after_failed_logins(host: EmulatorHost) -> None:
    _, url = host.endpoints[0]
    async with httpx.AsyncClient(base_url=url, auth=httpx.DigestAuth("admin", "wrong")) as bad:
        for _ in range(5):
            reply = await bad.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
            assert reply.status_code == 401
    async with httpx.AsyncClient(base_url=url, auth=AUTH) as good:
        locked = await good.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert locked.status_code == 401
    assert json.loads(locked.content)["code"] == int(RequestError.ACCOUNT_HAS_BEEN_LOCKED)


async def test_faults_fail_and_garbage(client: httpx.AsyncClient, device: EmulatedDevice) -> None:
    device.fail_replies(0.3, 503)
    assert (await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")).status_code == 503
    await asyncio.sleep(0.35)
    assert (await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")).status_code == 200
    async with client.stream("GET", "/cgi-bin/eventManager.cgi?action=attach&codes=[All]"
                             ) as stream:
        parser = AttachStreamParser.for_content_type(stream.headers["content-type"])
        chunks = stream.aiter_raw()
        await asyncio.sleep(0.05)
        device.garbage_into_streams(b"\x00\xffnot an event\r\n")
        device.tamper()
        items = await _read_items(chunks, parser, want=2)
        assert any(isinstance(i, Malformed) for i in items)
        assert [i.code for i in items if isinstance(i, RawEvent)] == ["ChassisIntruded"]


async def test_reboot_drops_streams_and_keeps_records(client: httpx.AsyncClient,
                                                      device: EmulatedDevice) -> None:
    device.open_door(0)
    async with client.stream("GET", "/cgi-bin/eventManager.cgi?action=attach&codes=[All]"
                             ) as stream:
        await asyncio.sleep(0.05)
        assert (await client.get("/cgi-bin/magicBox.cgi?action=reboot")).content == b"OK\r\n"
        body = await asyncio.wait_for(stream.aread(), 5)  # returns only when the stream ends
        assert b"Code=Reboot" not in body  # the stream was dropped before the reboot event
    assert device.subscriptions == set()
    assert len(device.state.records) == 1  # the log survives the reboot


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    async with EmulatorHost.start(devices=1, state_dir=tmp_path) as first:
        _, url = first.endpoints[0]
        async with httpx.AsyncClient(base_url=url, auth=AUTH) as http:
            await http.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=OFFICIAL_USER)
            await http.get("/cgi-bin/accessControl.cgi?action=openDoor&channel=1")
    saved = State.load(tmp_path / "device-0.json")
    assert "5" in saved.users
    assert len(saved.records) == 1
    async with EmulatorHost.start(devices=1, state_dir=tmp_path) as second:
        assert "5" in second.devices[0].state.users
        assert second.devices[0].state.next_rec_no == 2


async def test_many_devices_have_their_own_identity() -> None:
    async with EmulatorHost.start(devices=5) as many:
        serials = set()
        for _, url in many.endpoints:
            async with httpx.AsyncClient(base_url=url, auth=AUTH) as http:
                sn = parse_kv((await http.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
                               ).content)["sn"]
            serials.add(sn)
    assert len(serials) == 5


async def test_pytest_plugin_fixture(emulated_device: tuple[EmulatedDevice, str]) -> None:
    device, url = emulated_device
    async with httpx.AsyncClient(base_url=url, auth=AUTH) as http:
        reply = await http.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert reply.content == f"sn={device.state.identity.serial}\r\n".encode()


async def test_fault_delay_and_stall_and_drop(client: httpx.AsyncClient,
                                              device: EmulatedDevice) -> None:
    device.delay_replies(0.3)
    started = asyncio.get_running_loop().time()
    await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert asyncio.get_running_loop().time() - started >= 0.3
    device.delay_replies(0)
    async with client.stream("GET", "/cgi-bin/eventManager.cgi?action=attach&codes=[All]"
                             "&heartbeat=1") as stream:
        parser = AttachStreamParser.for_content_type(stream.headers["content-type"])
        items: list[object] = []

        async def reader() -> None:
            async for chunk in stream.aiter_raw():
                items.extend(parser.feed(chunk))

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        device.stall_streams(1.5)
        device.tamper()
        await asyncio.sleep(1.2)
        assert items == []  # stalled: no event, not even a heartbeat
        await asyncio.sleep(1.0)
        assert [i.code for i in items if isinstance(i, RawEvent)] == ["ChassisIntruded"]
        device.drop_streams()
        await asyncio.wait_for(task, 5)  # the reader ends: the device hung up


async def test_door_held_open_raises_door_not_closed(client: httpx.AsyncClient,
                                                     device: EmulatedDevice) -> None:
    await client.get("/cgi-bin/configManager.cgi?action=setConfig&AccessControl[0].CloseTimeout=1")
    sub = device.subscribe(None)
    device.open_door(0)  # unlocked: no BreakIn
    device.set_door_contact(0, is_open=True)
    await asyncio.sleep(1.3)
    device.set_door_contact(0, is_open=False)
    codes = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        assert isinstance(item, RawEvent)
        codes.append((item.code, item.action))
    device.unsubscribe(sub)
    assert codes == [("AccessControl", "Pulse"), ("DoorStatus", "Pulse"),
                     ("DoorNotClosed", "Start"), ("DoorStatus", "Pulse"),
                     ("DoorNotClosed", "Stop")]


async def test_forced_door_is_a_break_in(device: EmulatedDevice) -> None:
    sub = device.subscribe(None)
    device.set_door_contact(0, is_open=True)
    codes = [sub.queue.get_nowait().code for _ in range(sub.queue.qsize())]  # type: ignore[union-attr]
    device.unsubscribe(sub)
    assert codes == ["DoorStatus", "BreakIn"]


async def test_too_many_logins(client: httpx.AsyncClient, device: EmulatedDevice,
                               host: EmulatorHost) -> None:
    device.state.limits.max_logins = 1
    assert (await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")).status_code == 200
    _, url = host.endpoints[0]
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=url, auth=AUTH,
                                 transport=other) as second:
        refused = await second.get("/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert json.loads(refused.content)["code"] == int(RequestError.TOO_MANY_CONNECTIONS)


async def test_sim_traffic(client: httpx.AsyncClient, device: EmulatedDevice) -> None:
    reply = await client.post("/sim/traffic", json={"rate": 200, "duration": 0.5})
    assert reply.json()["ok"] is True
    await asyncio.sleep(0.8)
    assert len(device.state.records) > 20
    bad = await client.post("/sim/traffic", json={"rate": -1})
    assert bad.status_code == 400


async def test_remaining_endpoints(client: httpx.AsyncClient, device: EmulatedDevice) -> None:
    assert (await client.get("/cgi-bin/magicBox.cgi?action=getDeviceType")).content == (
        b"type=SS 3530 MF FACE W\r\n")
    assert parse_kv((await client.get("/cgi-bin/IntervideoManager.cgi?action=getVersion&Name=CGI"
                                      )).content)["version"]
    assert (await client.get("/cgi-bin/accessControl.cgi?action=closeDoor&channel=1")
            ).content == b"OK\r\n"
    await client.post("/cgi-bin/AccessUser.cgi?action=insertMulti", json=OFFICIAL_USER)
    await client.post("/cgi-bin/AccessCard.cgi?action=insertMulti",
                      json={"CardList": [{"UserID": "5", "CardNo": "AB01"},
                                         {"UserID": "5", "CardNo": "AB02"}]})
    assert (await client.get("/cgi-bin/AccessCard.cgi?action=removeMulti&CardNoList[0]=AB01")
            ).content == b"OK\r\n"
    assert set(device.state.cards) == {"AB02"}
    assert (await client.get("/cgi-bin/AccessCard.cgi?action=removeAll")).content == b"OK\r\n"
    assert device.state.cards == {}
    assert (await client.get("/cgi-bin/AccessFace.cgi?action=list")).json() == {"FaceList": []}
    assert (await client.get("/cgi-bin/AccessUser.cgi?action=removeAll")).content == b"OK\r\n"
    assert device.state.users == {}
    unknown = await client.get("/cgi-bin/magicBox.cgi?action=selfDestruct")
    assert unknown.status_code == 501
    assert unknown.content == b"Error\r\nNot Implemented!\r\n"
    json_style = await client.get("/cgi-bin/configManager.cgi?action=setConfig&Bogus.Key=1")
    assert json.loads(json_style.content)["code"] == int(RequestError.INVALID_ARGS)
