"""The people API (CRUD, cards, faces, import/export), the audit log and remote opening,
against the real application (SQLite) and an emulated reader."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.routing import APIRoute

from porteiro.api import create_app
from porteiro.api.audit import WRITE_METHODS
from porteiro.codes import OpenMethod, RequestError
from porteiro.emulator import EmulatorHost
from porteiro.hub import load_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from pathlib import Path

    from fastapi import FastAPI

    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub

ADMIN = "admin-token-0001"
READER = "read-token-0001"
PASSWORD = "Segredo77"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x11" * 500 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
MAX_PHOTO = 4000


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_config(tmp_path: Path, device_port: int) -> Path:
    """A hub with an emulated reader (portaria), an unreachable one (garagem), one
    without credentials (recepcao), schedule 1, and an admin and a read-only token."""
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
language = "en"
[people]
auto_sync = false
max_photo_bytes = {MAX_PHOTO}
[[access.schedules]]
number = 1
windows = ["08:00-18:00"]
[[devices]]
name = "portaria"
host = "127.0.0.1"
port = {device_port}
password = "admin123"
[[devices]]
name = "garagem"
host = "127.0.0.1"
port = {_closed_port()}
password = "admin123"
[[devices]]
name = "recepcao"
host = "127.0.0.1"
[[tokens]]
name = "ops"
token = "{ADMIN}"
scope = "admin"
[[tokens]]
name = "dashboard"
token = "{READER}"
''', encoding="utf-8")
    return path


class Site:
    """The application with its lifespan entered, and the emulated reader."""

    def __init__(self, app: FastAPI, emulated: EmulatedDevice) -> None:
        self.app = app
        self.emulated = emulated

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    def client(self, token: str | None = ADMIN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://hub", headers=headers, timeout=10)

    async def audit(self, **params: Any) -> list[dict[str, Any]]:
        async with self.client() as http:
            reply = await http.get("/api/audit", params={"limit": 1000, **params})
        assert reply.status_code == 200, reply.text
        entries: list[dict[str, Any]] = reply.json()["entries"]
        return entries


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with EmulatorHost.start(devices=1) as host:
        emulated, url = host.endpoints[0]
        port = int(url.rsplit(":", 1)[1])
        app = create_app(load_config(site_config(tmp_path, port), env={}))
        async with app.router.lifespan_context(app):
            yield Site(app, emulated)


def _fields(reply: httpx.Response) -> list[str]:
    return [p["field"] for p in reply.json()["detail"]]


ANA = {"user_id": "1021", "name": "Ana Souza", "type": "general", "password": PASSWORD,
       "doors": {"portaria": [0], "*": [0, 1]}, "time_sections": [1],
       "valid_from": "2026-01-01T00:00:00-03:00", "valid_to": "2026-12-31T23:59:00-03:00",
       "external_id": "crm-77", "cards": ["12ea3004", {"card_no": "AB12CD34", "type": "vip"}]}


# -- people ---------------------------------------------------------------------------------


async def test_crud_round_trip(site: Site) -> None:
    async with site.client() as http:
        created = await http.post("/api/people", json=ANA)
        assert created.status_code == 201, created.text
        person = created.json()
        assert (person["user_id"], person["name"], person["has_password"]) == (
            "1021", "Ana Souza", True)
        assert [c["card_no"] for c in person["cards"]] == ["12EA3004", "AB12CD34"]
        assert person["doors"] == {"portaria": [0], "*": [0, 1]}
        assert person["valid_from"] == "2026-01-01T03:00:00Z"
        assert person["version"] == 1
        fetched = await http.get("/api/people/1021")
        assert fetched.json() == person
        for index in range(3):
            await http.post("/api/people", json={"user_id": f"30{index}", "name": f"P {index}"})
        first = (await http.get("/api/people", params={"limit": 2})).json()
        assert [p["user_id"] for p in first["people"]] == ["1021", "300"]
        assert (first["next_after"], first["total"]) == ("300", 4)
        second = (await http.get("/api/people", params={"limit": 2, "after": "300"})).json()
        assert [p["user_id"] for p in second["people"]] == ["301", "302"]
        assert second["next_after"] is None
        found = (await http.get("/api/people", params={"q": "souza"})).json()
        assert [p["user_id"] for p in found["people"]] == ["1021"]
        assert (await http.get("/api/people", params={"q": "crm-7"})).json()["people"]
        # PUT replaces (the password is kept when not given; cards not listed go away).
        replaced = await http.put("/api/people/1021", json={"name": "Ana S.",
                                                             "cards": ["12EA3004"]})
        assert replaced.status_code == 200, replaced.text
        assert (replaced.json()["name"], replaced.json()["has_password"]) == ("Ana S.", True)
        assert [c["card_no"] for c in replaced.json()["cards"]] == ["12EA3004"]
        assert replaced.json()["doors"] == [0]  # replaced: back to the default
        new = await http.put("/api/people/900", json={"name": "Novo"})
        assert new.status_code == 201
        patched = await http.patch("/api/people/1021", json={"status": "frozen",
                                                              "doors": [0, 1]})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["status"], patched.json()["name"], patched.json()["doors"]) == (
            "frozen", "Ana S.", [0, 1])
        assert patched.json()["version"] == 3
        assert site.hub.people.directory.get("1021") is not None
        gone = await http.delete("/api/people/1021")
        assert gone.status_code == 204
        missing = await http.get("/api/people/1021")
        assert missing.status_code == 404
        assert _fields(missing) == ["user_id"]
        assert site.hub.people.directory.get("1021") is None
        again = await http.delete("/api/people/1021")
        assert (again.status_code, _fields(again)) == (404, ["user_id"])
        everything = [created.text, fetched.text, replaced.text, patched.text,
                      (await http.get("/api/people")).text]
    for text in everything:  # write-only
        assert PASSWORD not in text
        assert "password_hash" not in text
        assert "device_password" not in text


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"user_id": "1", "cards": ["12-EA"]}, 422, "cards.0.card_no"),
    ({"user_id": "1", "cards": [{"card_no": "AB12", "status": "stolen"}]}, 422,
     "cards.0.status"),
    ({"user_id": "1", "doors": [0, 9]}, 422, "doors"),
    ({"user_id": "1", "doors": {"portaria": [-1]}}, 422, "doors"),
    ({"user_id": "1", "valid_from": "2026-06-01T00:00:00Z", "valid_to": "2026-01-01"}, 422,
     "valid_to"),
    ({"user_id": "1", "valid_to": "next tuesday"}, 422, "valid_to"),
    ({"user_id": "1", "time_sections": [7]}, 422, "time_sections.0"),
    ({"user_id": "1", "holiday_schedule": 9}, 422, "holiday_schedule"),
    ({"user_id": "1", "cards": ["OWNED001"]}, 409, "cards.0"),
    ({"user_id": "1", "cards": ["AB12", "ab12"]}, 422, "cards.1"),
    ({"user_id": "1", "external_id": "crm-owner"}, 409, "external_id"),
    ({"user_id": "owner"}, 409, "user_id"),
    ({"user_id": "bad id!"}, 422, "user_id"),
    ({"user_id": "1", "type": "superuser"}, 422, "type"),
    ({"user_id": "1", "password": "with space"}, 422, "password"),
    ({"user_id": "1", "shoe_size": 42}, 422, "shoe_size"),
    ({"name": "no id"}, 422, "user_id"),
    ([{"user_id": "1"}], 422, "body"),
])
async def test_validation_errors_name_the_field(site: Site, body: Any, status: int,
                                                field: str) -> None:
    async with site.client() as http:
        owner = await http.post("/api/people", json={"user_id": "owner", "cards": ["OWNED001"],
                                                     "external_id": "crm-owner"})
        assert owner.status_code == 201
        reply = await http.post("/api/people", json=body)
        assert reply.status_code == status, reply.text
        assert field in _fields(reply), reply.text
        assert all(p["message"] for p in reply.json()["detail"])
        assert (await http.get("/api/people/1")).status_code == 404  # nothing stored


async def test_bodies_that_are_not_json_and_patch_rules(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "7", "name": "Sete"})
        for content in (b"{not json", b"", b'"text"'):
            reply = await http.post("/api/people", content=content,
                                    headers={"Content-Type": "application/json"})
            assert reply.status_code == 422
            assert _fields(reply) == ["body"]
        rename = await http.patch("/api/people/7", json={"user_id": "8"})
        assert (rename.status_code, _fields(rename)) == (422, ["user_id"])
        bad = await http.patch("/api/people/7", json={"cards": ["!"]})
        assert (bad.status_code, _fields(bad)) == (422, ["cards.0.card_no"])
        unknown = await http.patch("/api/people/nobody", json={"name": "x"})
        assert (unknown.status_code, _fields(unknown)) == (404, ["user_id"])
        mismatch = await http.put("/api/people/7", json={"user_id": "9"})
        assert (mismatch.status_code, _fields(mismatch)) == (422, ["user_id"])
        huge = await http.post("/api/people", content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                               headers={"Content-Type": "application/json"})
        assert huge.status_code == 413


async def test_cards(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "1", "cards": ["AAAA0001"]})
        await http.post("/api/people", json={"user_id": "2", "cards": ["BBBB0002"]})
        added = await http.post("/api/people/1/cards", json={"card_no": "cccc0003",
                                                             "type": "guest"})
        assert added.status_code == 201, added.text
        assert [(c["card_no"], c["type"]) for c in added.json()["cards"]] == [
            ("AAAA0001", "ordinary"), ("CCCC0003", "guest")]
        again = await http.post("/api/people/1/cards", json={"card_no": "CCCC0003"})
        assert (again.status_code, _fields(again)) == (409, ["card_no"])
        taken = await http.post("/api/people/1/cards", json={"card_no": "BBBB0002"})
        assert (taken.status_code, _fields(taken)) == (409, ["card_no"])
        assert "belongs to person 2" in taken.json()["detail"][0]["message"]
        invalid = await http.post("/api/people/1/cards", json={"card_no": "no way"})
        assert (invalid.status_code, _fields(invalid)) == (422, ["card_no"])
        nobody = await http.post("/api/people/3/cards", json={"card_no": "DDDD0004"})
        assert (nobody.status_code, _fields(nobody)) == (404, ["user_id"])
        removed = await http.delete("/api/people/1/cards/aaaa0001")
        assert removed.status_code == 204
        person = (await http.get("/api/people/1")).json()
        assert [c["card_no"] for c in person["cards"]] == ["CCCC0003"]
        not_there = await http.delete("/api/people/1/cards/AAAA0001")
        assert (not_there.status_code, _fields(not_there)) == (404, ["card_no"])
    assert site.hub.people.directory.card_owner("CCCC0003") == "1"
    assert site.hub.people.directory.card_owner("AAAA0001") is None


async def test_faces(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "5"})
        assert (await http.get("/api/people/5/face")).status_code == 404
        stored = await http.put("/api/people/5/face", content=JPEG,
                                headers={"Content-Type": "image/jpeg"})
        assert stored.status_code == 200, stored.text
        assert stored.json()["has_face"] is True
        photo = await http.get("/api/people/5/face")
        assert (photo.status_code, photo.headers["content-type"], photo.content) == (
            200, "image/jpeg", JPEG)
        png = await http.put("/api/people/5/face", content=PNG,
                             headers={"Content-Type": "image/png"})
        assert (png.status_code, _fields(png)) == (415, ["photo"])
        big = await http.put("/api/people/5/face", content=JPEG[:4] + b"\x00" * MAX_PHOTO,
                             headers={"Content-Type": "image/jpeg"})
        assert (big.status_code, _fields(big)) == (413, ["photo"])
        empty = await http.put("/api/people/5/face", content=b"")
        assert (empty.status_code, _fields(empty)) == (422, ["photo"])
        nobody = await http.put("/api/people/6/face", content=JPEG)
        assert (nobody.status_code, _fields(nobody)) == (404, ["user_id"])
        assert (await http.get("/api/people/5/face")).content == JPEG  # the refusals kept it
        assert (await http.delete("/api/people/5/face")).status_code == 204
        assert (await http.get("/api/people/5/face")).status_code == 404
        assert (await http.get("/api/people/5")).json()["has_face"] is False
        assert (await http.delete("/api/people/5/face")).status_code == 404


# -- import and export ---------------------------------------------------------------------

CSV_FILE = b"""user_id,name,type,doors,time_sections,valid_to,cards
100,Ana,general,0;1,1,2026-12-31T23:00:00Z,AA000100
101,Bruno,vip,portaria:0;garagem:1,255,,BB000101;BB000102
102,Carla,guest,0,255,,12-34
103,Davi,patrol,0,255,,
"""


async def test_import_csv_and_json(site: Site) -> None:
    async with site.client() as http:
        first = await http.post("/api/people/import", params={"format": "csv"},
                                content=CSV_FILE)
        assert first.status_code == 200, first.text
        report = first.json()
        assert (report["rows"], report["created"], report["updated"], report["unchanged"]) == (
            4, 3, 0, 0)
        assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "cards.0.card_no")]
        assert not report["errors"][0]["message"].startswith("Value error")
        bruno = (await http.get("/api/people/101")).json()
        assert bruno["doors"] == {"portaria": [0], "garagem": [1]}
        assert [c["card_no"] for c in bruno["cards"]] == ["BB000101", "BB000102"]
        again = (await http.post("/api/people/import", params={"format": "csv"},
                                 content=CSV_FILE)).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
        assert len(again["errors"]) == 1
        assert (await http.get("/api/people/100")).json()["version"] == 1  # untouched
        rows = [{"user_id": "100", "name": "Ana Maria", "doors": [0, 1], "time_sections": [1],
                 "valid_to": "2026-12-31T23:00:00Z", "cards": ["AA000100"]},
                {"user_id": "104", "name": "Eva", "cards": ["BB000101"]},  # Bruno's card
                {"user_id": "105", "type": "martian"},
                "not an object",
                {"user_id": "106", "name": "Fábio"}]
        from_json = (await http.post("/api/people/import", content=json.dumps(rows),
                                     headers={"Content-Type": "application/json"})).json()
        assert (from_json["created"], from_json["updated"], from_json["unchanged"]) == (1, 1, 0)
        assert [(e["row"], e["field"]) for e in from_json["errors"]] == [
            (2, "cards.0"), (3, "type"), (4, "row")]
        wrapped = await http.post("/api/people/import", params={"format": "json"},
                                  content=json.dumps({"people": rows[:1]}))
        assert wrapped.json()["unchanged"] == 1
        assert (await http.get("/api/people/100")).json()["name"] == "Ana Maria"
        for content, fmt, why in [(b"{broken", "json", "not JSON"),
                                  (b'{"people": 3}', "json", "a list"),
                                  (b"name,type\nAna,general\n", "csv", "user_id"),
                                  (b"user_id,name\n1,\xff\xfe\n", "csv", "UTF-8")]:
            bad = await http.post("/api/people/import", params={"format": fmt},
                                  content=content)
            assert bad.status_code == 400, bad.text
            assert _fields(bad) == ["file"]
            assert why in bad.json()["detail"][0]["message"]
        wrong = await http.post("/api/people/import", params={"format": "xml"}, content=b"x")
        assert (wrong.status_code, _fields(wrong)) == (422, ["format"])
    assert sorted(site.hub.people.directory.people) == ["100", "101", "103", "106"]


async def test_export_round_trip(site: Site) -> None:
    async with site.client() as http:
        assert (await http.post("/api/people", json=ANA)).status_code == 201
        await http.post("/api/people", json={"user_id": "2", "name": "Zé, o \"Bom\"",
                                             "type": "guest", "guest_uses": 3,
                                             "cards": [{"card_no": "EE000001",
                                                        "status": "lost"}]})
        await http.put("/api/people/2/face", content=JPEG)
        before = {p["user_id"]: p for p in (await http.get("/api/people")).json()["people"]}
        as_json = await http.get("/api/people/export")
        as_csv = await http.get("/api/people/export", params={"format": "csv"})
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in as_csv.headers["content-disposition"]
        for export in (as_json.text, as_csv.text):
            assert PASSWORD not in export
            assert "password" not in export
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["user_id"] for r in rows] == ["1021", "2"]
        assert rows[0]["doors"] == "portaria:0;*:0;*:1"
        exported = as_json.json()["people"]
        assert exported[0]["valid_from"] == "2026-01-01T03:00:00Z"
        again = (await http.post("/api/people/import", params={"format": "json"},
                                 content=as_json.content)).json()
        assert (again["unchanged"], again["errors"]) == (2, []), again
        # Lost, then restored from the export: the same person (the password is not in
        # exports, so it is gone).
        await http.delete("/api/people/1021")
        restored = (await http.post("/api/people/import", params={"format": "json"},
                                    content=as_json.content)).json()
        assert (restored["created"], restored["unchanged"]) == (1, 1)
        after = (await http.get("/api/people/1021")).json()
    skip = {"version", "created_at", "updated_at", "has_password"}
    assert {k: v for k, v in after.items() if k not in skip} == {
        k: v for k, v in before["1021"].items() if k not in skip}
    assert before["2"]["has_face"] is True


async def test_csv_export_round_trip_keeps_card_type_and_status(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "2", "cards": [
            {"card_no": "EE000001", "status": "lost", "type": "vip"}]})
        await http.post("/api/people", json={"user_id": "3", "cards": ["EE000002"]})
        as_csv = await http.get("/api/people/export", params={"format": "csv"})
        again = (await http.post("/api/people/import", params={"format": "csv"},
                                 content=as_csv.content)).json()
        assert (again["unchanged"], again["updated"]) == (2, 0)


# -- audit -----------------------------------------------------------------------------------


async def test_every_write_is_audited_without_secrets(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json=ANA)
        await http.post("/api/people", json={"user_id": "2", "cards": ["12EA3004"]})  # 409
        await http.post("/api/people", json={"user_id": "3", "cards": ["!!"], "password": "x y"})
        await http.patch("/api/people/1021", json={"name": "Ana S.", "password": "Nova9999"})
        await http.post("/api/people/1021/cards", json={"card_no": "FF000001"})
        await http.delete("/api/people/1021/cards/FF000001")
        await http.delete("/api/people/1021/cards/FF000001")  # 404
        await http.put("/api/people/1021/face", content=JPEG)
        await http.put("/api/people/1021/face", content=PNG)  # 415
        await http.delete("/api/people/1021/face")
        await http.post("/api/people/import", params={"format": "csv"}, content=CSV_FILE)
        await http.post("/api/people/import", params={"format": "json"}, content=b"[")  # 400
        await http.delete("/api/people/1021")
        await http.delete("/api/people/nobody")  # 404
        await http.post("/api/admin/prune")
    entries = await site.audit()
    assert [(e["action"], e["target"], e["outcome"]) for e in reversed(entries)] == [
        ("people.create", "1021", "ok"),
        ("people.create", "2", "refused"),
        ("people.create", "3", "refused"),
        ("people.patch", "1021", "ok"),
        ("people.card.add", "1021", "ok"),
        ("people.card.delete", "1021", "ok"),
        ("people.card.delete", "1021", "refused"),
        ("people.face.set", "1021", "ok"),
        ("people.face.set", "1021", "refused"),
        ("people.face.delete", "1021", "ok"),
        ("people.import", None, "ok"),
        ("people.import", None, "refused"),
        ("people.delete", "1021", "ok"),
        ("people.delete", "nobody", "refused"),
        ("admin.prune", None, "ok"),
    ]
    assert {(e["actor"], e["address"]) for e in entries} == {("ops", "127.0.0.1")}
    by_action = {(e["action"], e["outcome"]): e for e in entries}
    created = by_action["people.create", "ok"]
    assert created["detail"]["input"]["password"] == "(hidden)"
    assert created["detail"]["input"]["cards"][0] == "****3004"
    assert created["at"].endswith("Z")
    conflict = next(e for e in entries if e["target"] == "2")
    assert conflict["detail"]["status"] == 409
    assert "belongs to person 1021" in conflict["detail"]["reason"]
    assert conflict["detail"]["problems"][0]["field"] == "cards.0"
    assert by_action["people.face.set", "ok"]["detail"]["bytes"] == len(JPEG)
    assert by_action["people.face.set", "refused"]["detail"]["status"] == 415
    imported = by_action["people.import", "ok"]["detail"]
    assert (imported["created"], imported["errors"], imported["error_rows"]) == (
        3, 1, [{"row": 3, "field": "cards.0.card_no"}])
    assert by_action["admin.prune", "ok"]["detail"] == {"events_deleted": 0,
                                                        "snapshots_deleted": 0}
    text = json.dumps(entries).replace("e.g. 12EA3004", "").replace(
        "ex. 12EA3004", "")  # the validator's own example, in both languages
    for secret in (PASSWORD, "Nova9999", "12EA3004", "AB12CD34", "FF000001", "AA000100",
                   "BB000101", "JFIF"):
        assert secret.lower() not in text.lower(), secret


async def test_audit_filters_and_pages(site: Site) -> None:
    async with site.client() as http:
        for index in range(5):
            await http.post("/api/people", json={"user_id": str(index)})
        await http.patch("/api/people/3", json={"name": "Três"})
        start = time.time()
        await http.delete("/api/people/4")
    async with site.client(READER) as reader:
        assert (await reader.get("/api/audit")).status_code == 403
    assert [e["target"] for e in await site.audit(action="people.create")] == [
        "4", "3", "2", "1", "0"]
    assert {e["action"] for e in await site.audit(action="people.*")} == {
        "people.create", "people.patch", "people.delete"}
    assert [e["action"] for e in await site.audit(target="3")] == [
        "people.patch", "people.create"]
    assert await site.audit(actor="someone else") == []
    assert [e["action"] for e in await site.audit(since=start)] == ["people.delete"]
    async with site.client() as http:
        ids: list[int] = []
        params: dict[str, Any] = {"limit": 3}
        sizes = []
        while True:
            page = (await http.get("/api/audit", params=params)).json()
            sizes.append(len(page["entries"]))
            ids += [e["id"] for e in page["entries"]]
            if page["next_before_id"] is None:
                break
            params["before_id"] = page["next_before_id"]
        assert sizes == [3, 3, 1]
        assert ids == sorted(set(ids), reverse=True)
        assert len(ids) == 7


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, also inside included routers (FastAPI >= 0.16x keeps them
    nested)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(nested.routes)
        elif isinstance(route, APIRoute):
            yield route


def _write_routes(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    found = [(method, route.path, route.openapi_extra or {})
             for route in _routes(app.routes) if route.path.startswith("/api")
             for method in sorted(route.methods & WRITE_METHODS)]
    assert len(found) >= 12
    spec = app.openapi()["paths"]
    documented = {(m.upper(), p) for p, ops in spec.items() for m in ops
                  if m.upper() in WRITE_METHODS}
    assert documented == {(m, p) for m, p, _ in found}  # the walk missed nothing
    return found


_SAMPLE = {"user_id": "1021", "card_no": "12EA3004", "name": "portaria", "door": "0"}


async def test_read_only_token_is_refused_on_every_write_route(site: Site) -> None:
    routes = _write_routes(site.app)
    audited = {(m, p) for m, p, extra in routes if "x-audit-action" in extra}
    assert {("POST", "/api/people"), ("PUT", "/api/people/{user_id}"),
            ("PATCH", "/api/people/{user_id}"), ("DELETE", "/api/people/{user_id}"),
            ("POST", "/api/people/{user_id}/cards"),
            ("DELETE", "/api/people/{user_id}/cards/{card_no}"),
            ("PUT", "/api/people/{user_id}/face"), ("DELETE", "/api/people/{user_id}/face"),
            ("POST", "/api/people/import"), ("POST", "/api/devices/{name}/doors/{door}/open"),
            ("POST", "/api/admin/prune")} <= audited
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "1021", "cards": ["12EA3004"]})
    before = len(await site.audit())
    async with site.client(READER) as reader, site.client(None) as anonymous:
        for method, path, _extra in routes:
            url = path.format(**_SAMPLE)
            refused = await reader.request(method, url, json={"user_id": "1021"})
            assert refused.status_code == 403, (method, path, refused.text)
            assert "admin" in refused.text
            nobody = await anonymous.request(method, url)
            assert nobody.status_code == 401, (method, path)
    assert len(site.emulated.state.records) == 0  # no door was opened
    assert site.hub.people.directory.get("1021") is not None
    entries = (await site.audit())[:-before] if before else await site.audit()
    refusals = {(e["action"], e["target"]) for e in entries
                if (e["actor"], e["outcome"]) == ("dashboard", "refused")}
    for method, path, extra in routes:
        if "x-audit-action" in extra:
            target = "/".join(v for k, v in _SAMPLE.items() if "{" + k + "}" in path
                              and k != "card_no") or None
            assert (extra["x-audit-action"], target) in refusals, (method, path)
    assert all(e["detail"]["status"] == 403 for e in entries if e["actor"] == "dashboard")


async def test_openapi_documents_bodies_and_audit_actions(site: Site) -> None:
    async with site.client() as http:
        spec = (await http.get("/openapi.json")).json()
    create = spec["paths"]["/api/people"]["post"]
    assert create["x-audit-action"] == "people.create"
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert "cards" in schema["properties"]
    assert "$defs" not in json.dumps(schema)
    face = spec["paths"]["/api/people/{user_id}/face"]["put"]["requestBody"]
    assert "image/jpeg" in face["content"]
    door = spec["paths"]["/api/devices/{name}/doors/{door}/open"]["post"]
    assert door["x-audit-action"] == "door.open"


# -- remote opening -------------------------------------------------------------------------


async def test_door_open_through_the_device_is_audited(site: Site) -> None:
    async with site.client() as http:
        opened = await http.post("/api/devices/portaria/doors/0/open")
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert (body["device"], body["door"], body["opened"], body["outcome"]) == (
            "portaria", 0, True, "opened")
        assert body["error"] is None
        record = site.emulated.state.records[-1]
        assert record["Method"] == int(OpenMethod.REMOTE)
        refused = await http.post("/api/devices/portaria/doors/3/open",
                                  params={"lang": "pt"})
        assert refused.status_code == 502, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["name"]) == (int(RequestError.INVALID_ARGS),
                                                  "INVALID_ARGS")
        assert error["text"] == RequestError.INVALID_ARGS.text("pt")
        assert refused.json()["detail"][0]["field"] == "door"
        unreachable = await http.post("/api/devices/garagem/doors/0/open")
        assert (unreachable.status_code, unreachable.json()["outcome"]) == (502, "unreachable")
        no_password = await http.post("/api/devices/recepcao/doors/0/open")
        assert (no_password.status_code, no_password.json()["outcome"]) == (
            409, "no_credentials")
        unknown = await http.post("/api/devices/nowhere/doors/0/open")
        assert (unknown.status_code, _fields(unknown)) == (404, ["name"])
        out_of_range = await http.post("/api/devices/portaria/doors/8/open")
        assert (out_of_range.status_code, _fields(out_of_range)) == (422, ["door"])
        not_a_number = await http.post("/api/devices/portaria/doors/one/open")
        assert (not_a_number.status_code, _fields(not_a_number)) == (422, ["door"])
    mqtt = await site.hub.open_door("portaria", 0, "mqtt")  # the Home Assistant button
    assert (mqtt.ok, str(mqtt)) == (True, "opened")
    entries = await site.audit(action="door.open")
    assert [(e["actor"], e["target"], e["outcome"], e["detail"].get("result"))
            for e in reversed(entries)] == [
        ("ops", "portaria/0", "ok", "opened"),
        ("ops", "portaria/3", "failed", "refused"),
        ("ops", "garagem/0", "failed", "unreachable"),
        ("ops", "recepcao/0", "refused", "no_credentials"),
        ("ops", "nowhere/0", "refused", None),
        ("ops", "portaria/8", "refused", None),
        ("ops", "portaria/one", "refused", None),
        ("mqtt", "portaria/0", "ok", "opened"),
    ]
    first = entries[-1]
    assert first["id"] == body["audit_id"]
    assert first["address"] == "127.0.0.1"
    assert entries[-2]["detail"]["error_code"] == int(RequestError.INVALID_ARGS)
    assert "INVALID_ARGS" in entries[-2]["detail"]["error"]
    assert entries[-5]["detail"]["status"] == 404
    assert entries[0]["address"] is None


async def test_door_open_is_rate_limited_per_device(site: Site) -> None:
    async with site.client() as http:
        for _ in range(5):
            assert (await http.post("/api/devices/portaria/doors/0/open")).status_code == 200
        limited = await http.post("/api/devices/portaria/doors/0/open")
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 10
        assert _fields(limited) == ["door"]
        other = await http.post("/api/devices/garagem/doors/0/open")
        assert other.status_code == 502  # another device: its own budget
    opened = [r for r in site.emulated.state.records if r["Method"] == int(OpenMethod.REMOTE)]
    assert len(opened) == 5
    entries = await site.audit(action="door.open", target="portaria/0")
    assert [e["outcome"] for e in entries][:2] == ["refused", "ok"]
    assert entries[0]["detail"]["status"] == 429


async def test_parallel_card_changes_are_not_lost(site: Site) -> None:
    async with site.client() as http:
        await http.post("/api/people", json={"user_id": "1"})
        replies = await asyncio.gather(*(
            http.post("/api/people/1/cards", json={"card_no": f"CA{n:06d}"})
            for n in range(10)))
        assert {r.status_code for r in replies} == {201}
        person = (await http.get("/api/people/1")).json()
    assert len(person["cards"]) == 10
