"""Event identity at the hub: identical events in the same second are two events,
resends are one, and a device clock set back does not hide records from backfill."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from porteiro.access import Presentation
from porteiro.api import create_app
from porteiro.emulator import EmulatorHost
from porteiro.events import build_event
from porteiro.hub import load_config
from porteiro.store import Occurrences, Store, Writer
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from pathlib import Path

    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub

PRESS = RawEvent("AccessControl", "Pulse", 0, {"Door": 0, "Method": 5, "ErrorCode": 0,
                                               "Status": 1, "Type": "Exit", "UTC": 1790715000})


async def test_identical_events_in_one_delivery_are_each_stored(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.migrate()
    writer = Writer(store)
    writer.start()
    try:
        device = store.ensure_device("d")
        twice = [build_event(PRESS), build_event(PRESS)]
        assert (await writer.write(device, "d", twice, source="push")).inserted == 2
        # the same body again (a resend): nothing new
        assert (await writer.write(device, "d", twice, source="push")).inserted == 0
        # a live stream numbers across deliveries; the backfill of the same log agrees
        live = Occurrences()
        other = build_event(RawEvent("AccessControl", "Pulse", 0, {
            **PRESS.data, "UTC": 1790715009}))
        for _ in range(2):
            await writer.write(device, "d", [other], source="attach", occurrences=live)
        backfill = Occurrences()
        again = await writer.write(device, "d", [other, other], source="backfill",
                                   occurrences=backfill)
        assert (again.inserted, again.duplicates) == (0, 2)
        assert store.count_events(device) == 4
    finally:
        writer.close()
        store.close()


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
[[devices]]
name = "leitora"
host = "127.0.0.1"
port = {port}
password = "admin123"
mode = "attach"
''', encoding="utf-8")
    return path


async def _settle(hub: Hub, count: int) -> None:
    async def reached() -> None:
        while await asyncio.to_thread(hub.store.count_events) < count:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), 15)
    await asyncio.sleep(0.3)  # and no more than that
    assert await asyncio.to_thread(hub.store.count_events) == count


async def _reconnected(hub: Hub, device: EmulatedDevice) -> None:
    collector = hub.collectors["leitora"]
    collector.connected.clear()
    device.reboot()
    await asyncio.wait_for(collector.connected.wait(), 15)


async def test_attach_same_second_presses_and_clock_set_back(tmp_path: Path) -> None:
    async with EmulatorHost.start(devices=1) as emulators:
        device, url = emulators.endpoints[0]
        app = create_app(load_config(_config(tmp_path, int(url.rsplit(":", 1)[1])), env={}))
        async with app.router.lifespan_context(app):
            hub: Hub = app.state.hub
            await asyncio.wait_for(hub.collectors["leitora"].connected.wait(), 15)
            # Two exit-button presses in the same second, seen live...
            # (each: an AccessControl record, Method 5, and a _Button_ event with no time)
            device.press_exit_button(0)
            device.press_exit_button(0)
            await _settle(hub, 4)
            # ...and again in the backfill after a reboot: still two, not four, not one.
            await _reconnected(hub, device)
            await _settle(hub, 4)  # (the Reboot event went out while no stream was open)
            # Passages, then the clock is set back an hour and people pass while the
            # link is down: their records are dated before the backfill window.
            for i in range(3):
                device.present(Presentation(card_no=f"BEFORE{i}"))
            await _settle(hub, 7)
            device.drift(-3600)
            collector = hub.collectors["leitora"]
            collector.connected.clear()
            device.drop_streams()
            for i in range(4):
                device.present(Presentation(card_no=f"SETBACK{i}"))
            await asyncio.wait_for(collector.connected.wait(), 15)
            await _settle(hub, 11)
            rows = hub.store.list_events(limit=100)
    cards = {r["card_no"] for r in rows if r["card_no"]}
    assert {f"SETBACK{i}" for i in range(4)} <= cards
    presses = [r for r in rows if r["method"] == 5]
    assert len(presses) == 2
    buttons = [r for r in rows if r["code"] == "_Button_"]
    assert len(buttons) == 2
    assert all(r["ts"] is not None for r in buttons)  # stamped with their arrival
