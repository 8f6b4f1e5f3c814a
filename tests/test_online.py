"""Modo Online: the hub decides each request of emulated readers, over real HTTP.

Two emulated readers ("entrada", "saida") run in Modo Online against a hub served by
uvicorn; people are created through the hub's people service. Every rule of the access
engine is exercised from a reader's presentation to the reader's display message and
the stored decision event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from porteiro.access import Card, Presentation, User
from porteiro.api import create_app
from porteiro.codes import Direction
from porteiro.emulator import EmulatorHost
from porteiro.hub import load_config
from porteiro.hub.online import PolicyRequest, PolicyVerdict
from porteiro.hub.people import PersonInput
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body, parse_online_reply

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub

BRT = timedelta(hours=-3)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _today_local() -> datetime:
    return datetime.now(UTC) + BRT


class Site:
    """A hub and two online readers."""

    def __init__(self, hub: Hub, readers: dict[str, EmulatedDevice], url: str) -> None:
        self.hub = hub
        self.readers = readers
        self.url = url
        self.seen_decision = hub.store.max_event_id()  # decisions of an earlier run
        self.stored: dict[str, Any] = {}
        self.latency = 0.0

    async def present(self, reader: str, **fields: Any) -> tuple[bool, int, str | None]:
        """(granted, the hub's reason code, the reader's display message). The reader
        logs its own ErrorCode for a server denial [GUESS]; the hub's reason is in the
        stored decision."""
        device = self.readers[reader]
        before = self.hub.online.decisions
        started = time.perf_counter()
        decision = await device.present_async(Presentation(**fields))
        self.latency = time.perf_counter() - started
        message = device.online_messages[-1] if device.online_messages else None
        assert self.hub.online.decisions == before + 1, "the hub did not decide"
        stored = self.stored = await self.last_decision()
        return decision.granted, int(stored["data"]["PorteiroDecision"]["reason_code"]), \
            message

    async def last_decision(self) -> dict[str, Any]:
        """The newest stored decision (waits for the writer)."""
        async with httpx.AsyncClient(base_url=self.url) as http:
            for _ in range(150):
                rows = (await http.get("/api/events", params={"kind": "access_control",
                                                              "limit": 1})).json()["events"]
                if rows and rows[0]["source"] == "online" \
                        and rows[0]["id"] > self.seen_decision:
                    self.seen_decision = rows[0]["id"]
                    return dict(rows[0])
                await asyncio.sleep(0.02)
        raise AssertionError("no decision stored")


def _online(device: EmulatedDevice, port: int, name: str, timeout: int = 5) -> None:
    config = device.state.config
    config["Intelbras_ModeCfg"].update({
        "DeviceMode": 2, "RemoteCheckTimeout": timeout,
        "KeepAlive": {"Enable": True, "Interval": 1, "Path": f"/keepalive/{name}",
                      "TimeOut": 2000}})
    server = config["PictureHttpUpload"]["UploadServerList"][0]
    server.update({"Address": "127.0.0.1", "Port": port, "Uploadpath": f"/notification/{name}"})
    config["PictureHttpUpload"]["Enable"] = True
    assert device.uplink is not None
    device.uplink.notify_config()


SITE_TOML = '''
[hub]
data_dir = "{data}"
language = "pt"
flush_interval = 0.05
offline_after = 1.5
{hub_extra}
[access]
anti_passback = false
holidays = ["{today}"]
[[access.schedules]]
number = 1
windows = ["00:00-00:00"]
[[access.schedules]]
number = 2
windows = ["00:00-23:59:59"]
[[access.schedules]]
number = 3
windows = ["00:00-00:00"]
[online]
{online_extra}
[[devices]]
name = "entrada"
host = "127.0.0.1"
mode = "online"
[[devices.doors]]
index = 0
anti_passback = true
[[devices.doors]]
index = 1
mode = "always_closed"
[[devices.doors]]
index = 2
repeat_entry_seconds = 60
[[devices.doors]]
index = 3
open_requirement = "face"
[[devices.doors]]
index = 4
interlock_with = [5]
[[devices.doors]]
index = 6
require_mask = true
max_temperature = 37.5
[[devices.doors]]
index = 7
open_requirement = "card+password"
[[devices]]
name = "saida"
host = "127.0.0.1"
mode = "online"
[[devices.doors]]
index = 0
anti_passback = true
'''


@pytest.fixture
async def site(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    hub_extra, online_extra = getattr(request, "param", ("", ""))
    async with running_site(tmp_path, hub_extra, online_extra) as running:
        yield running


@contextlib.asynccontextmanager
async def running_site(tmp_path: Path, hub_extra: str = "", online_extra: str = ""
                       ) -> AsyncIterator[Site]:
    """A hub served by uvicorn and two emulated readers in Modo Online."""
    path = tmp_path / "porteiro.toml"
    path.write_text(SITE_TOML.format(data=tmp_path / "data", hub_extra=hub_extra,
                                     online_extra=online_extra,
                                     today=_today_local().date().isoformat()),
                    encoding="utf-8")
    port = _port()
    app = create_app(load_config(path, env={}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        async with EmulatorHost.start(devices=2) as host:
            readers = dict(zip(("entrada", "saida"), host.devices, strict=True))
            for name, device in readers.items():
                _online(device, port, name)
            yield Site(app.state.hub, readers, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


async def _people(hub: Hub, *rows: dict[str, Any]) -> None:
    for row in rows:
        await hub.people.create(PersonInput.model_validate(row))


def _on_readers(site: Site, *users: User) -> None:
    """What a sync would have put on the readers (faces and passwords are matched there)."""
    for device in site.readers.values():
        device.upsert_users(users)


async def test_every_rule_decided_by_the_hub(site: Site) -> None:
    hub = site.hub
    past = time.time() - 10 * 86400
    await _people(
        hub,
        {"user_id": "1", "name": "Ana", "cards": ["AA000001",
                                                  {"card_no": "LOST0001", "status": "lost"}],
         "doors": list(range(8))},
        {"user_id": "2", "name": "Bia", "status": "frozen", "cards": ["AA000002"]},
        {"user_id": "3", "name": "Caio", "valid_from": past - 86400, "valid_to": past,
         "cards": ["AA000003"]},
        {"user_id": "4", "name": "Visita", "type": "guest", "guest_uses": 1,
         "cards": ["AA000004"]},
        {"user_id": "5", "name": "Davi", "doors": {"saida": [0]}, "cards": ["AA000005"]},
        {"user_id": "6", "name": "Eva", "time_sections": [1], "cards": ["AA000006"]},
        {"user_id": "7", "name": "Feriado", "time_sections": [2], "holiday_schedule": 3,
         "cards": ["AA000007"]},
        {"user_id": "8", "name": "Bloqueado", "type": "blocklist", "cards": ["AA000008"]},
        {"user_id": "9", "name": "Ronda", "type": "patrol",
         "cards": [{"card_no": "AA000009", "type": "patrol"}]},
        {"user_id": "10", "name": "Gil", "doors": list(range(8)), "cards": ["AA000010"],
         "password": "4321"},
    )
    _on_readers(site, User("1", "Ana", face=True, doors=tuple(range(8))),
                User("10", "Gil", password="4321", doors=tuple(range(8))))
    cases: list[tuple[dict[str, Any], bool, int, str]] = [
        ({"card_no": "aa000001"}, True, 0, "Acesso liberado"),
        ({"card_no": "FFFF0000"}, False, 16, "Não cadastrado"),
        ({"card_no": "LOST0001"}, False, 17, "Cartão perdido ou cancelado"),
        ({"card_no": "AA000002"}, False, 164, "Cadastro suspenso"),
        ({"card_no": "AA000003"}, False, 20, "Fora do período de validade"),
        ({"card_no": "AA000004"}, True, 0, "Acesso liberado"),
        ({"card_no": "AA000004"}, False, 165, "Limite de acessos atingido"),
        ({"card_no": "AA000005"}, False, 18, "Sem permissão nesta porta"),
        ({"card_no": "AA000006"}, False, 32, "Fora do horário permitido"),
        ({"card_no": "AA000007"}, False, 33, "Não permitido em feriado"),
        ({"card_no": "AA000008"}, False, 16, "Acesso bloqueado"),
        ({"card_no": "AA000009"}, False, 25, "Ronda registrada"),
        ({"card_no": "AA000001", "door": 1}, False, 23, "Porta bloqueada"),
        ({"card_no": "AA000001", "door": 3}, False, 19, "Método não permitido aqui"),
        ({"face": "1", "door": 3}, True, 0, "Acesso liberado"),
        ({"card_no": "AA000010", "door": 7, "password": "0000"}, False, 64,
         "Senha incorreta"),
        ({"card_no": "AA000010", "door": 7, "password": "4321"}, True, 0, "Acesso liberado"),
        ({"card_no": "AA000010", "door": 6, "mask": False}, False, 102, "Use máscara"),
        ({"card_no": "AA000010", "door": 6, "mask": True, "temperature": 38.4}, False, 101,
         "Temperatura alta"),
        ({"card_no": "AA000010", "door": 6, "mask": True, "temperature": 36.5}, True, 0,
         "Acesso liberado"),
    ]
    for fields, granted, error, message in cases:
        outcome = await site.present("entrada", **fields)
        assert outcome == (granted, error, message), fields
        stored = site.stored
        decision = stored["data"]["PorteiroDecision"]
        assert stored["granted"] is granted, fields
        assert decision["message"] == message
        assert decision["reason_code"] == error
        assert decision["decided_by"] == "engine"
        assert stored["error"]["code"] == error

    # interlock: door 5's contact reports open -> door 4 waits
    site.readers["entrada"].set_door_contact(5, is_open=True)
    await _until(lambda: 5 in hub.online.history.open_doors("entrada"))
    assert await site.present("entrada", card_no="AA000001", door=4) == (
        False, 24, "Aguarde: outra porta aberta")
    site.readers["entrada"].set_door_contact(5, is_open=False)
    await _until(lambda: 5 not in hub.online.history.open_doors("entrada"))
    assert (await site.present("entrada", card_no="AA000001", door=4))[0] is True

    # repeat entry (door 2: 60 s) counts any reader's grant: Ana just passed door 4
    assert await site.present("entrada", card_no="AA000001", door=2) == (
        False, 99, "Acesso repetido: aguarde")
    # the guest's use was stored
    person = hub.store.people.get("4")
    assert person is not None
    assert person.uses == 1


async def _until(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def test_anti_passback_across_readers(site: Site) -> None:
    await _people(site.hub, {"user_id": "1", "name": "Ana", "cards": ["AA000001"]})
    assert (await site.present("entrada", card_no="AA000001"))[0] is True
    # entering again at the other reader without leaving: refused
    assert await site.present("saida", card_no="AA000001") == (
        False, 21, "Antipassback: já está dentro")
    assert (await site.present("saida", card_no="AA000001",
                               direction=Direction.EXIT))[0] is True
    assert await site.present("entrada", card_no="AA000001", direction=Direction.EXIT) == (
        False, 21, "Antipassback: já saiu")
    assert (await site.present("entrada", card_no="AA000001"))[0] is True


async def test_a_push_readers_passage_counts_for_anti_passback(site: Site) -> None:
    """Passages reported by readers the hub does not decide for are history too."""
    await _people(site.hub, {"user_id": "1", "name": "Ana", "cards": ["AA000001"]})
    now = int(time.time())
    event = RawEvent("AccessControl", "Pulse", 0,
                     {"CardNo": "AA000001", "UserID": "1", "Door": 0, "ErrorCode": 0,
                      "Method": 1, "Status": 1, "Type": "Entry", "UTC": now})
    body, ctype = format_push_body([event], time="01-01-2026 00:00:00")
    hub = site.hub
    # Reuse the saida reader's registration as a history-only POST (old record): stored,
    # answered neutrally, and it counts for the site's history.
    old = RawEvent("AccessControl", "Pulse", 0, {**event.data, "UTC": now - 3600})
    body, ctype = format_push_body([old], time="01-01-2026 00:00:00")
    async with httpx.AsyncClient(base_url=site.url) as http:
        reply = await http.post("/notification/saida", content=body,
                                headers={"Content-Type": ctype})
    verdict = parse_online_reply(reply.content)
    assert (verdict.granted, verdict.message) == (False, "")
    await _until(lambda: hub.online.history.last_direction("1") == Direction.ENTRY)
    assert (await site.present("entrada", card_no="AA000001"))[1] == 21


async def test_keepalives_keep_the_reader_online(site: Site) -> None:
    hub = site.hub
    await _until(lambda: hub.devices["entrada"].online)
    await asyncio.sleep(2.5)  # longer than offline_after: only keepalives were sent
    assert hub.devices["entrada"].online
    uplink = site.readers["entrada"].uplink
    assert uplink is not None
    assert uplink.keepalives >= 2


# -- the policy hook -------------------------------------------------------------------------

CALLS: list[PolicyRequest] = []


def gym_policy(request: PolicyRequest) -> PolicyVerdict | None:
    """An integrator's hook: person 2 has not paid."""
    CALLS.append(request)
    if request.user_id == "2":
        return PolicyVerdict(granted=False, message="Mensalidade em aberto")
    return None


async def slow_policy(request: PolicyRequest) -> bool:
    """Takes longer than policy_timeout_ms."""
    del request
    await asyncio.sleep(2)
    return True


def broken_policy(request: PolicyRequest) -> bool:
    """Raises."""
    raise RuntimeError(f"payment system down for {request.user_id}")


sys.modules.setdefault("porteiro_test_policies", sys.modules[__name__])


@pytest.mark.parametrize("site", [("", 'policy = "porteiro_test_policies:gym_policy"')],
                         indirect=True)
async def test_python_policy_hook_overrides(site: Site) -> None:
    CALLS.clear()
    await _people(site.hub, {"user_id": "1", "cards": ["AA000001"]},
                  {"user_id": "2", "cards": ["AA000002"], "external_id": "aluno-2"})
    assert await site.present("entrada", card_no="AA000001") == (True, 0, "Acesso liberado")
    assert await site.present("entrada", card_no="AA000002") == (
        False, 0, "Mensalidade em aberto")
    decision = site.stored["data"]["PorteiroDecision"]
    assert (decision["decided_by"], decision["engine_granted"]) == ("policy", True)
    assert CALLS[-1].person is not None
    assert CALLS[-1].person["external_id"] == "aluno-2"


@pytest.mark.parametrize("site", [
    ("", ('policy = "porteiro_test_policies:slow_policy"\npolicy_timeout_ms = 200\n'
          'policy_fallback = "deny"')),
    ("", 'policy = "porteiro_test_policies:broken_policy"\npolicy_fallback = "deny"'),
], indirect=True)
async def test_a_failing_or_late_policy_falls_back(site: Site,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    await _people(site.hub, {"user_id": "1", "cards": ["AA000001"]})
    assert await site.present("entrada", card_no="AA000001") == (False, 0, "Acesso negado")
    assert site.latency < 1.5  # the deadline, not the hook, set the pace
    decision = site.stored["data"]["PorteiroDecision"]
    assert decision["decided_by"] == "fallback"
    assert decision["policy_note"]
    assert "falling back to deny" in caplog.text
    assert site.hub.metrics.online_policy_failures._value.get() == 1


async def test_http_policy_hook(tmp_path: Path) -> None:
    """An HTTP callback: denies unpaid members, and keeps the engine's decision (204)."""
    from aiohttp import web  # noqa: PLC0415

    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body["user_id"] == "2":
            return web.json_response({"auth": "false", "message": "Pagamento pendente"})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/policy", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    policy_port = _port()
    await web.TCPSite(runner, "127.0.0.1", policy_port).start()
    try:
        url = f"http://127.0.0.1:{policy_port}/policy"
        async with running_site(tmp_path, online_extra=f'policy_url = "{url}"') as running:
            await _people(running.hub, {"user_id": "1", "cards": ["AA000001"]},
                          {"user_id": "2", "cards": ["AA000002"]})
            assert (await running.present("entrada", card_no="AA000001"))[0] is True
            assert await running.present("entrada", card_no="AA000002") == (
                False, 0, "Pagamento pendente")
            assert [s["user_id"] for s in seen] == ["1", "2"]
            assert seen[1]["granted"] is True  # the engine would have let them in
    finally:
        await runner.cleanup()


# -- the deadline ---------------------------------------------------------------------------


@pytest.mark.parametrize("site", [("", "deadline_ms = 300")], indirect=True)
async def test_the_reply_leaves_within_the_deadline_when_storage_is_slow(site: Site) -> None:
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    original = hub.ingest

    async def slow_ingest(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)
        return await original(*args, **kwargs)

    hub.ingest = slow_ingest  # type: ignore[method-assign]
    # present() returns once the decision is stored (after the slow write)...
    assert await site.present("entrada", card_no="AA000001") == (True, 0, "Acesso liberado")
    hub.ingest = original  # type: ignore[method-assign]
    # ...but the reader had its answer within the deadline.
    assert site.latency < 0.6
    assert site.stored["granted"] is True


def test_deadline_must_be_below_the_readers_timeout(tmp_path: Path) -> None:
    from porteiro.hub import ConfigError  # noqa: PLC0415

    path = tmp_path / "porteiro.toml"
    path.write_text('[online]\ndeadline_ms = 5000\n[[devices]]\nname = "x"\nhost = "h"\n'
                    'mode = "online"\nremote_check_timeout = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="remote_check_timeout"):
        load_config(path, env={})


async def test_exit_button_is_reported_not_asked(site: Site) -> None:
    before = site.hub.online.decisions
    site.readers["entrada"].press_exit_button(0)
    await _until(lambda: site.hub.store.count_events() >= 2)  # the access event + _Button_
    assert site.hub.online.decisions == before
    rows = site.hub.store.list_events()
    assert {r["source"] for r in rows} == {"push"}
    assert any(r["method"] == 5 and r["granted"] for r in rows)


async def test_non_access_posts_get_the_neutral_answer(site: Site) -> None:
    body, ctype = format_push_body([RawEvent("DoorStatus", "Pulse", 0,
                                             {"Door": 0, "Status": "Open",
                                              "UTC": int(time.time())})],
                                   time="01-01-2026 00:00:00")
    async with httpx.AsyncClient(base_url=site.url) as http:
        reply = await http.post("/notification/entrada", content=body,
                                headers={"Content-Type": ctype})
    assert reply.headers["content-type"].startswith("application/json")
    assert json.loads(reply.content) == {"message": "", "code": "200", "auth": "false"}


async def test_decisions_and_history_on_each_database(tmp_path: Path,
                                                      database_url: str) -> None:
    """The same decisions on SQLite and PostgreSQL, and the site history reloaded from
    the store when the hub restarts."""
    extra = f'database_url = "{database_url}"'
    async with running_site(tmp_path, hub_extra=extra) as site:
        await _people(site.hub, {"user_id": "1", "name": "Ana", "cards": ["AA000001"]})
        assert (await site.present("entrada", card_no="AA000001"))[0] is True
        assert (await site.present("saida", card_no="AA000001"))[1] == 21
    # A restarted hub takes a presentation of the same second as one decided before it
    # stopped for the reader's record of that one (it cannot know the answer arrived):
    # a real restart takes longer than that second.
    await asyncio.sleep(1 - time.time() % 1)
    async with running_site(tmp_path, hub_extra=extra) as site:  # a restarted hub
        assert site.hub.people.directory.get("1") is not None
        assert site.hub.online.history.last_direction("1") == Direction.ENTRY
        assert (await site.present("saida", card_no="AA000001"))[1] == 21


def _request_body(card: str, utc: int, *, granted: bool) -> tuple[bytes, str]:
    data = {"CardNo": card, "UserID": "", "Door": 0, "UTC": utc, "Method": 1, "Type": "Entry",
            "Status": 1 if granted else 0, "ErrorCode": 0 if granted else 16}
    return format_push_body([RawEvent("AccessControl", "Pulse", 0, data)],
                            time="01-01-2026 00:00:00")


async def test_the_readers_own_record_of_a_decided_presentation_is_stored_once(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """A presentation answered in time is decided again when it comes again (a second
    tap in the same second is a decision of its own). After a restart the hub does not
    know whether its recent answers arrived: the same presentation coming again is the
    reader's own record, stored once with the hub's verdict, or kept as a fact of its
    own (with a warning) when the door did otherwise."""
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    utc = int(time.time())

    async def post(*, granted: bool) -> dict[str, Any]:
        body, ctype = _request_body("AA000001", utc, granted=granted)
        async with httpx.AsyncClient(base_url=site.url) as http:
            reply = await http.post("/notification/entrada", content=body,
                                    headers={"Content-Type": ctype})
        assert reply.status_code == 200
        return dict(json.loads(reply.content))

    def access_rows() -> list[dict[str, Any]]:
        return [r for r in hub.store.list_events() if r["kind"] == "access_control"]

    assert (await post(granted=False))["auth"] == "true"  # decided: the hub grants
    decisions = hub.online.decisions
    assert (await post(granted=False))["auth"] == "false"  # a second tap: decided too
    assert hub.online.decisions == decisions + 1  # (anti-passback refuses it)
    await _until(lambda: len(access_rows()) == 2)
    decisions = hub.online.decisions

    hub.online._unconfirmed.clear()  # as after a restart...
    await asyncio.to_thread(hub.online.load)  # ...which reloads the recent decisions
    assert (await post(granted=True))["auth"] == "false"  # the record: answered neutrally
    await asyncio.sleep(0.3)
    assert hub.online.decisions == decisions  # not decided again
    assert len(access_rows()) == 2

    with caplog.at_level("WARNING", logger="porteiro.hub.online"):
        await post(granted=False)  # the door did otherwise: kept, with a warning
        await _until(lambda: len(access_rows()) == 3)
    assert "decided alone; both are stored" in caplog.text
    sources = sorted(r["source"] for r in access_rows())
    assert sources == ["online", "online", "push"]


async def test_a_late_answer_and_the_readers_fallback_make_one_event(site: Site) -> None:
    """End to end: the hub decides and stores, but its answer leaves after the reader's
    RemoteCheckTimeout (as when a hub dies after committing); the reader lets the
    registered user in alone and pushes its record: one passage, one event."""
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    reader = site.readers["entrada"]
    reader.upsert_users([User("1", "Ana")])
    reader.state.cards["AA000001"] = Card("AA000001", "1")
    _online(reader, int(site.url.rsplit(":", 1)[1]), "entrada", timeout=1)
    runtime = hub.devices["entrada"]  # the hub knows the reader's timeout
    runtime.settings = runtime.settings.model_copy(update={"remote_check_timeout": 1.0})
    original = hub.ingest

    async def slow(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("source") == "online":
            await asyncio.sleep(2.0)  # the answer leaves at the deadline, past 1 s
        return await original(*args, **kwargs)

    hub.ingest = slow  # type: ignore[method-assign]
    decision = await reader.present_async(Presentation(card_no="AA000001"))
    hub.ingest = original  # type: ignore[method-assign]
    assert decision.granted  # the reader's own (offline) verdict
    await _until(lambda: not reader.state.pending_push, timeout=15)  # the record went out
    await asyncio.sleep(0.3)
    rows = [r for r in hub.store.list_events() if r["kind"] == "access_control"]
    # Whichever was committed first (the record arrived while the decision was slow).
    assert [(r["card_no"], r["granted"]) for r in rows] == [("AA000001", True)]
    duplicates = hub.metrics.duplicates.labels("entrada")
    await _until(lambda: duplicates._value.get() >= 1)  # the later write: a duplicate
    rows = [r for r in hub.store.list_events() if r["kind"] == "access_control"]
    assert len(rows) == 1


async def test_a_decision_the_store_refuses_is_not_answered(site: Site) -> None:
    """The database fails the decision's write before the deadline: the request gets 503
    (the reader decides alone and keeps its record), and that record, sent later, is
    stored as the reader's (not decided again)."""
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    original = hub.ingest

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("source") == "online":
            raise RuntimeError("database unreachable")
        return await original(*args, **kwargs)

    hub.ingest = failing  # type: ignore[method-assign]
    utc = int(time.time())
    body, ctype = _request_body("AA000001", utc, granted=True)
    async with httpx.AsyncClient(base_url=site.url) as http:
        reply = await http.post("/notification/entrada", content=body,
                                headers={"Content-Type": ctype})
        assert reply.status_code == 503
        hub.ingest = original  # type: ignore[method-assign]
        decisions = hub.online.decisions
        reply = await http.post("/notification/entrada", content=body,  # the record
                                headers={"Content-Type": ctype})
    assert reply.status_code == 200
    assert json.loads(reply.content)["auth"] == "false"
    assert hub.online.decisions == decisions
    rows = [r for r in hub.store.list_events() if r["kind"] == "access_control"]
    assert [(r["card_no"], r["source"], r["granted"]) for r in rows] == [
        ("AA000001", "push", True)]


async def test_an_answered_decision_is_stored_when_the_database_is_back(site: Site) -> None:
    """The write fails after the reply left (the reader will not send it again): it is
    retried until the database takes it."""
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    original = hub.ingest
    failures = 0
    deadline = hub.config.online.deadline_ms / 1000

    async def slow_then_failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if kwargs.get("source") == "online" and failures < 2:
            failures += 1
            await asyncio.sleep(deadline + 0.2)  # past the deadline: the reply has left
            raise RuntimeError("database unreachable")
        return await original(*args, **kwargs)

    hub.ingest = slow_then_failing  # type: ignore[method-assign]
    try:
        body, ctype = _request_body("AA000001", int(time.time()), granted=False)
        async with httpx.AsyncClient(base_url=site.url) as http:
            reply = await http.post("/notification/entrada", content=body,
                                    headers={"Content-Type": ctype})
        assert reply.status_code == 200
        assert json.loads(reply.content)["auth"] == "true"

        def stored() -> list[Any]:
            return [(r["source"], r["granted"]) for r in hub.store.list_events()
                    if r["kind"] == "access_control"]

        await _until(lambda: stored() == [("online", True)], timeout=10)
        assert failures == 2
    finally:
        hub.ingest = original  # type: ignore[method-assign]


async def test_other_events_of_a_request_are_stored_even_when_a_write_fails(
        site: Site) -> None:
    """A request POST may carry door or alarm events too: answered once the decision is
    stored, they are retried until the database takes them (the reader will not send
    them again)."""
    hub = site.hub
    await _people(hub, {"user_id": "1", "cards": ["AA000001"]})
    original = hub.ingest
    failures = 0

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal failures
        if kwargs.get("source") == "push" and failures == 0:
            failures += 1
            raise RuntimeError("database unreachable")
        return await original(*args, **kwargs)

    hub.ingest = failing_once  # type: ignore[method-assign]
    try:
        utc = int(time.time())
        access = {"CardNo": "AA000001", "UserID": "", "Door": 0, "UTC": utc, "Method": 1,
                  "Type": "Entry", "Status": 0, "ErrorCode": 16}
        body, ctype = format_push_body(
            [RawEvent("AccessControl", "Pulse", 0, access),
             RawEvent("DoorStatus", "Pulse", 0, {"Door": 0, "Status": "Open", "UTC": utc})],
            time="01-01-2026 00:00:00")
        async with httpx.AsyncClient(base_url=site.url) as http:
            reply = await http.post("/notification/entrada", content=body,
                                    headers={"Content-Type": ctype})
        assert reply.status_code == 200  # the answer waited for the decision only
        await _until(lambda: sorted(r["kind"] for r in hub.store.list_events())
                     == ["access_control", "door_status"], timeout=10)
        assert failures == 1
    finally:
        hub.ingest = original  # type: ignore[method-assign]
