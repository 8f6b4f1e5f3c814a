"""The device client end to end against the emulator over loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from porteiro.codes import OpenMethod, RequestError
from porteiro.device import Connected, Device, Disconnected, StreamState, redact
from porteiro.emulator import EmulatedDevice, EmulatorHost
from porteiro.events import AccessControlEvent, AlarmEvent, Event
from porteiro.exceptions import (
    AuthenticationError,
    DeviceConnectionError,
    DeviceError,
)
from porteiro.wire import Malformed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 500 + b"\xff\xd9"


@pytest.fixture
async def pair() -> AsyncIterator[tuple[EmulatedDevice, Device]]:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        async with Device(url, password="admin123") as dev:
            yield emulated, dev


async def test_info_time_config(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    info = await dev.info()
    assert info.serial == emulated.state.identity.serial
    assert info.device_type == "SS 3530 MF FACE W"
    assert await dev.serial() == info.serial
    assert await dev.cgi_version()
    target = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    await dev.set_time(target)
    assert abs((await dev.get_time() - target).total_seconds()) < 5
    await dev.set_config({"AccessControl[0].Name": "Portaria", "NTP.Enable": True})
    doors = await dev.get_config("AccessControl")
    assert doors[0]["Name"] == "Portaria"
    assert (await dev.get_config("NTP"))["Enable"] == "true"


async def test_configure_push_and_online(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    await dev.configure_push("192.168.1.200", 3000)
    assert emulated.device_mode() == 1
    assert emulated.uplink is not None
    assert emulated.uplink.server() == "http://192.168.1.200:3000"
    await dev.configure_online("192.168.1.200", 3000, keepalive_interval=10)
    assert emulated.device_mode() == 2
    assert emulated.state.config["Intelbras_ModeCfg"]["KeepAlive"]["Interval"] == "10"


async def test_doors(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    await dev.open_door(0, user_id="7")
    assert emulated.state.records[-1]["Method"] == int(OpenMethod.REMOTE)
    assert await dev.door_is_open(0) is False
    emulated.set_door_contact(0, is_open=True)
    assert await dev.door_is_open(0) is True
    await dev.close_door(0)
    with pytest.raises(DeviceError, match="INVALID_ARGS"):
        await dev.open_door(5)


async def test_people_batches_and_partial_success(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    users = [{"UserID": str(i), "UserName": f"Pessoa {i}", "Doors": [0]} for i in range(1, 24)]
    results = await dev.add_users(users)  # 23 users: three calls of at most 10
    assert all(r.ok for r in results)
    assert len(emulated.state.users) == 23
    again = await dev.add_users(users[:1])
    assert again[0].ok is False
    assert again[0].error is RequestError.USER_ALREADY_EXISTS
    cards = await dev.add_cards([{"UserID": "1", "CardNo": "12EA3004"},
                                 {"UserID": "999", "CardNo": "FFFF0001"}])
    assert [r.ok for r in cards] == [False, False]  # the device does not say which failed
    assert "12EA3004" in emulated.state.cards
    assert (await dev.add_face("1", JPEG)).ok
    dup = await dev.add_face("1", JPEG)
    assert dup.error is RequestError.PHOTO_ALREADY_EXISTS
    assert (await dev.add_face("1", JPEG, update=True)).ok
    with pytest.raises(ValueError, match="not a JPEG"):
        await dev.add_face("1", b"GIF89a")
    with pytest.raises(ValueError, match="devices refuse"):
        await dev.add_face("1", b"\xff\xd8\xff" + b"\x00" * 400_000)
    listed = await dev.list_users(["1", "2"])
    assert [u["UserID"] for u in listed] == ["1", "2"]
    await dev.remove_users([str(i) for i in range(1, 12)])
    assert len(emulated.state.users) == 12
    assert {c["CardNo"] for c in await dev.list_cards()} == set()


async def test_records_paged(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    for _ in range(25):
        emulated.open_door(0)
    events = [e async for e in dev.iter_records(page=10)]
    assert len(events) == 25
    assert [e.record_no for e in events] == list(range(1, 26))
    assert all(isinstance(e, AccessControlEvent) and e.granted for e in events)
    future = datetime.now(UTC) + timedelta(days=1)
    assert [e async for e in dev.iter_records(since=future)] == []


async def test_errors_are_typed(pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    with pytest.raises(DeviceError) as caught:
        await dev.get_config("Nope")
    assert caught.value.code is RequestError.UNKNOWN_TABLE
    assert "UNKNOWN_TABLE (285278242)" in str(caught.value)
    emulated.state.error_style = "legacy"
    with pytest.raises(DeviceError) as legacy:
        await dev.get_config("Nope")
    assert legacy.value.http_status == 400
    async with Device(dev.base_url, password="wrong") as bad:
        with pytest.raises(AuthenticationError):
            await bad.serial()
    async with Device("127.0.0.1:1", password="x", timeout=2) as nobody:
        with pytest.raises(DeviceConnectionError):
            await nobody.serial()


def test_card_numbers_are_redacted() -> None:
    assert redact("12EA3004") == "****3004"
    assert redact("") == ""


async def _next(stream: AsyncIterator[object], kind: type, timeout: float = 10) -> object:
    async def find() -> object:
        async for item in stream:
            if isinstance(item, kind):
                return item
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), timeout)


async def test_stream_survives_drops_reboots_stalls_and_garbage(
        pair: tuple[EmulatedDevice, Device]) -> None:
    emulated, dev = pair
    async with dev.events(heartbeat=1, watchdog_heartbeats=2, backoff_cap=0.5) as stream:
        await _next(stream, Connected)
        assert stream.state is StreamState.LIVE
        emulated.tamper()
        alarm = await _next(stream, Event)
        assert isinstance(alarm, AlarmEvent)

        emulated.drop_streams()
        gone = await _next(stream, Disconnected)
        assert isinstance(gone, Disconnected)
        await _next(stream, Connected)

        emulated.reboot()
        await _next(stream, Disconnected)
        await _next(stream, Connected)

        emulated.stall_streams(5)  # silent: the watchdog must notice within ~2 s
        dead = await _next(stream, Disconnected, timeout=8)
        assert isinstance(dead, Disconnected)
        assert "no event or heartbeat" in dead.reason
        emulated.faults.stall_until = 0
        await _next(stream, Connected)

        emulated.garbage_into_streams(b"\x00garbage\r\n")
        emulated.open_door(0)
        report = await _next(stream, Malformed)
        assert isinstance(report, Malformed)
        event = await _next(stream, AccessControlEvent)
        assert isinstance(event, AccessControlEvent)
        assert stream.reconnects >= 3


async def test_stream_with_records_loses_nothing(pair: tuple[EmulatedDevice, Device]) -> None:
    """Events emitted while the link was down come back from the record log."""
    emulated, dev = pair
    seen: set[int] = set()
    async with dev.events(heartbeat=1, backoff_cap=0.5) as stream:
        await _next(stream, Connected)
        emulated.open_door(0)
        first = await _next(stream, AccessControlEvent)
        assert isinstance(first, AccessControlEvent)
        emulated.drop_streams()
        emulated.open_door(0)  # while disconnected
        emulated.open_door(0)
        await _next(stream, Connected)
        gap_start = first.timestamp or 0
        async for record in dev.iter_records(
                since=datetime.fromtimestamp(gap_start, UTC) - timedelta(seconds=1)):
            assert record.record_no is not None
            seen.add(record.record_no)
    assert seen == {1, 2, 3}


async def test_stream_stops_on_refused_credentials(pair: tuple[EmulatedDevice, Device]) -> None:
    _, dev = pair
    async with Device(dev.base_url, password="wrong") as bad, bad.events() as stream:
        with pytest.raises(AuthenticationError):
            async for _ in stream:
                pass


async def test_sync_people_applies_only_the_difference(
        pair: tuple[EmulatedDevice, Device]) -> None:
    from porteiro.device.sync import Person, sync_people  # noqa: PLC0415

    emulated, dev = pair
    emulated.state.limits.max_inserts_per_second = 15  # the device pushes back
    people = [Person(str(i), f"Pessoa {i}", cards=(f"CA{i:06X}",)) for i in range(1, 41)]
    seen: list[tuple[int, int]] = []
    first = await sync_people(dev, people, progress=lambda d, t: seen.append((d, t)))
    assert first.users_added == 40
    assert first.cards_added == 40
    assert first.failures == []
    assert len(emulated.state.users) == 40
    assert seen[-1] == (80, 80)
    second = await sync_people(dev, people)
    assert second.changes == 0
    changed = [*people[:39], Person("40", "Novo nome", cards=("CB000001",)), Person("41", "Nova")]
    third = await sync_people(dev, changed)
    assert (third.users_added, third.users_updated, third.cards_added, third.cards_removed) == (
        1, 1, 1, 1)
    assert emulated.state.users["40"].name == "Novo nome"
    assert "CA000028" not in emulated.state.cards


async def test_typed_config_views(pair: tuple[EmulatedDevice, Device]) -> None:
    from porteiro.codes import DeviceMode, DoorMode  # noqa: PLC0415

    emulated, dev = pair
    (door,) = await dev.doors()
    assert door.mode is DoorMode.NORMAL
    assert door.unlock_hold_ms == 3000
    await dev.set_door_mode(0, DoorMode.ALWAYS_OPEN)
    assert (await dev.doors())[0].mode is DoorMode.ALWAYS_OPEN
    net = await dev.network()
    assert net.mac == emulated.state.identity.mac
    assert await dev.device_mode() is DeviceMode.STAND_ALONE


async def test_logs_never_show_full_card_numbers(pair: tuple[EmulatedDevice, Device],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _, dev = pair
    caplog.set_level("DEBUG")
    await dev.remove_cards(["12EA3004"])
    await dev.add_cards([{"UserID": "1", "CardNo": "12EA3004"}])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "CardNoList" in text  # the request was logged...
    assert "12EA3004" not in text  # ...without the card number
    assert "admin123" not in text


async def test_lockout_and_not_implemented_are_typed(pair: tuple[EmulatedDevice, Device]
                                                     ) -> None:
    emulated, dev = pair
    emulated.verifier.max_failures = 2
    async with Device(dev.base_url, password="wrong") as bad:
        for _ in range(2):
            with pytest.raises(AuthenticationError):
                await bad.serial()
    with pytest.raises(AuthenticationError, match="ACCOUNT_HAS_BEEN_LOCKED"):
        await dev.serial()
    emulated.verifier.unlock()
    with pytest.raises(DeviceError) as caught:
        await dev._get_ok("/cgi-bin/AccessUser.cgi", action="remove")
    assert caught.value.http_status == 501


async def test_one_stream_per_device_and_faces_in_batches(
        pair: tuple[EmulatedDevice, Device]) -> None:
    from porteiro.exceptions import PorteiroError  # noqa: PLC0415

    emulated, dev = pair
    async with dev.events() as stream:
        with pytest.raises(PorteiroError, match="already open"):
            dev.events()
        await _next(stream, Connected)
    async with dev.events() as again:  # closed streams free the slot
        await _next(again, Connected)
    await dev.add_users([{"UserID": str(i)} for i in range(12)])
    results = await dev.add_faces([(str(i), JPEG) for i in range(12)])
    assert all(r.ok for r in results)
    assert len(await dev.list_faces()) == 12
    await dev.remove_faces(["0", "1"])
    assert len(emulated.state.faces) == 10
