"""The device-facing HTTP side: event push, Modo Online requests and keepalives.

Devices POST to ``push_path`` (default ``/notification``), or ``push_path/<device
name>`` when one server address serves several readers behind NAT; they GET
``keepalive_path``. These paths are separate from the REST API (no bearer token: the
device cannot send one) and can be limited to device addresses with
``[hub] device_networks``.

Push [OFFICIAL]: the device keeps an event until it gets HTTP 200, so the hub answers
``OK`` only after the events are committed; a resend is stored once (the event key).
A body that cannot be read at all gets 400 and is logged; the good events of a body
with a malformed part are stored and the bad part is logged and counted.

Modo Online [OFFICIAL-EX]: every POST from an online-mode device gets the JSON reply
``{"message", "code": "200", "auth"}`` (``auth:"false"`` is the neutral answer to
non-access events). Decisions are the subject of a later issue; until then the hub
answers with ``[hub] online_default`` and logs it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from porteiro.events import build_event
from porteiro.exceptions import MalformedInputError
from porteiro.hub.hub import normalise_mac
from porteiro.wire.push import KEEPALIVE_REPLY, PUSH_REPLY, format_online_reply, parse_push_body

if TYPE_CHECKING:
    from porteiro.hub.hub import DeviceRuntime, Hub

__all__ = ["ONLINE_DEFAULT_MESSAGES", "device_router"]

_LOG = logging.getLogger(__name__)

ONLINE_DEFAULT_MESSAGES = {
    ("allow", "pt"): "Acesso liberado", ("allow", "en"): "Access granted",
    ("deny", "pt"): "Acesso negado", ("deny", "en"): "Access denied",
}
"""What the reader's display shows while the hub answers Modo Online by default."""

_MAC_CACHE = 65536
"""Bound of the MAC lookup cache (cleared when full)."""

MAX_PUSH_BODY = 8 << 20
"""A push body is one or a few events and a ~200 KB snapshot; anything far larger is
refused before it is read whole."""


def _plain(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain")


def device_router(hub: Hub) -> APIRouter:
    """Routes for ``hub``'s device-facing paths."""
    config = hub.config.hub
    router = APIRouter(include_in_schema=False)
    metrics = hub.metrics

    # MAC (as posted) -> device, for the devices identified by MAC: the hub's lookup
    # normalises every configured MAC per push. An entry is used only while its device
    # is still the one registered under its name.
    by_mac: dict[str, DeviceRuntime] = {}

    def identify(name: str | None, address: str | None, mac: str | None
                 ) -> DeviceRuntime | None:
        if name is None and mac is not None:
            known = by_mac.get(mac)
            if known is not None and hub.devices.get(known.settings.name) is known:
                return known
            found = hub.identify(None, address, mac)
            if found is not None and found.settings.mac is not None \
                    and normalise_mac(found.settings.mac) == normalise_mac(mac):
                if len(by_mac) >= _MAC_CACHE:
                    by_mac.clear()
                by_mac[mac] = found
            return found
        return hub.identify(name, address, mac)

    async def receive(request: Request, name: str | None) -> Response:
        started = time.perf_counter()
        address = request.client.host if request.client else None
        if not hub.address_allowed(address):
            metrics.rejected.labels("address").inc()
            _LOG.warning("push from %s refused: not in device_networks", address)
            return _plain("Forbidden", 403)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_PUSH_BODY:
            metrics.rejected.labels("too_large").inc()
            _LOG.warning("push from %s refused: body of %s bytes", address, length)
            return _plain("Payload Too Large", 413)
        body = await request.body()
        try:
            push = parse_push_body(body, request.headers.get("content-type"),
                                   request.headers.get("content-encoding"))
        except MalformedInputError as exc:
            device = hub.identify(name, address)
            metrics.decode_errors.labels(device.settings.name if device else "unknown",
                                         "push").inc()
            _LOG.warning("unreadable push from %s (%s): %s", address,
                         device.settings.name if device else "unknown device", exc.reason)
            return _plain(f"Bad Request: {exc.reason}", 400)
        mac = next((str(e.extras["PhysicalAddress"]) for e in push.events
                    if e.extras.get("PhysicalAddress")), None)
        device = identify(name, address, mac)
        if device is None and name is None:
            device = await hub.auto_register(address, mac, "push")
        if device is None:
            metrics.rejected.labels("unknown_device").inc()
            _LOG.warning("push from an unknown device refused: address=%s name=%s MAC=%s "
                         "(add it to [[devices]] or set hub.auto_register)", address, name, mac)
            return _plain("Unknown device", 403)
        for problem in push.problems:
            metrics.decode_errors.labels(device.settings.name, "push").inc()
            _LOG.warning("push from %s: %s", device.settings.name, problem.text())
        offset = device.settings.utc_offset_timedelta() if device.settings.local_epochs else None
        events = [build_event(raw, utc_offset=offset) for raw in push.events]
        images: list[bytes | None] = [None] * len(events)
        if push.images and len(events) == 1:  # one snapshot belongs to the one event
            images[0] = push.images[0]
        await hub.ingest(device, events, source="push", images=images)
        hub.contact(device)
        if device.settings.mode == "online":
            reply = online_default(hub, device)
            metrics.online_requests.labels(device.settings.name, config.online_default).inc()
        else:
            reply = Response(PUSH_REPLY, media_type="text/plain")
        metrics.push_ack_seconds.observe(time.perf_counter() - started)
        return reply

    # Plain (Starlette) routes, not FastAPI ones: nothing to validate or inject, and
    # FastAPI's per-request dependency solving cost more than parsing a push.
    async def push_any(request: Request) -> Response:
        return await receive(request, None)

    async def push_named(request: Request) -> Response:
        return await receive(request, request.path_params["name"])

    router.add_route(config.push_path, push_any, methods=["POST"], include_in_schema=False)
    router.add_route(config.push_path + "/{name}", push_named, methods=["POST"],
                     include_in_schema=False)

    async def keepalive(request: Request, name: str | None) -> Response:
        address = request.client.host if request.client else None
        if not hub.address_allowed(address):
            metrics.rejected.labels("address").inc()
            return _plain("Forbidden", 403)
        device = hub.identify(name, address)
        if device is not None:
            hub.contact(device)
        else:
            _LOG.info("keepalive from an unidentified address %s", address)
        # Explicit Content-Length, no chunking: devices need it [OFFICIAL-EX].
        return Response(KEEPALIVE_REPLY, media_type="text/html; charset=UTF-8")

    @router.get(config.keepalive_path)
    async def keepalive_any(request: Request) -> Response:
        return await keepalive(request, None)

    @router.get(config.keepalive_path + "/{name}")
    async def keepalive_named(request: Request, name: str) -> Response:
        return await keepalive(request, name)

    return router


def online_default(hub: Hub, device: DeviceRuntime) -> Response:
    """The configured default Modo Online answer (until the hub decides, issue [6/8])."""
    config = hub.config.hub
    allow = config.online_default == "allow"
    message = ONLINE_DEFAULT_MESSAGES[(config.online_default, config.language)]
    _LOG.info("Modo Online request from %s answered with the default (%s)",
              device.settings.name, config.online_default)
    return Response(format_online_reply(granted=allow, message=message),
                    media_type="application/json")
