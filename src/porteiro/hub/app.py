"""The hub's HTTP side (FastAPI): the device-facing push receiver and keepalive.

Work in progress for issue [4/8]. What is here: devices POST their events (every
variant :func:`porteiro.wire.push.parse_push_body` reads) to ``/notification`` or
``/notification/<device name>``; the hub answers ``OK`` only after the events are
committed (so a device that gets no 200 resends, and the resend is stored once);
keepalives answer ``OK`` and mark the device online; ``/healthz``; a first
``/api/events`` listing. Not yet here: collectors, backfill, the full API, tokens,
SSE, metrics (see the closing note of the session).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from porteiro.events import build_event
from porteiro.exceptions import MalformedInputError
from porteiro.hub.collector import Collector
from porteiro.store import Store, Writer
from porteiro.store.schema import devices as devices_table
from porteiro.wire.push import KEEPALIVE_REPLY, format_online_reply, parse_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from porteiro.hub.config import DeviceSettings, HubConfig

__all__ = ["Hub", "create_app"]

_LOG = logging.getLogger(__name__)


class Hub:
    """The running hub: configuration, store, writer, and the devices' ids."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.store = Store(config.hub.url())
        self.writer = Writer(self.store)
        self.device_ids: dict[str, int] = {}
        self.by_name: dict[str, DeviceSettings] = {d.name: d for d in config.devices}
        self.collectors: dict[str, Collector] = {}

    def open(self) -> None:
        """Create the data directory, migrate, start the writer, register devices."""
        if self.config.hub.database_url is None:
            self.config.hub.data_dir.mkdir(parents=True, exist_ok=True)
        self.store.migrate()
        self.writer.start()
        for device in self.config.devices:
            self.device_ids[device.name] = self.store.ensure_device(
                device.name, host=device.host, mode=device.mode,
                utc_offset_s=device.offset_seconds())

    def close(self) -> None:
        """Drain the writer and close the database."""
        self.writer.close()
        self.store.close()

    def identify(self, name: str | None, address: str | None) -> DeviceSettings | None:
        """The device posting: by the path's name, else by a unique source address."""
        if name:
            return self.by_name.get(name)
        matches = [d for d in self.config.devices if d.host == address]
        return matches[0] if len(matches) == 1 else None

    def touch(self, device: DeviceSettings) -> None:
        """Record a contact (keepalive or push): the device is online."""
        with self.store.engine.begin() as conn:
            conn.execute(devices_table.update()
                         .where(devices_table.c.id == self.device_ids[device.name])
                         .values(online=True, last_contact=time.time()))


def create_app(config: HubConfig) -> FastAPI:
    """The hub application for ``config``."""
    hub = Hub(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(hub.open)
        for device in config.devices:
            if device.mode == "attach":
                collector = Collector(device, hub.device_ids[device.name], hub.store,
                                      hub.writer)
                collector.start()
                hub.collectors[device.name] = collector
        try:
            yield
        finally:
            for collector in hub.collectors.values():
                await collector.close()
            await asyncio.to_thread(hub.close)

    app = FastAPI(title="Porteiro hub", lifespan=lifespan)
    app.state.hub = hub
    push_path = config.hub.push_path.rstrip("/") or "/notification"

    async def receive(request: Request, name: str | None = None) -> Response:
        client = request.client.host if request.client else None
        device = hub.identify(name, client)
        if device is None:
            _LOG.warning("push from an unknown source rejected: address=%s name=%s",
                         client, name)
            return Response("Unknown device", status_code=403)
        body = await request.body()
        try:
            push = parse_push_body(body, request.headers.get("content-type"),
                                   request.headers.get("content-encoding"))
        except MalformedInputError as exc:
            _LOG.warning("unreadable push from %s: %s", device.name, exc.reason)
            return Response(f"Bad Request: {exc.reason}", status_code=400)
        for problem in push.problems:
            _LOG.warning("push from %s: %s", device.name, problem.text())
        events = [build_event(raw) for raw in push.events]
        images: list[bytes | None] = [None] * len(events)
        if push.images and len(events) == 1:
            images[0] = push.images[0]
        await hub.writer.write(hub.device_ids[device.name], device.name, events,
                               source="push", utc_offset_s=device.offset_seconds(),
                               images=images)
        await asyncio.to_thread(hub.touch, device)
        if device.mode == "online":
            # Modo Online decisions arrive with the next issue; until then a neutral,
            # well-formed answer keeps the device working (and the attempt is stored).
            _LOG.info("Modo Online request from %s answered with the default", device.name)
            body_out = format_online_reply(granted=False, message="")
            return Response(body_out, media_type="application/json")
        return Response("OK", media_type="text/plain")

    @app.post(push_path, include_in_schema=False)
    async def push_any(request: Request) -> Response:
        return await receive(request)

    @app.post(push_path + "/{name}", include_in_schema=False)
    async def push_named(request: Request, name: str) -> Response:
        return await receive(request, name)

    @app.get(config.hub.keepalive_path, include_in_schema=False)
    @app.get(config.hub.keepalive_path + "/{name}", include_in_schema=False)
    async def keepalive(request: Request, name: str | None = None) -> Response:
        device = hub.identify(name, request.client.host if request.client else None)
        if device is not None:
            await asyncio.to_thread(hub.touch, device)
        # Explicit Content-Length, no chunking: devices need it [OFFICIAL-EX].
        return Response(KEEPALIVE_REPLY, media_type="text/html; charset=UTF-8")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "writer_queue": hub.writer.depth}

    @app.get("/api/events")
    async def list_events(after_id: int = 0, limit: int = 100) -> JSONResponse:
        rows = await asyncio.to_thread(hub.store.list_events, after_id=after_id,
                                       limit=max(1, min(limit, 1000)))
        return JSONResponse(rows)

    return app
