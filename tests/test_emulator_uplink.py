"""The emulator as a client: push with retry until 200, Modo Online grant/deny/timeout."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx
import pytest
from aiohttp import web

from porteiro.access import Card, Presentation, User
from porteiro.emulator import EmulatedDevice, EmulatorHost
from porteiro.wire.push import format_online_reply, parse_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

AUTH = httpx.DigestAuth("admin", "admin123")


class Receiver:
    """A stand-in server: records POST bodies, fails the first ``fail`` of them."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str]] = []
        self.keepalives = 0
        self.fail = 0
        self.grant: bool | None = True
        self.delay = 0.0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def notification(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500)
        self.bodies.append((body, request.headers.get("Content-Type", "")))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.grant is None:
            return web.Response(text="OK")
        return web.Response(body=format_online_reply(granted=self.grant, message="Bem-vindo!"),
                            content_type="application/json")

    async def keepalive(self, _request: web.Request) -> web.Response:
        self.keepalives += 1
        return web.Response(text="OK")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/notification", self.notification)
        app.router.add_get("/keepalive", self.keepalive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def events(self) -> list[str]:
        return [e.code for body, ctype in self.bodies for e in parse_push_body(body, ctype).events]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def device() -> AsyncIterator[tuple[EmulatedDevice, str]]:
    async with EmulatorHost.start(devices=1) as host:
        dev, url = host.endpoints[0]
        dev.state.users["1"] = User("1", "Ana")
        dev.state.cards["AA01"] = Card("AA01", "1")
        dev.state.users["2"] = User("2", "Valid past", valid_to=1.0)
        dev.state.cards["BB02"] = Card("BB02", "2")
        yield dev, url


async def configure(url: str, port: int, mode: int) -> None:
    async with httpx.AsyncClient(base_url=url, auth=AUTH) as http:
        upload = await http.get(
            "/cgi-bin/configManager.cgi?action=setConfig&PictureHttpUpload.Enable=true"
            f"&PictureHttpUpload.UploadServerList[0].Address=127.0.0.1"
            f"&PictureHttpUpload.UploadServerList[0].Port={port}"
            "&PictureHttpUpload.UploadServerList[0].Uploadpath=/notification"
            "&PictureHttpUpload.UploadServerList[0].HttpsEnable=false")
        assert upload.content == b"OK\r\n"
        mode_reply = await http.get(
            f"/cgi-bin/configManager.cgi?action=setConfig&Intelbras_ModeCfg.DeviceMode={mode}"
            "&Intelbras_ModeCfg.KeepAlive.Enable=true&Intelbras_ModeCfg.KeepAlive.Interval=1"
            "&Intelbras_ModeCfg.KeepAlive.Path=/keepalive&Intelbras_ModeCfg.KeepAlive.TimeOut=2000"
            "&Intelbras_ModeCfg.RemoteCheckTimeout=1")
        assert mode_reply.content == b"OK\r\n"


async def wait_for(check: object, timeout: float = 10) -> None:
    async def poll() -> None:
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_push_retries_until_200_in_order(receiver: Receiver,
                                               device: tuple[EmulatedDevice, str]) -> None:
    dev, url = device
    await configure(url, receiver.port, mode=1)
    receiver.fail = 3
    receiver.grant = None
    dev.present(Presentation(card_no="AA01"))
    dev.tamper()
    dev.set_door_contact(0, is_open=True)
    await wait_for(lambda: len(receiver.events()) >= 3)
    # In order; the backlog built during the outage drains batched in "Events".
    assert receiver.events() == ["AccessControl", "ChassisIntruded", "DoorStatus"]
    assert len(receiver.bodies) < 3
    assert dev.uplink is not None
    assert dev.uplink.failures >= 3
    assert dev.state.pending_push == []
    body, ctype = receiver.bodies[0]
    parsed = parse_push_body(body, ctype)
    assert parsed.events[0].extras["PhysicalAddress"] == dev.state.identity.mac
    assert parsed.time is not None


async def test_face_events_carry_a_snapshot(receiver: Receiver,
                                            device: tuple[EmulatedDevice, str]) -> None:
    dev, url = device
    await configure(url, receiver.port, mode=1)
    receiver.grant = None
    dev.present(Presentation(face="1"))
    await wait_for(lambda: len(receiver.bodies) >= 1)
    body, ctype = receiver.bodies[0]
    images = parse_push_body(body, ctype).images
    assert len(images) == 1
    assert images[0].startswith(b"\xff\xd8")


async def sim_present(url: str, **fields: object) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=10) as http:
        reply = await http.post("/sim/present", json=fields)
    assert reply.status_code == 200, reply.text
    result: dict[str, object] = reply.json()
    return result


async def test_online_grant_and_deny(receiver: Receiver,
                                     device: tuple[EmulatedDevice, str]) -> None:
    dev, url = device
    await configure(url, receiver.port, mode=2)
    granted = await sim_present(url, card_no="BB02")  # locally out of validity...
    assert granted["granted"] is True  # ...but the server decides
    assert granted["message"] == "Bem-vindo!"
    receiver.grant = False
    denied = await sim_present(url, card_no="AA01")
    assert denied["granted"] is False
    assert denied["error"] == 16
    assert dev.online_messages == ["Bem-vindo!", "Bem-vindo!"]
    await wait_for(lambda: receiver.keepalives >= 1, timeout=5)


async def test_online_timeout_falls_back_to_local_rules(receiver: Receiver,
                                                        device: tuple[EmulatedDevice, str]
                                                        ) -> None:
    dev, url = device
    await configure(url, receiver.port, mode=2)
    receiver.delay = 3  # longer than RemoteCheckTimeout=1
    registered = await sim_present(url, card_no="AA01")
    assert registered["granted"] is True  # registered users pass when offline
    expired = await sim_present(url, card_no="BB02")
    assert expired["granted"] is False  # ...except those outside their validity
    assert expired["error"] == 20
    assert dev.state.records[-1]["Status"] == 0


async def test_online_decisions_taken_offline_are_sent_later(
        receiver: Receiver, device: tuple[EmulatedDevice, str]) -> None:
    dev, url = device
    await configure(url, 1, mode=2)  # nothing listens on port 1: the server is down
    await sim_present(url, card_no="AA01")
    assert dev.state.pending_push, "the offline decision waits for the server"
    await configure(url, receiver.port, mode=2)
    assert dev.uplink is not None
    dev.uplink.notify()
    await wait_for(lambda: not dev.state.pending_push)
    posted = [json.loads(b.split(b"\r\n\r\n", 1)[1].split(b"\r\n--myboundary")[0])
              for b, _ in receiver.bodies]
    assert posted[-1]["Events"][0]["Data"]["CardNo"] == "AA01"
