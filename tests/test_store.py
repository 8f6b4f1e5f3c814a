"""The store on SQLite and PostgreSQL: migrations, exactly-once writes, group commit."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from porteiro.events import Event, build_event, event_from_record
from porteiro.store import Store, Writer, event_key, event_row
from porteiro.store.identity import Occurrences
from porteiro.store.schema import events, metadata, snapshots
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from pathlib import Path

ACCESS = {"CardName": "Ana", "CardNo": "12ea3004", "CardType": 0, "CreateTime": 1790715000,
          "Door": 0, "ErrorCode": 0, "Method": 1, "ReaderID": "1", "Status": 1,
          "Type": "Entry", "UTC": 1790715000, "UserID": "1021", "UserType": 0}


def test_migrated_schema_matches_the_tables(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == set(table.columns.keys()), table.name
    store.migrate()  # idempotent


async def test_exactly_once_and_live_equals_backfill(store: Store) -> None:
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("portaria", host="10.0.0.5", mode="push")
        live = build_event(RawEvent("AccessControl", "Pulse", 0, ACCESS))
        first = await writer.write(device_id, "portaria", [live], source="push",
                                   images=[b"\xff\xd8\xff jpeg"])
        assert (first.inserted, first.duplicates) == (1, 0)
        resent = await writer.write(device_id, "portaria", [live], source="push")
        assert (resent.inserted, resent.duplicates) == (0, 1)
        record = event_from_record({"RecNo": "77", "CreateTime": "1790715000",
                                    "CardNo": "12EA3004", "UserID": "1021", "Status": "1",
                                    "Type": "Entry", "Method": "1", "Door": "0",
                                    "ErrorCode": "0", "ReaderID": "1"})
        assert event_key("portaria", record) == event_key("portaria", live)
        backfill = await writer.write(device_id, "portaria", [record], source="backfill")
        assert backfill.duplicates == 1
        (row,) = store.list_events()
        assert row["rec_no"] == 77  # the backfill filled in the record number
        assert row["card_no"] == "12ea3004"
        other_second = build_event(RawEvent("AccessControl", "Pulse", 0,
                                            {**ACCESS, "UTC": 1790715001,
                                             "CreateTime": 1790715001}))
        other_user = build_event(RawEvent("AccessControl", "Pulse", 0,
                                          {**ACCESS, "UserID": "2"}))
        more = await writer.write(device_id, "portaria", [other_second, other_user],
                                  source="push")
        assert more.inserted == 2
        assert store.count_events(device_id) == 3
    finally:
        writer.close()


async def test_group_commit_under_concurrency(store: Store) -> None:
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("garagem")

        async def push(i: int) -> int:
            data = {**ACCESS, "UTC": 1790800000 + i, "CreateTime": 1790800000 + i}
            event = build_event(RawEvent("AccessControl", "Pulse", 0, data))
            result = await writer.write(device_id, "garagem", [event], source="push")
            return result.inserted

        results = await asyncio.gather(*(push(i) for i in range(300)))
        assert sum(results) == 300
        assert store.count_events(device_id) == 300
        assert writer.batches < 300  # concurrent writes shared commits
    finally:
        writer.close()


def test_upgrading_an_old_sqlite_database_keeps_every_row(tmp_path: Path) -> None:
    """0004 rebuilds the events table (SQLite's ALTER): snapshots pointing at events
    must survive it (foreign keys would otherwise cascade the drop)."""
    from importlib.resources import files  # noqa: PLC0415

    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(files("porteiro.store") / "migrations"))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    device = store.ensure_device("d")
    with store.engine.begin() as conn:
        conn.execute(events.insert().values(
            device_id=device, event_key="k", code="BreakIn", kind="alarm", action="Pulse",
            idx=0, utc_offset_s=0, source="push", received_at=1.0, data="{}"))
        conn.execute(snapshots.insert().values(event_id=1, content=b"\xff\xd8"))
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


async def test_event_ids_are_never_reused(store: Store) -> None:
    """Sinks and live streams keep ids as positions: retention emptying the table must
    not hand the same ids out again."""
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("d")
        first = await writer.write(device_id, "d", [build_event(RawEvent(
            "BreakIn", "Pulse", 0, {"UTC": 1790000000}))], source="push")
        assert store.prune(events_before=time.time() + 60) == (1, 0)
        again = await writer.write(device_id, "d", [build_event(RawEvent(
            "BreakIn", "Pulse", 0, {"UTC": 1790000001}))], source="push")
        assert again.ids[0] is not None
        assert first.ids[0] is not None
        assert again.ids[0] > first.ids[0]
    finally:
        writer.close()


async def test_writer_ids_with_duplicates_and_failures(store: Store) -> None:
    """A batch with duplicates among new events gets the right ids (read back by id
    range), a failed commit fails its waiter and leaves the writer working."""
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("portaria", host="10.0.0.5", mode="push")

        def access(second: int) -> Event:
            return build_event(RawEvent("AccessControl", "Pulse", 0,
                                        {**ACCESS, "UTC": second, "CreateTime": second}))

        old = access(1790715000)
        first = await writer.write(device_id, "portaria", [old], source="push")
        new = [access(1790715001), access(1790715002)]
        mixed = await writer.write(device_id, "portaria", [new[0], old, new[1]],
                                   source="push")
        assert (mixed.inserted, mixed.duplicates) == (2, 1)
        assert mixed.ids[1] is None
        assert first.ids[0] is not None
        by_id = {row["id"]: row for row in store.list_events()}
        for event_id, second in ((mixed.ids[0], 1790715001), (mixed.ids[2], 1790715002)):
            assert event_id is not None
            assert by_id[event_id]["ts"] == second
        with pytest.raises(Exception, match=r"(?i)foreign key"):
            await writer.write(device_id + 999, "portaria", [access(1790715003)],
                               source="push")
        assert writer.failures == 1
        after = await writer.write(device_id, "portaria", [access(1790715004)],
                                   source="push")
        assert after.inserted == 1
        assert store.count_events(device_id) == 4
    finally:
        writer.close()


async def test_one_event_twice_in_one_batch_with_its_image(store: Store) -> None:
    """The same event twice in one batch, each copy with its image (a reader resending
    a push while the first is still waiting for its commit): stored once with one
    snapshot, and the batch -- another device's event in it too -- commits."""
    writer = Writer(store)
    writer.start()
    try:
        device_id = store.ensure_device("portaria", host="10.0.0.5", mode="push")
        other_id = store.ensure_device("garagem", host="10.0.0.6", mode="push")
        face = build_event(RawEvent("AccessControl", "Pulse", 0, {**ACCESS, "Method": 15}))
        other = build_event(RawEvent("AccessControl", "Pulse", 0, {**ACCESS, "UserID": "7"}))
        results = await asyncio.gather(
            writer.write(device_id, "portaria", [face], source="push", images=[b"\xff\xd8 1"]),
            writer.write(device_id, "portaria", [face], source="push", images=[b"\xff\xd8 2"]),
            writer.write(other_id, "garagem", [other], source="push", images=[b"\xff\xd8 3"]))
        assert sorted((r.inserted, r.duplicates) for r in results) == [(0, 1), (1, 0), (1, 0)]
        assert store.count_events() == 2
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(snapshots)
                                ).scalar() == 2
        assert writer.failures == 0
    finally:
        writer.close()


def test_event_keys_are_pinned() -> None:
    """Keys are stored: the same event must hash to the same key in every release."""
    access = build_event(RawEvent("AccessControl", "Pulse", 0, ACCESS))
    door = build_event(RawEvent("DoorStatus", "Pulse", 1, {"Door": 0, "Name": "Door1",
                                                           "Status": "Open",
                                                           "UTC": 1790715000}))
    untimed = build_event(RawEvent("DoorNotClosed", "Stop", 0, {"Name": "SS-1"}))
    fraction = build_event(RawEvent("BreakIn", "Pulse", 0, {"Name": "SS-1",
                                                            "UTC": 1790715000.5}))
    assert untimed.timestamp is None
    expected = {
        "access": "baa71222fe147c5125c90f9089a105893177dfda60314ab9f6fb1f72c55d2ee8",
        "door": "f0f22f7e8b670358f7a47da46905f786991675f30fe8f8a736e7f319e0e6abac",
        "untimed": "acccf51b5e6c787629c96f05bdd3172e3d1679308cfea8728154faa1b9900500",
        "untimed_received": "43a8b05dd76a79a46b315659f3355fab90bd582b3dd42b8288709f4f7f898ff0",
        "access_2": "b109333a78f0c17d0fcf2ec2140a7ba7f7f18a41d9e717c3c09dcf24275857e5",
        "fraction": "85a2bde34a4cae405d69a08e4c9d53d0bde45832e04970653e230dd800b38c58",
    }
    assert event_key("portaria", access) == expected["access"]
    assert event_key("portaria", door) == expected["door"]
    assert event_key("portaria", untimed) == expected["untimed"]
    assert event_key("portaria", untimed, received=1790715123.9) == expected["untimed_received"]
    assert event_key("portaria", access, 2) == expected["access_2"]
    assert event_key("portaria", fraction) == expected["fraction"]
    counter = Occurrences()
    assert [counter.key("portaria", access) for _ in range(2)] == [expected["access"],
                                                                    expected["access_2"]]
    rows = [event_row(1, "portaria", e, source="push", offset_s=0, received=1790715999.0)
            for e in (access, door, untimed)]
    assert [r["event_key"] for r in rows] == [expected["access"], expected["door"],
                                              expected["untimed"]]


def test_presentation_key_ignores_the_verdict() -> None:
    """A Modo Online request and the reader's own record of it share a key whatever
    each decided; another second, card, door or reader is another presentation."""
    from porteiro.events import AccessControlEvent  # noqa: PLC0415
    from porteiro.store.identity import PresentationOccurrences, presentation_key  # noqa: PLC0415

    def access(**changes: object) -> AccessControlEvent:
        event = build_event(RawEvent("AccessControl", "Pulse", 0, {**ACCESS, **changes}))
        assert isinstance(event, AccessControlEvent)
        return event

    request = access()
    key = presentation_key("portaria", request)
    assert presentation_key("portaria", access(Status=0, ErrorCode=16, Method=15)) == key
    assert presentation_key("portaria", access(CardNo="12EA3004")) == key
    others = [access(UTC=1790715001), access(CardNo="99"), access(Door=1),
              access(Type="Exit"), access(UserID="7")]
    assert key not in {presentation_key("portaria", e) for e in others}
    assert presentation_key("recepcao", request) != key
    assert key != event_key("portaria", request)
    numbered = PresentationOccurrences()
    assert numbered.key("portaria", request) == key
    assert numbered.key("portaria", access(Status=0)) == presentation_key("portaria", request, 2)
    door = build_event(RawEvent("DoorStatus", "Pulse", 0, {"Door": 0, "Status": "Open",
                                                           "UTC": 1790715000}))
    assert numbered.key("portaria", door) == event_key("portaria", door)
