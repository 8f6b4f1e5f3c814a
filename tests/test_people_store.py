"""The people tables on SQLite and PostgreSQL: people, cards, faces, sync rows, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from porteiro.access import CardState, Person, PersonType, SiteCard
from porteiro.codes import CardType
from porteiro.store.people import SyncRow

if TYPE_CHECKING:
    from porteiro.store import Store

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 100


def test_people_round_trip(store: Store) -> None:
    people = store.people
    ana = people.save(Person(user_id="1", name="Ana", type=PersonType.GUEST, guest_uses=3,
                             doors={"*": (0,), "garagem": (0, 1)}, time_sections=(1, 2),
                             external_id="crm-1",
                             cards=(SiteCard("ab12"),
                                    SiteCard("CD34", CardType.VIP, CardState.LOST))))
    assert ana.version == 1
    assert [c.card_no for c in ana.cards] == ["AB12", "CD34"]
    again = people.save(ana)
    assert again.version == 2
    assert again.created_at == ana.created_at
    (loaded,) = people.load_all()
    assert loaded.doors == {"*": (0,), "garagem": (0, 1)}
    assert loaded.cards[1] == SiteCard("CD34", CardType.VIP, CardState.LOST)
    assert loaded.external_id == "crm-1"
    assert people.card_owners(["ab12", "zz"]) == {"AB12": "1"}
    assert people.external_owner("crm-1") == "1"
    sha = people.set_face("1", JPEG)
    assert people.get_face("1") == JPEG
    stored = people.get("1")
    assert stored is not None
    assert (stored.face_sha256, stored.version) == (sha, 3)
    people.add_uses("1", 2)
    assert people.get("1").uses == 2  # type: ignore[union-attr]
    assert [p.user_id for p in people.page(search="an")] == ["1"]
    assert people.delete("1")
    assert people.get_face("1") is None
    assert people.card_owners(["AB12"]) == {}
    assert people.count() == 0


def test_many_people_in_one_transaction(store: Store) -> None:
    batch = [Person(user_id=str(i), cards=(SiteCard(f"{i:08X}"),)) for i in range(1200)]
    saved = store.people.save_many(batch)
    assert len(saved) == store.people.count() == 1200
    assert store.people.page(limit=5, after="5")[0].user_id == "50"
    with pytest.raises(sa.exc.IntegrityError):  # a card has one owner
        store.people.save(Person(user_id="x", cards=(SiteCard("00000001"),)))
    assert store.people.get("x") is None  # nothing half-written


def test_sync_rows_and_audit(store: Store) -> None:
    device_id = store.ensure_device("portaria")
    people = store.people
    people.set_sync(device_id, [SyncRow("1", "applied", "f1"),
                                SyncRow("2", "failed", None, 286064923, "photo too large")])
    people.set_sync(device_id, [SyncRow("1", "pending", "f1")])
    states = people.sync_states(device_id)
    assert states["1"].state == "pending"
    assert states["2"].error_code == 286064923
    assert [r["user_id"] for r in people.sync_list()] == ["2", "1"]  # failures first
    assert people.sync_counts() == {device_id: {"failed": 1, "pending": 1}}
    people.forget_sync(device_id, ["1", "2"])
    assert people.sync_states(device_id) == {}
    first = people.audit_add(actor="ops", address="10.0.0.1", action="people.create",
                             target="1", outcome="ok", detail={"cards": 1})
    people.audit_add(actor="ops", address=None, action="door.open", target="portaria",
                     outcome="failed")
    entries = people.audit_list()
    assert [e["action"] for e in entries] == ["door.open", "people.create"]
    assert entries[1]["detail"] == {"cards": 1}
    assert people.audit_list(before_id=first + 1, action="people.create")[0]["id"] == first
