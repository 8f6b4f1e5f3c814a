"""The REST API: events (filters, pages, CSV, snapshots), live stream, devices, codes,
health, metrics and tokens; the store queries behind it on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import re
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from porteiro.api import create_app
from porteiro.api.logs import RedactQuery
from porteiro.api.params import decode_cursor, encode_cursor, local_midnight, parse_when
from porteiro.events import build_event
from porteiro.hub import load_config
from porteiro.store import Store, Writer
from porteiro.store.store import EventQuery
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from fastapi import FastAPI

    from porteiro.hub import Hub

ADMIN = "admin-token-0001"
READER = "read-token-0001"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF fake snapshot \xff\xd9"
NOW = int(time.time())
OLD = NOW - 5 * 86400  # the bulk of the events: well before today
TZ = ZoneInfo("America/Sao_Paulo")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_text(tmp_path: Path, *, tokens: bool = True, listen: str = "127.0.0.1:8000"
                 ) -> str:
    text = f'''[hub]
listen = "{listen}"
data_dir = "{tmp_path / 'data'}"
language = "en"
[[devices]]
name = "a"
host = "127.0.0.1"
[[devices]]
name = "b"
host = "127.0.0.1"
local_epochs = true
'''
    if tokens:
        text += f'''[[tokens]]
name = "ops"
token = "{ADMIN}"
scope = "admin"
[[tokens]]
name = "dashboard"
token = "{READER}"
'''
    return text


def _app(tmp_path: Path, **kwargs: Any) -> FastAPI:
    path = tmp_path / "porteiro.toml"
    path.write_text(_config_text(tmp_path, **kwargs), encoding="utf-8")
    return create_app(load_config(path, env={}))


class Running:
    """A hub served by uvicorn on a loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.task: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        await asyncio.wait_for(self._started(), 10)

    async def _started(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)

    def client(self, token: str | None = ADMIN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    hub = Running(_app(tmp_path))
    await hub.start()
    yield hub
    await hub.stop()


def _access(card: str, utc: int, *, user: str = "1000", granted: bool = True,
            error: int = 0, method: int = 1) -> RawEvent:
    return RawEvent("AccessControl", "Pulse", 0, {
        "CardNo": card, "UserID": user, "Status": 1 if granted else 0,
        "ErrorCode": error, "Method": method, "Door": 0, "Type": "Entry",
        "UTC": utc, "CreateTime": utc, "ReaderID": "1", "CardType": 0, "UserType": 0})


async def _push(http: httpx.AsyncClient, device: str, events: list[RawEvent],
                image: bytes | None = None) -> None:
    body, ctype = format_push_body(events, time="01-01-2026 00:00:00", image=image)
    reply = await http.post(f"/notification/{device}", content=body,
                            headers={"Content-Type": ctype})
    assert (reply.status_code, reply.text) == (200, "OK")


async def _load(http: httpx.AsyncClient) -> None:
    """19 events: 12 access on a (3 denied), 4 access on b, 2 door on a, 1 alarm on b."""
    await _push(http, "a", [
        _access(f"CA{i:06X}", OLD + i * 60, user=str(1000 + i % 3), granted=i % 4 != 0,
                error=0 if i % 4 else 16, method=1 if i % 2 else 15) for i in range(12)])
    await _push(http, "b", [_access(f"CB{i:06X}", OLD + i * 60) for i in range(4)])
    await _push(http, "a", [RawEvent("DoorStatus", "Pulse", 0, {
        "Door": 0, "Name": "Door1", "Status": status, "UTC": OLD + 3600 + i})
        for i, status in enumerate(("Open", "Close"))])
    await _push(http, "b", [RawEvent("BreakIn", "Pulse", 0, {"Name": "SS-1", "UTC": OLD})])


async def _ids(http: httpx.AsyncClient, **params: Any) -> list[int]:
    reply = await http.get("/api/events", params={"limit": 1000, **params})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["next_cursor"] is None
    return [event["id"] for event in body["events"]]


async def test_event_filters(running: Running) -> None:
    async with running.client() as http:
        await _load(http)
        everything = await _ids(http)
        assert len(everything) == 19
        assert everything == sorted(everything, reverse=True)  # newest first
        assert len(await _ids(http, device="a")) == 14
        assert len(await _ids(http, device=["a", "b"])) == 19
        assert len(await _ids(http, device="nobody")) == 0
        assert len(await _ids(http, kind="door_status")) == 2
        assert len(await _ids(http, kind=["alarm", "door_status"])) == 3
        assert len(await _ids(http, user_id="1000")) == 4 + 4  # a: i=0,3,6,9; b: all four
        (one,) = (await http.get("/api/events", params={"card": "ca000003"})).json()["events"]
        assert one["card_no"] == "CA000003"  # in full: the API is authenticated
        assert len(await _ids(http, granted="false")) == 3
        assert len(await _ids(http, granted="true")) == 9 + 4
        assert len(await _ids(http, error=16)) == 3
        assert len(await _ids(http, method=15)) == 6
        assert len(await _ids(http, method=15, granted="false", device="a")) == 3
        # times: epoch seconds, ISO with an offset, ISO without (the hub's time zone)
        until = datetime.fromtimestamp(OLD + 300, UTC)
        window = {"since": OLD + 120, "until": until.isoformat().replace("+00:00", "Z")}
        assert len(await _ids(http, **window)) == 3  # a: i=2,3,4 (b's clock is 3 h later)
        local = until.astimezone(TZ).replace(tzinfo=None).isoformat()
        assert len(await _ids(http, since=OLD + 120, until=local)) == 3
        assert len(await _ids(http, since=OLD + 10800, device="b")) == 5
        assert len(await _ids(http, since=OLD + 120, until=local, granted="false")) == 1


async def test_event_json_and_pages(running: Running) -> None:
    async with running.client() as http:
        await _load(http)
        everything = await _ids(http)
        seen: list[int] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            body = (await http.get("/api/events", params=params)).json()
            seen += [event["id"] for event in body["events"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 5
        assert seen == everything  # no overlap, no gap, in order
        page = (await http.get("/api/events", params={"device": "a", "limit": 7})).json()
        rest = (await http.get("/api/events", params={
            "device": "a", "limit": 7, "cursor": page["next_cursor"]})).json()
        assert len(page["events"]) + len(rest["events"]) == 14
        assert rest["next_cursor"] is None
        # one event in detail: decoded, plus where and when it was stored
        (event,) = (await http.get("/api/events", params={
            "card": "CB000002", "lang": "pt"})).json()["events"]
        assert event["device"] == "b"
        assert event["kind"] == "access_control"
        assert event["source"] == "push"
        assert event["utc_offset"] == "-03:00"
        assert event["snapshot_url"] is None
        assert event["summary"].startswith("Acesso liberado")
        assert event["method"]["code"] == 1
        # b writes local time into UTC (local_epochs): the stored, corrected time wins
        corrected = datetime.fromtimestamp(OLD + 120 + 10800, UTC)
        assert event["time"] == corrected.isoformat().replace("+00:00", "Z")
        assert event["create_time"] == event["time"]
        assert event["data"]["UTC"] == OLD + 120  # the raw data is kept as sent
        assert datetime.fromisoformat(event["received_at"]).timestamp() == pytest.approx(
            time.time(), abs=60)
        by_id = (await http.get(f"/api/events/{event['id']}", params={"lang": "pt"})).json()
        assert by_id == event
        missing = await http.get("/api/events/999999")
        assert missing.status_code == 404
        assert "999999" in missing.json()["detail"]


async def test_bad_parameters_name_themselves(running: Running) -> None:
    async with running.client() as http:
        for params, name in [({"since": "yesterday"}, "since"), ({"until": "nan"}, "until"),
                             ({"cursor": "!!"}, "cursor"), ({"cursor": "djE6eA"}, "cursor"),
                             ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                             ({"granted": "maybe"}, "granted"), ({"kind": "party"}, "kind"),
                             ({"error": "x"}, "error"), ({"lang": "fr"}, "lang"),
                             ({"format": "xml"}, "format")]:
            reply = await http.get("/api/events", params=params)
            assert reply.status_code == 422, params
            assert [name] == [e["loc"][1] for e in reply.json()["detail"]], reply.text


async def test_csv_export(running: Running) -> None:
    async with running.client() as http:
        await _load(http)
        reply = await http.get("/api/events", params={"format": "csv", "device": "a",
                                                      "kind": "access_control"})
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/csv")
        assert re.match(r'attachment; filename="porteiro-events-\d{8}T\d{6}Z\.csv"',
                        reply.headers["content-disposition"])
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        assert list(rows[0]) == ["id", "time", "device", "kind", "code", "granted", "user_id",
                                 "card_no", "door", "method", "method_text", "error",
                                 "error_text", "summary"]
        assert len(rows) == 12  # every match, not a page
        denied = [r for r in rows if r["granted"] == "false"]
        assert [r["card_no"] for r in denied] == ["CA000008", "CA000004", "CA000000"]
        assert denied[0]["error"] == "16"
        assert denied[0]["error_text"]
        assert denied[0]["method"] == "15"
        assert denied[0]["method_text"]
        assert denied[0]["summary"].startswith("Access denied")
        empty = await http.get("/api/events", params={"format": "csv", "device": "zzz"})
        assert empty.text.strip() == ",".join(rows[0])


async def test_snapshot(running: Running) -> None:
    async with running.client() as http:
        await _push(http, "a", [_access("FACE0001", OLD, method=15)], image=JPEG)
        (event,) = (await http.get("/api/events")).json()["events"]
        assert event["snapshot_url"] == f"/api/events/{event['id']}/snapshot"
        image = await http.get(event["snapshot_url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.content == JPEG
        await _push(http, "a", [_access("NOFACE01", OLD + 1)])
        newest = (await http.get("/api/events", params={"limit": 1})).json()["events"][0]
        assert newest["snapshot_url"] is None
        assert (await http.get(f"/api/events/{newest['id']}/snapshot")).status_code == 404
        async with running.client(None) as anonymous:
            assert (await anonymous.get(event["snapshot_url"])).status_code == 401


class Sse:
    """Reads one Server-Sent Events response message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 5) -> dict[str, str]:
        """The next message's fields; EOFError when the stream ended."""
        async def read() -> dict[str, str]:
            fields: dict[str, str] = {}
            async for line in self._lines:
                if not line:
                    if fields:
                        return fields
                elif line.startswith(":"):
                    self.comments.append(line)
                else:
                    key, _, value = line.partition(":")
                    fields[key] = value.removeprefix(" ")
            raise EOFError

        return await asyncio.wait_for(read(), timeout)

    async def rest(self, timeout: float = 5) -> int:
        """Read until the stream ends; how many messages came."""
        count = 0
        with contextlib.suppress(EOFError):
            while True:
                await self.next(timeout)
                count += 1
        return count


@contextlib.asynccontextmanager
async def _stream(http: httpx.AsyncClient, **kwargs: Any) -> AsyncIterator[Sse]:
    async with http.stream("GET", "/api/events/stream", **kwargs) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Sse(response)


async def _subscribers(hub: Hub, count: int) -> None:
    async def reached() -> None:
        while len(hub.bus) != count:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(reached(), 5)


async def test_stream_live_filtered_and_resumed(running: Running) -> None:
    import json  # noqa: PLC0415

    async with running.client() as http:
        await _load(http)
        async with _stream(http, params={"device": "a", "granted": "true"}) as sse:
            await _subscribers(running.hub, 1)
            metrics = (await http.get("/metrics")).text
            assert "porteiro_stream_subscribers 1.0" in metrics
            await _push(http, "b", [_access("LIVEB001", NOW)])  # another device: filtered
            await _push(http, "a", [_access("DENIED01", NOW, granted=False, error=16)])
            await _push(http, "a", [_access("LIVEA001", NOW + 1)])
            message = await sse.next()
            assert message["event"] == "event"
            live = json.loads(message["data"])
            assert (live["device"], live["card_no"]) == ("a", "LIVEA001")
            assert message["id"] == str(live["id"])
            first_id = live["id"]
        await _subscribers(running.hub, 0)
        # while nobody listens
        await _push(http, "a", [_access("MISSED01", NOW + 2), _access("MISSED02", NOW + 3)])
        async with _stream(http, params={"device": "a", "granted": "true"},
                           headers={"Last-Event-ID": str(first_id)}) as sse:
            replayed = [json.loads((await sse.next())["data"])["card_no"] for _ in range(2)]
            assert replayed == ["MISSED01", "MISSED02"]
            await _subscribers(running.hub, 1)
            await _push(http, "a", [_access("LIVEA002", NOW + 4)])
            assert json.loads((await sse.next())["data"])["card_no"] == "LIVEA002"
        # ?after= replays everything stored after an id, in id order
        async with _stream(http, params={"after": 0, "kind": "door_status"}) as sse:
            doors = [json.loads((await sse.next())["data"]) for _ in range(2)]
            assert [d["state"]["code"] for d in doors] == ["Open", "Close"]
            assert doors[0]["id"] < doors[1]["id"]
        bad = await http.get("/api/events/stream", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 422


async def test_stream_pings_and_ends_when_cut_off(running: Running,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import json  # noqa: PLC0415

    monkeypatch.setattr("porteiro.api.stream.PING_SECONDS", 0.1)
    running.hub.bus.maxsize = 3
    async with running.client() as http:
        async with _stream(http) as sse:
            await _subscribers(running.hub, 1)
            await asyncio.sleep(0.35)
            await _push(http, "a", [_access(f"BURST{i:03d}", OLD + i) for i in range(10)])
            # fell behind: cut off (it resumes from the store), never blocked ingestion
            assert await sse.rest() < 10
            assert any(c.startswith(": ping") for c in sse.comments)
        running.hub.bus.maxsize = 10_000
        async with _stream(http, params={"after": 0}) as sse:
            cards = [json.loads((await sse.next())["data"])["card_no"] for _ in range(10)]
        assert cards == [f"BURST{i:03d}" for i in range(10)]


async def test_stream_ends_when_the_server_stops(tmp_path: Path) -> None:
    hub = Running(_app(tmp_path))
    await hub.start()
    try:
        async with hub.client() as http, _stream(http) as sse:
            await _subscribers(hub.hub, 1)
            hub.server.should_exit = True
            with pytest.raises(EOFError):
                await sse.next(timeout=5)
    finally:
        await hub.stop()
    assert len(hub.hub.bus) == 0


async def test_devices(running: Running) -> None:
    async with running.client() as http:
        await _load(http)
        await _push(http, "a", [_access("TODAY001", NOW)])
        body = (await http.get("/api/devices")).json()
        a, b = body["devices"]
        assert (a["name"], b["name"]) == ("a", "b")
        assert (a["events_total"], a["events_today"]) == (15, 1)
        assert (b["events_total"], b["events_today"]) == (5, 0)
        assert a["online"] is True  # from memory: the store learns it seconds later
        assert a["last_contact"] is not None
        assert a["mode"] == "push"
        assert a["configured"] is True
        assert a["collector"] is None
        assert a["last_event"]["summary"].startswith("Access granted")
        assert a["last_event"]["kind"] == "access_control"
        assert b["last_event"]["kind"] == "alarm"
        one = (await http.get("/api/devices/b", params={"lang": "pt"})).json()
        assert one["name"] == "b"
        assert one["utc_offset"] == "-03:00"
        assert (await http.get("/api/devices/zzz")).status_code == 404


async def test_codes(running: Running) -> None:
    async with running.client(READER) as http:
        tables = (await http.get("/api/codes")).json()["tables"]
        names = [t["table"] for t in tables]
        assert names[:4] == ["methods", "errors", "requests", "events"]
        methods = tables[0]
        assert methods["entries"] == len(methods["codes"]) > 10
        assert {"code", "name", "text", "en", "pt", "known"} <= set(methods["codes"][0])
        error = (await http.get("/api/codes/errors/16", params={"lang": "pt"})).json()
        assert (error["table"], error["code"], error["text"]) == ("errors", 16, error["pt"])
        assert error["en"] != error["pt"]
        event = (await http.get("/api/codes/events/AccessControl")).json()
        assert event["code"] == "AccessControl"
        assert (await http.get("/api/codes/meth")).json()["table"] == "methods"
        assert (await http.get("/api/codes/errors/987654")).status_code == 404
        assert (await http.get("/api/codes/nope/1")).status_code == 404
        assert (await http.get("/api/codes/methods/abc")).status_code == 422


async def test_health_and_metrics(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running.client(None) as anonymous, running.client(READER) as http:
        await _load(http)
        health = (await anonymous.get("/healthz")).json()
        assert health["ok"] is True
        assert health["database"] == "ok"
        assert health["writer_queue"] == 0
        assert health["uptime_s"] >= 0
        assert health["devices_online"] == 2
        assert (await anonymous.get("/metrics")).status_code == 401
        metrics = await http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        counts = re.findall(
            r'^porteiro_events_ingested_total\{device="a",kind="access_control",'
            r'source="push"\} (\S+)$', metrics.text, re.MULTILINE)
        assert counts == ["12.0"]
        assert "porteiro_writer_queue_depth 0.0" in metrics.text

        def down() -> None:
            raise sa.exc.OperationalError("SELECT 1", {}, OSError("gone"))

        monkeypatch.setattr(running.hub.store, "ping", down)
        sick = await anonymous.get("/healthz")
        assert sick.status_code == 503
        assert (sick.json()["ok"], sick.json()["database"]) == (False, "error")


async def test_tokens(running: Running) -> None:
    assert running.hub.config.tokens == []  # the hub holds no token; the API only digests
    async with running.client(None) as anonymous:
        missing = await anonymous.get("/api/events")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        await _push(anonymous, "a", [_access("NOAUTH01", OLD)])  # devices need no token
        assert (await anonymous.get("/keepalive/a")).text == "OK"
        assert (await anonymous.get("/healthz")).status_code == 200
        stream = await anonymous.get("/api/events/stream")
        assert stream.status_code == 401
        async with _stream(anonymous, params={"access_token": READER, "after": 0}) as sse:
            assert '"NOAUTH01"' in (await sse.next())["data"]
    async with running.client("not-a-token") as bad:
        invalid = await bad.get("/api/events")
        assert invalid.status_code == 401
        assert invalid.headers["www-authenticate"].startswith("Bearer")
        assert (await bad.get("/api/events/stream",
                              params={"access_token": "nope"})).status_code == 401
    async with running.client(READER) as reader:
        assert (await reader.get("/api/events")).status_code == 200
        refused = await reader.post("/api/admin/prune")
        assert refused.status_code == 403
        assert "admin" in refused.json()["detail"]
        assert (await reader.get("/api/events",
                                 params={"access_token": ADMIN})).status_code == 200
    async with running.client(ADMIN) as admin:
        pruned = await admin.post("/api/admin/prune")
        assert pruned.json() == {"events_deleted": 0, "snapshots_deleted": 0}
        assert (await admin.get("/api/devices")).status_code == 200


async def test_open_api_warns_off_loopback(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    app = _app(tmp_path, tokens=False, listen="0.0.0.0:8000")  # never bound
    with caplog.at_level(logging.WARNING, logger="porteiro.api.app"):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                assert (await http.get("/api/events")).json()["events"] == []
                assert (await http.post("/api/admin/prune")).status_code == 200
                assert (await http.get("/docs")).status_code == 200
                schema = (await http.get("/openapi.json")).json()
                assert "/api/events/stream" in schema["paths"]
    assert "open to anyone" in caplog.text


def test_access_log_hides_cards_and_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/events?card=12EA3004&device=a&access_token=s3cret",
         "1.1", 200), None)
    assert RedactQuery().filter(record)
    line = record.getMessage()
    assert "12EA3004" not in line
    assert "s3cret" not in line
    assert "card=***&device=a&access_token=***" in line


def test_parameters() -> None:
    assert parse_when("1790000000") == 1790000000.0
    assert parse_when("2026-09-21T14:13:20Z") == 1790000000.0
    assert parse_when("2026-09-21T11:13:20", TZ) == 1790000000.0
    assert parse_when("2026-09-21T11:13:20-03:00") == 1790000000.0
    assert parse_when("") is None
    for bad in ("yesterday", "inf", True):
        with pytest.raises(ValueError, match=r"ISO 8601|finite"):
            parse_when(bad)
    assert decode_cursor(encode_cursor(12345)) == 12345
    with pytest.raises(ValueError, match="cursor"):
        decode_cursor("bm9wZQ")
    midnight = local_midnight(TZ, 1790000000)
    assert datetime.fromtimestamp(midnight, TZ).strftime("%Y-%m-%d %H:%M") == "2026-09-21 00:00"


# -- the store queries, on SQLite and PostgreSQL ---------------------------------------


async def test_store_queries(store: Store) -> None:
    writer = Writer(store)
    writer.start()
    try:
        a = store.ensure_device("a", mode="push")
        b = store.ensure_device("b", mode="attach", serial="SN1")
        events = [build_event(_access(f"ca{i:06x}", OLD + i * 60, user=str(i % 2),
                                      granted=i % 3 != 0, error=0 if i % 3 else 16,
                                      method=1 if i % 2 else 15)) for i in range(9)]
        images: list[bytes | None] = [JPEG if i == 4 else None for i in range(9)]
        stored = await writer.write(a, "a", events, source="push", images=images)
        other = await writer.write(b, "b", [build_event(_access("B0000001", NOW))],
                                   source="attach")
    finally:
        writer.close()
    ids = [i for i in stored.ids if i is not None]
    assert len(ids) == 9

    def q(**filters: Any) -> list[int]:
        return [r["id"] for r in store.query_events(EventQuery(limit=1000, **filters))]

    assert q() == sorted([*ids, *other.ids], reverse=True)  # type: ignore[type-var]
    assert q(devices=("a",)) == ids[::-1]
    assert q(kinds=("door_status",)) == []
    assert q(user_id="1") == [ids[i] for i in (7, 5, 3, 1)]
    assert q(card_no="CA000002") == [ids[2]]  # stored lower case, found in upper
    assert q(granted=False) == [ids[i] for i in (6, 3, 0)]
    assert q(granted=True, devices=("a",)) == [ids[i] for i in (8, 7, 5, 4, 2, 1)]
    assert q(error=16) == q(granted=False)
    assert q(method=15) == [ids[i] for i in (8, 6, 4, 2, 0)]
    assert q(since=OLD + 120, until=OLD + 240) == [ids[3], ids[2]]
    assert q(after_id=ids[2], before_id=ids[5]) == [ids[4], ids[3]]
    assert [r["id"] for r in store.query_events(EventQuery(limit=2))] == [other.ids[0], ids[8]]
    after = store.events_after(ids[5], 10)
    assert [r["id"] for r in after] == [ids[6], ids[7], ids[8], other.ids[0]]
    assert [r["id"] for r in store.events_after(0, 10, EventQuery(granted=False))] == [
        ids[0], ids[3], ids[6]]
    row = store.get_event(ids[4])
    assert row is not None
    assert (row["device"], row["has_snapshot"], row["granted"]) == ("a", True, True)
    assert row["card_no"] == "ca000004"
    assert store.get_event(ids[3])["has_snapshot"] is False  # type: ignore[index]
    assert store.get_event(10**9) is None
    assert store.get_snapshot(ids[4]) == ("image/jpeg", JPEG)
    assert store.get_snapshot(ids[3]) is None
    first, second = store.device_summaries(local_midnight(TZ, NOW))
    assert (first["name"], first["events_total"], first["events_today"]) == ("a", 9, 0)
    assert first["last_event"]["id"] == ids[8]
    assert (second["name"], second["serial"], second["events_today"]) == ("b", "SN1", 1)
    assert second["last_event"]["device"] == "b"
    store.ping()
