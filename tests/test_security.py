"""Security: authentication on every API route, scopes, hashed tokens compared in
constant time, device networks, rate limits, SQL injection, secrets kept out of logs and
answers, webhook signatures and TLS to readers. See docs/security.md.

The per-route write refusal of a read-only token (with its audit entries) is also
proved in tests/test_api_people.py (``test_read_only_token_is_refused_on_every_write_route``)
and the door-opening rate limit in ``test_door_open_is_rate_limited_per_device``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import logging
import re
import ssl
import subprocess
import time
import types
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from fastapi.routing import APIRoute
from starlette.routing import Route

from porteiro.api import auth as auth_module
from porteiro.api import create_app
from porteiro.api.auth import FailedLogins, TokenAuth
from porteiro.device import Device
from porteiro.emulator import EmulatorHost
from porteiro.emulator.device import EmulatedDevice
from porteiro.emulator.runner import make_state
from porteiro.emulator.service import build_app
from porteiro.exceptions import DeviceConnectionError
from porteiro.forward.webhook import SIGNATURE_HEADER, sign, verify
from porteiro.hub import load_config
from porteiro.hub.config import TokenSettings
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from pathlib import Path

    from fastapi import FastAPI

    from porteiro.hub import Hub

ADMIN = "Adm1n-t0ken-f9c2e7"
READER = "Re4d-t0ken-0b81d3"
GUESS = "Guessed-t0ken-77aa"
DEVICE_PASSWORD = "Dev1ce-Pa55-q8z"
WEBHOOK_SECRET = "Webh00k-Secret-3k"
PERSON_PASSWORD = "73915"
CARDS = ("5F3A9C71", "D40B7E26")  # not the docs' example (12EA3004)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 6 + b"\xff\xd9"
DEVICE_NET = "10.1.0.0/16"
DEVICE_ADDR = ("10.1.2.3", 5000)
SAMPLE = {"user_id": "1021", "card_no": CARDS[0], "name": "portaria", "door": "0",
          "event_id": "1"}
INJECTION = "' OR 1=1; DROP TABLE events; --"
INJECTIONS = (INJECTION, "1' OR '1'='1", '"; DROP TABLE people; --', "%", "_",
              "1; SELECT pg_sleep(0)--", "\\' OR 1=1 --")


def config_text(tmp_path: Path, *, device_port: int = 1, hook_port: int | None = None,
                database_url: str | None = None) -> str:
    database = f'database_url = "{database_url}"\n' if database_url else ""
    sink = f'''
[[sinks]]
type = "webhook"
name = "erp"
url = "http://127.0.0.1:{hook_port}/hook"
secret = "{WEBHOOK_SECRET}"
backoff_cap = 0.3
''' if hook_port is not None else ""
    return f'''[hub]
data_dir = "{tmp_path / 'data'}"
{database}language = "en"
device_networks = ["{DEVICE_NET}", "127.0.0.0/8"]
[people]
auto_sync = false
[[devices]]
name = "portaria"
host = "127.0.0.1"
port = {device_port}
password = "{DEVICE_PASSWORD}"
mode = "push"
[[tokens]]
name = "ops"
token = "{ADMIN}"
scope = "admin"
[[tokens]]
name = "dashboard"
token = "{READER}"
{sink}'''


def make_app(tmp_path: Path, **kwargs: Any) -> FastAPI:
    path = tmp_path / "porteiro.toml"
    path.write_text(config_text(tmp_path, **kwargs), encoding="utf-8")
    return create_app(load_config(path, env={}))


def client(app: FastAPI, token: str | None = ADMIN, *, address: str = "127.0.0.1"
           ) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4321)),
                             base_url="http://hub", headers=headers, timeout=15)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    application = make_app(tmp_path)
    async with application.router.lifespan_context(application):
        yield application


def _api_routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, nested routers included."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _api_routes(nested.routes)
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, route.path


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = sorted({(m, p) for m, p in _api_routes(app.routes)
                    if p.startswith("/api") or p == "/metrics"})
    spec = app.openapi()["paths"]
    documented = {(m.upper(), p) for p, ops in spec.items() for m in ops
                  if p.startswith("/api") or p == "/metrics"}
    assert documented <= set(found)  # the walk missed nothing
    assert len(found) >= 30
    return found


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m[1], "1"), path)


# -- authentication and scopes --------------------------------------------------------------


async def test_no_token_is_401_on_every_api_route(app: FastAPI) -> None:
    routes = protected_routes(app)
    async with client(app, None) as anonymous:
        for method, path in routes:
            reply = await anonymous.request(method, fill(path))
            assert reply.status_code == 401, (method, path, reply.text)
            assert reply.headers["www-authenticate"].startswith("Bearer")
        # The query-string token of the snapshot and the stream is checked too.
        for path in ("/api/events/1/snapshot", "/api/events/stream"):
            reply = await anonymous.get(path, params={"access_token": "x" * 20})
            assert reply.status_code == 401
    async with client(app, None) as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200  # the only open one


async def test_read_only_token_cannot_change_anything(app: FastAPI) -> None:
    hub: Hub = app.state.hub
    writes = [(m, p) for m, p in protected_routes(app) if m != "GET"]
    assert {("POST", "/api/admin/prune"), ("POST", "/api/people/sync"),
            ("POST", "/api/devices/{name}/doors/{door}/open")} <= set(writes)
    async with client(app) as admin:
        assert (await admin.post("/api/people", json={"user_id": "1021"})).status_code == 201
    people_before = hub.store.people.count()
    async with client(app, READER) as reader:
        for method, path in writes:
            reply = await reader.request(method, fill(path), json={"user_id": "1022"})
            assert reply.status_code == 403, (method, path, reply.text)
        assert (await reader.get("/api/audit")).status_code == 403  # admin-only reading
        assert (await reader.get("/api/people")).status_code == 200
    assert hub.store.people.count() == people_before
    assert hub.people.directory.get("1021") is not None
    assert hub.sync.status() == [] or all(s["state"] != "running" for s in hub.sync.status())


def test_tokens_are_kept_as_digests_compared_in_constant_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = [TokenSettings(name="a", token=ADMIN, scope="admin"),
              TokenSettings(name="b", token=READER),
              TokenSettings(name="c", token_sha256=hashlib.sha256(b"z" * 12).hexdigest())]
    auth = TokenAuth(tokens)
    compared: list[tuple[bytes, bytes]] = []
    original = auth_module.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", counting)
    for token, expected in ((ADMIN, "a"), (READER, "b"), ("z" * 12, "c"), (GUESS, None)):
        compared.clear()
        found = auth.identify(token)
        assert (found.name if found else None) == expected
        assert len(compared) == 3  # every digest, whichever matched (or none)
        assert all(len(a) == len(b) == 32 for a, b in compared)
    assert {d for d, _ in auth._digests} == {
        hashlib.sha256(t.encode()).digest() for t in (ADMIN, READER, "z" * 12)}


def _reachable(*roots: object) -> Iterator[object]:
    """Everything reachable from ``roots``, not following modules, classes, module
    globals, code or running frames (those hold the test's own constants)."""
    module_dicts = {id(vars(m)) for m in list(__import__("sys").modules.values())
                    if m is not None and hasattr(m, "__dict__")}
    skip = (types.ModuleType, type, types.CodeType, types.FrameType,
            types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip) or id(obj) in module_dicts:
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(gc.get_referents(obj))


def test_no_token_is_reachable_from_the_app(tmp_path: Path) -> None:
    application = make_app(tmp_path)
    secrets = (ADMIN, READER)
    auths = []
    for obj in _reachable(application, application.state.hub):
        if isinstance(obj, TokenAuth):
            auths.append(obj)
        if isinstance(obj, str | bytes | bytearray):
            text = obj.decode("latin-1") if isinstance(obj, bytes | bytearray) else obj
            assert not any(s in text for s in secrets), f"a token is reachable: {text[:80]!r}"
    assert auths  # the walk did reach the checker (through the routes' dependencies)


# -- failed logins ------------------------------------------------------------------------


async def test_failed_logins_are_rate_limited_per_address(
        app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    limit = auth_module.FAILED_LOGIN_LIMIT
    async with client(app, GUESS, address="192.0.2.7") as guesser, \
            client(app, ADMIN, address="192.0.2.7") as same_address, \
            client(app, ADMIN, address="192.0.2.8") as elsewhere, \
            client(app, None, address="192.0.2.9") as anonymous:
        for _ in range(3 * limit):  # missing tokens are not failures
            assert (await anonymous.get("/api/devices")).status_code == 401
        for i in range(limit):
            path = "/api/devices" if i % 2 else "/api/people"
            assert (await guesser.get(path)).status_code == 401
        limited = await guesser.get("/api/devices")
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= auth_module.FAILED_LOGIN_WINDOW
        # Writes (admin_scope) and query tokens are held back too.
        assert (await guesser.post("/api/people", json={"user_id": "9"})).status_code == 429
        assert (await guesser.get("/api/events/stream",
                                  params={"access_token": GUESS})).status_code == 429
        # A right token from the blocked address waits as well (no oracle) ...
        assert (await same_address.get("/api/devices")).status_code == 429
        # ... while other addresses are not affected.
        assert (await elsewhere.get("/api/devices")).status_code == 200
        async with client(app, None, address="192.0.2.9") as nobody:
            assert (await nobody.get("/api/devices")).status_code == 401
    async with client(app, ADMIN, address="192.0.2.9") as later:
        assert (await later.get("/api/devices")).status_code == 200
    warnings = [r.getMessage() for r in caplog.records if "invalid API tokens" in r.getMessage()]
    assert warnings == [(f"{limit} invalid API tokens from 192.0.2.7 within 60 s: its tokens "
                         "are refused (429) for a while")]


def test_failed_login_window_and_memory_bound() -> None:
    now = [1000.0]
    limiter = FailedLogins(limit=3, window=60, clock=lambda: now[0], max_addresses=5)
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        now[0] += 10
    assert limiter.retry_after("a") == 30  # the first failure leaves the window at 1060
    now[0] = 1060.5
    assert limiter.retry_after("a") is None  # two left in the window
    limiter.failed("a")
    assert limiter.retry_after("a") == 10
    for n in range(50):
        limiter.failed(f"10.0.0.{n}")
    assert len(limiter._failures) <= 5


# -- device-facing paths ----------------------------------------------------------------


def _push_body(card: str = CARDS[0], user: str = "1021") -> tuple[bytes, dict[str, str]]:
    utc = int(time.time())
    event = RawEvent("AccessControl", "Pulse", 0, {
        "CardNo": card, "UserID": user, "Status": 1, "ErrorCode": 0, "Method": 1,
        "Door": 0, "Type": "Entry", "UTC": utc, "CreateTime": utc})
    body, ctype = format_push_body([event], time="01-01-2026 00:00:00")
    return body, {"Content-Type": ctype}


async def test_device_paths_refuse_addresses_outside_device_networks(app: FastAPI) -> None:
    body, headers = _push_body()
    for address in ("192.168.9.9", "10.2.0.1", "::1"):
        async with client(app, ADMIN, address=address) as outsider:
            for path in ("/notification", "/notification/portaria"):
                reply = await outsider.post(path, content=body, headers=headers)
                assert reply.status_code == 403, (address, path)
            for path in ("/keepalive", "/keepalive/portaria"):
                assert (await outsider.get(path)).status_code == 403, (address, path)
    async with client(app, None, address=DEVICE_ADDR[0]) as reader:
        assert (await reader.post("/notification/portaria", content=body,
                                  headers=headers)).text == "OK"
        assert (await reader.get("/keepalive/portaria")).status_code == 200
    async with client(app) as http:
        events = (await http.get("/api/events")).json()["events"]
    assert len(events) == 1  # only the allowed push was stored


# -- SQL injection ----------------------------------------------------------------------


async def test_sql_injection_through_every_filter_is_inert(tmp_path: Path,
                                                           database_url: str) -> None:
    application = make_app(tmp_path, database_url=database_url)
    async with application.router.lifespan_context(application):
        hub: Hub = application.state.hub
        body, headers = _push_body()
        async with client(application, address=DEVICE_ADDR[0]) as http:
            assert (await http.post("/notification/portaria", content=body,
                                    headers=headers)).text == "OK"
            assert (await http.post("/api/people", json={
                "user_id": "1021", "name": "Ana", "cards": [CARDS[0]]})).status_code == 201
            filters = {
                "/api/events": ["device", "kind", "user_id", "card", "granted", "error",
                                "method", "since", "until", "cursor", "lang", "format",
                                "limit"],
                "/api/people": ["q", "after", "limit"],
                "/api/audit": ["action", "actor", "target", "since", "before_id", "limit"],
                "/api/sync": ["device", "state", "user_id", "limit"],
            }
            for path, names in filters.items():
                for name in names:
                    for payload in INJECTIONS:
                        reply = await http.get(path, params={name: payload})
                        assert reply.status_code < 500, (path, name, payload, reply.text)
                        if reply.status_code != 200 or name in {"format", "lang"}:
                            continue
                        found = reply.json()
                        rows = (found.get("events") or found.get("people")
                                or found.get("entries") or found.get("people", []))
                        if name not in {"before_id", "limit", "after", "cursor"}:
                            assert rows in ([], None), (path, name, payload, found)
                reply = await http.get(path, params={"action": INJECTION + "*"})
                assert reply.status_code < 500
            for path in (f"/api/people/{INJECTION}", f"/api/events/{INJECTION}",
                         f"/api/devices/{INJECTION}", f"/api/people/{INJECTION}/face"):
                assert (await http.get(path)).status_code in {404, 422}, path
            # Everything is still there.
            assert len((await http.get("/api/events")).json()["events"]) == 1
            assert len((await http.get("/api/people")).json()["people"]) == 1
        tables = set(sa.inspect(hub.store.engine).get_table_names())
        assert {"events", "people", "cards", "audit", "sync_status"} <= tables


# -- secrets ----------------------------------------------------------------------------


class Hook:
    """A webhook receiver that checks signatures."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        return web.Response(text="ok")

    async def __aenter__(self) -> Hook:
        application = web.Application()
        application.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(application, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def _until(check: Any, timeout: float = 15) -> None:
    async def loop() -> None:
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


def _secrets() -> dict[str, list[str]]:
    b64 = base64.b64encode(PHOTO).decode()
    return {
        "device password": [DEVICE_PASSWORD],
        "token": [ADMIN, READER, GUESS, hashlib.sha256(ADMIN.encode()).hexdigest()],
        "webhook secret": [WEBHOOK_SECRET],
        "person password": [f'"{PERSON_PASSWORD}"', f"={PERSON_PASSWORD}",
                            f"'{PERSON_PASSWORD}'"],
        "photo": [b64[:40], b64[400:440], PHOTO[20:60].decode("latin-1"),
                  PHOTO[20:40].hex()],
    }


def _scan(text: str, where: str, *, cards: bool) -> None:
    for kind, values in _secrets().items():
        for value in values:
            assert value not in text, f"{kind} in {where}: {text[:300]!r}"
    if cards:
        for card in CARDS:
            assert card.lower() not in text.lower(), f"a full card number in {where}: {text!r}"


async def test_secrets_never_appear_in_logs_or_errors(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[tuple[str, httpx.Response]] = []

    async def keep(reply: httpx.Response) -> None:
        await reply.aread()
        answers.append((f"{reply.request.method} {reply.request.url}", reply))

    async with EmulatorHost.start(devices=1, states=[make_state(0, password=DEVICE_PASSWORD)]
                                  ) as host, Hook() as hook:
        emulated = host.devices[0]
        application = make_app(tmp_path, device_port=host.ports[0], hook_port=hook.port)
        async with application.router.lifespan_context(application):
            hub: Hub = application.state.hub
            transport = httpx.ASGITransport(app=application, client=DEVICE_ADDR)
            hooks = {"response": [keep]}
            async with httpx.AsyncClient(transport=transport, base_url="http://hub",
                                         headers={"Authorization": f"Bearer {ADMIN}"},
                                         event_hooks=hooks) as http, \
                    httpx.AsyncClient(transport=transport, base_url="http://hub",
                                      headers={"Authorization": f"Bearer {GUESS}"},
                                      event_hooks=hooks) as guesser:
                person = {"user_id": "1021", "name": "Ana", "password": PERSON_PASSWORD,
                          "cards": list(CARDS), "doors": {"*": [0]}}
                assert (await http.post("/api/people", json=person)).status_code == 201
                # Mistakes that name a card or a password.
                await http.post("/api/people", json={**person, "user_id": "1022"})
                await http.post("/api/people", json={"user_id": "1023",
                                                     "cards": [CARDS[0] + "!"]})
                await http.post("/api/people", json={"user_id": "1024",
                                                     "password": PERSON_PASSWORD + "x" * 40})
                await http.post("/api/people/1021/cards", json={"card_no": CARDS[1]})
                await http.delete(f"/api/people/9999/cards/{CARDS[0]}")
                face = await http.put("/api/people/1021/face", content=PHOTO,
                                      headers={"Content-Type": "image/jpeg"})
                assert face.status_code == 200, face.text
                await http.put("/api/people/1021/face", content=b"not a jpeg" + PHOTO[20:80],
                               headers={"Content-Type": "image/jpeg"})
                # Sync to the reader.
                assert (await http.post("/api/people/sync")).status_code == 202
                await _until(lambda: "1021" in emulated.state.users
                             and "1021" in emulated.state.faces)
                await _until(lambda: not hub.sync.busy())
                # A passage, forwarded to the webhook; a door opening.
                body, headers = _push_body(CARDS[0].lower())
                assert (await http.post("/notification/portaria", content=body,
                                        headers=headers)).text == "OK"
                await _until(lambda: len(hook.got) >= 1)
                assert (await http.post("/api/devices/portaria/doors/0/open")
                        ).status_code == 200
                # Readings.
                for path in ("/api/people", "/api/people/1021", "/api/people/export",
                             "/api/people/export?format=csv", "/api/sync", "/api/audit",
                             "/api/events", "/api/events?format=csv", "/api/devices",
                             "/api/devices/portaria", "/metrics", "/api/sinks",
                             f"/api/events?card={CARDS[0]}", "/api/whoami", "/api/stats"):
                    reply = await http.get(path)
                    assert reply.status_code == 200, (path, reply.text)
                # Failed logins.
                for _ in range(12):
                    await guesser.get("/api/people")
                await guesser.get("/api/events/stream", params={"access_token": GUESS})
            audit = hub.store.people.audit_list(limit=1000)
        assert emulated.state.users["1021"].password == PERSON_PASSWORD  # the readers' copy
    # The emulated reader's logs and this test's own client requests are not the hub's.
    records = [r for r in caplog.records if not r.name.startswith("porteiro.emulator")
               and not (r.name == "httpx" and "http://hub/" in r.getMessage())]
    assert len(records) > 20
    handler = logging.Formatter()
    for record in records:
        text = handler.format(record)
        _scan(text + repr(record.args), f"the log ({record.name})", cards=True)
    for where, reply in answers:
        if where.endswith("/face"):
            continue  # a JPEG upload's answer
        # Card numbers are data in successful answers (people, events); an error names
        # only a card the same (admin) caller sent in that request, never another one.
        sent = (str(reply.request.url) + reply.request.content.decode("latin-1")).lower()
        _scan(reply.text, f"the answer to {where}", cards=reply.status_code >= 400
              and not any(card.lower() in sent for card in CARDS))
    _scan(json.dumps(audit, default=str), "the audit log", cards=True)
    # The webhook got the passage, signed.
    headers, raw = hook.got[0]
    assert verify(WEBHOOK_SECRET, headers["X-Porteiro-Timestamp"], raw,
                  headers[SIGNATURE_HEADER])
    _scan(raw.decode(), "the webhook body", cards=False)


# -- webhook signatures -----------------------------------------------------------------


def test_webhook_signatures_verify_and_tampering_does_not() -> None:
    body = b'{"id": 7, "card_no": "****9C71"}'
    stamp = str(int(time.time()))
    good = sign(WEBHOOK_SECRET, stamp, body)
    assert verify(WEBHOOK_SECRET, stamp, body, good)
    assert not verify(WEBHOOK_SECRET, stamp, body.replace(b"7", b"8"), good)  # tampered
    assert not verify(WEBHOOK_SECRET, str(int(stamp) + 1), body, good)  # other timestamp
    assert not verify("another-secret", stamp, body, good)
    assert not verify(WEBHOOK_SECRET, stamp, body, good.upper())
    assert not verify(WEBHOOK_SECRET, stamp, body, "")
    old = str(int(time.time()) - 3600)
    assert not verify(WEBHOOK_SECRET, old, body, sign(WEBHOOK_SECRET, old, body))  # replay
    assert not verify(WEBHOOK_SECRET, "not-a-time", body, good)


# -- TLS to readers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(  # noqa: S603  # fixed arguments
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",  # noqa: S607
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


async def test_tls_to_readers_verifies_by_default(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.AppRunner(build_app(EmulatedDevice(make_state(0))), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Device(f"127.0.0.1:{port}", password="admin123", https=True) as strict:
            with pytest.raises(DeviceConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                await strict.serial()
        async with Device(f"127.0.0.1:{port}", password="admin123", https=True,
                          verify=False) as lax:
            assert await lax.serial()
    finally:
        await runner.cleanup()


def test_hub_settings_verify_tls_by_default(tmp_path: Path) -> None:
    path = tmp_path / "porteiro.toml"
    path.write_text(config_text(tmp_path, hook_port=9), encoding="utf-8")
    config = load_config(path, env={})
    assert config.devices[0].verify_tls is True
    assert config.sinks[0].verify_tls is True  # type: ignore[union-attr]


def test_secrets_stay_out_of_the_configurations_repr() -> None:
    from porteiro.hub.config import HubConfig  # noqa: PLC0415

    config = HubConfig.model_validate({
        "tokens": [{"name": "ops", "token": "tok-en-secret", "scope": "admin"}],
        "devices": [{"name": "a", "host": "h", "password": "dev-secret"}],
        "sinks": [{"type": "webhook", "url": "http://x", "secret": "hook-secret"},
                  {"type": "mqtt", "url": "mqtt://h", "password": "mqtt-secret"}],
        "access": {"duress_password": "9999-duress"}})
    text = repr(config) + str(config)
    for secret in ("tok-en-secret", "dev-secret", "hook-secret", "mqtt-secret", "9999-duress"):
        assert secret not in text
