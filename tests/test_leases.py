"""Several hub instances on one database: each attach reader is collected by exactly one
instance, and a dead instance's readers are taken over within the lease time."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from porteiro.access import Presentation
from porteiro.emulator import EmulatorHost
from porteiro.events import build_event
from porteiro.hub import HubConfig
from porteiro.hub.hub import Hub
from porteiro.hub.people import PersonInput
from porteiro.store import event_row
from porteiro.store.schema import events
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from porteiro.events import Event
    from porteiro.store import Store


def test_a_lease_has_one_holder_until_it_expires(store: Store) -> None:
    assert store.acquire_lease("collector:a", "one", 10, now=100.0)
    assert not store.acquire_lease("collector:a", "two", 10, now=105.0)
    assert store.acquire_lease("collector:a", "one", 10, now=105.0)  # renewed to 115
    assert not store.acquire_lease("collector:a", "two", 10, now=114.0)
    assert store.acquire_lease("collector:a", "two", 10, now=116.0)  # expired: taken over
    assert store.lease_holders("collector:") == {"collector:a": ("two", 126.0)}
    store.release_lease("collector:a", "one")  # not the holder: nothing happens
    assert "collector:a" in store.lease_holders()
    store.release_lease("collector:a", "two")
    assert store.lease_holders() == {}
    # Many at once (one transaction), as a lease round takes them.
    names = [f"collector:r{i}" for i in range(1500)]
    assert store.acquire_leases(names, "one", 10, now=200.0) == set(names)
    assert store.acquire_leases([*names[:3], "sink:erp"], "two", 10, now=205.0) == {
        "sink:erp"}
    assert store.acquire_leases(names[:2], "two", 10, now=211.0) == set(names[:2])


def _config(tmp_path: Path, database_url: str, instance: str, port: int, password: str
            ) -> HubConfig:
    return HubConfig.model_validate({
        "hub": {"data_dir": str(tmp_path / instance), "database_url": database_url,
                "instance_id": instance, "lease_seconds": 1.5, "flush_interval": 0.2},
        "people": {"auto_sync": False},
        "sinks": [{"type": "webhook", "name": "erp", "url": "http://127.0.0.1:9/hook"}],
        "devices": [{"name": f"r{i}", "host": "127.0.0.1", "port": port + i,
                     "password": password, "mode": "attach"} for i in range(3)]})


async def test_two_instances_share_and_take_over_readers(tmp_path: Path,
                                                         database_url: str) -> None:
    async with EmulatorHost.start(devices=3) as host:
        ports = [int(url.rsplit(":", 1)[1]) for _, url in host.endpoints]
        password = host.devices[0].state.password
        hubs = []
        for name in ("a", "b"):
            config = _config(tmp_path, database_url, name, ports[0], password)
            config.devices = [d.model_copy(update={"port": port})
                              for d, port in zip(config.devices, ports, strict=True)]
            hub = Hub(config)
            await hub.start()
            hubs.append(hub)
        first, second = hubs
        try:
            # Every reader is collected, each by exactly one instance.
            owned = [set(first.collectors), set(second.collectors)]
            assert owned[0] | owned[1] == {"r0", "r1", "r2"}
            assert not owned[0] & owned[1]
            assert owned[0] == {"r0", "r1", "r2"}  # the first to start took them all
            # One instance delivers the sink; the other stands by.
            assert (first.forwarder.running, second.forwarder.running) == ({"erp"}, set())
            assert second.forwarder.status()[0].state == "standby"
            for device in host.devices:
                device.present(Presentation(card_no="BEFORE01"))
            # The first instance dies without handing over (no release).
            for collector in first.collectors.values():
                await collector.close()
            first.collectors.clear()
            await first.forwarder.stop()
            for task in list(first._tasks):  # simulate a crash
                task.cancel()
            died = time.monotonic()
            for device in host.devices:
                device.present(Presentation(card_no="DURING01"))

            async def taken_over() -> None:
                while set(second.collectors) != {"r0", "r1", "r2"} or not all(
                        c.connected.is_set() for c in second.collectors.values()):
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(taken_over(), 10)
            assert second.forwarder.running == {"erp"}  # the sink moved too
            takeover = time.monotonic() - died
            assert takeover < 1.5 + 1.5 / 3 + 2.0  # lease + one renewal + connecting

            async def stored() -> None:  # the gap is backfilled from the record log
                while second.store.count_events() < 6:
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(stored(), 10)
            rows = second.store.list_events(limit=100)
            assert sorted(r["card_no"] for r in rows) == ["BEFORE01"] * 3 + ["DURING01"] * 3
        finally:
            await second.stop()
            await asyncio.to_thread(first.writer.close)
            await asyncio.to_thread(first.store.close)


def test_the_log_is_read_in_commit_order_with_several_writers(store: Store) -> None:
    """PostgreSQL: an id whose transaction has not committed holds back the higher ids
    already committed, so a reader's cursor never passes it (several hub instances)."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    store.several_writers = True  # as [hub] cluster sets it
    device_id = store.ensure_device("a")
    rows = [event_row(device_id, "a", build_event(RawEvent("BreakIn", "Pulse", 0, {
        "Name": f"Door{i}", "UTC": 1_790_715_000 + i})), source="push", offset_s=0,
        received=1_790_715_000.0) for i in range(2)]
    slow = store.engine.connect()
    try:
        first = slow.begin()
        early_id = slow.execute(events.insert().values(rows[0]).returning(events.c.id)
                                ).scalar_one()
        with store.engine.begin() as fast:  # a second writer commits a higher id first
            late_id = fast.execute(events.insert().values(rows[1]).returning(events.c.id)
                                   ).scalar_one()
        assert late_id > early_id
        assert store.events_after(0, 10) == []  # not id 6 before id 5 is decided
        first.commit()
        assert [r["id"] for r in store.events_after(0, 10)] == [early_id, late_id]
    finally:
        slow.close()


async def test_a_cluster_shares_events_history_and_people(tmp_path: Path,
                                                          database_url: str) -> None:
    """Two instances in cluster mode: an event pushed to one reaches the other's live
    bus, a Modo Online grant on one counts for anti-passback on the other, a person
    added on one decides on the other."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a cluster shares a PostgreSQL database")
    hubs = []
    for name in ("a", "b"):
        config = HubConfig.model_validate({
            "hub": {"data_dir": str(tmp_path / name), "database_url": database_url,
                    "instance_id": name, "cluster": True},
            "access": {"anti_passback": True},
            "people": {"auto_sync": False},
            "devices": [{"name": "catraca", "host": "127.0.0.1", "mode": "online"}]})
        hub = Hub(config)
        await hub.start()
        hubs.append(hub)
    first, second = hubs
    try:
        assert second.cluster is not None
        second.cluster.people_interval = 0.2
        await first.people.create(PersonInput(user_id="1", cards=["AA000001"]))

        async def until(condition: Callable[[], bool]) -> None:
            while not condition():
                await asyncio.sleep(0.05)

        await asyncio.wait_for(until(lambda: second.people.directory.get("1") is not None), 5)
        now = int(time.time())
        event = RawEvent("AccessControl", "Pulse", 0, {
            "CardNo": "AA000001", "UserID": "", "Door": 0, "ErrorCode": 16, "Method": 1,
            "Status": 0, "Type": "Entry", "UTC": now})
        built = [build_event(event)]
        with second.bus.subscribe() as live:
            granted = await first.online.answer(first.devices["catraca"], [event], built,
                                                [None])
            assert b'"auth": "true"' in granted
            row = await asyncio.wait_for(live.queue.get(), 5)  # first's decision, here
            assert row["source"] == "online"
        await asyncio.wait_for(until(
            lambda: second.online.history.last_direction("1") is not None), 5)
        denied = await second.online.answer(second.devices["catraca"], [event],
                                            [build_event(event)], [None])
        assert b'"auth": "false"' in denied  # anti-passback across instances
    finally:
        for hub in hubs:
            await hub.stop()


async def test_a_cluster_feed_wakes_on_notifications_and_polls_without(
        tmp_path: Path, database_url: str) -> None:
    """Each writer NOTIFYs after a committed batch and the feeds LISTEN: an event stored
    by one instance reaches the other long before its fallback read; a feed without
    notifications still gets every event by polling."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a cluster shares a PostgreSQL database")
    hubs = []
    for name in ("a", "b"):
        hub = Hub(HubConfig.model_validate({
            "hub": {"data_dir": str(tmp_path / name), "database_url": database_url,
                    "instance_id": name, "cluster": True},
            "people": {"auto_sync": False},
            "devices": [{"name": "porta", "host": "127.0.0.1", "mode": "push"}]}))
        hubs.append(hub)
    polling, listening = hubs
    assert polling.cluster is not None
    assert listening.cluster is not None
    polling.cluster.listen = False  # polls every poll_interval (0.2 s)
    listening.cluster.idle_interval = 60.0  # only a notification wakes it in this test
    for hub in hubs:
        await hub.start()
    try:
        async def until(condition: Callable[[], bool]) -> None:
            while not condition():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(until(lambda: listening.cluster is not None
                                     and listening.cluster.listening), 5)
        assert not polling.cluster.listening
        now = int(time.time())

        def door(index: int) -> list[Event]:
            return [build_event(RawEvent("DoorStatus", "Pulse", 0, {
                "Door": 0, "Name": f"Door{index}", "Status": "Open", "UTC": now + index}))]

        for index, (writer, reader) in enumerate(((polling, listening),
                                                  (listening, polling))):
            with reader.bus.subscribe() as live:
                await asyncio.sleep(0.3)  # the feed is waiting again
                started = time.monotonic()
                await writer.ingest(writer.devices["porta"], door(index), source="push")
                row = await asyncio.wait_for(live.queue.get(), 5)
                assert row["source"] == "push"
                assert time.monotonic() - started < 2.0
        assert listening.cluster.notifications >= 1
    finally:
        for hub in hubs:
            await hub.stop()
