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
``{"message", "code": "200", "auth"}``, decided by :mod:`porteiro.hub.online`
(``auth:"false"`` with no message is the neutral answer to non-access events).
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
from porteiro.hub.online import DecisionNotStoredError
from porteiro.store import Occurrences
from porteiro.wire.push import KEEPALIVE_REPLY, PUSH_REPLY, parse_push_body

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.types import Receive, Scope, Send

    from porteiro.hub.hub import DeviceRuntime, Hub

__all__ = ["device_router", "push_endpoint"]

_LOG = logging.getLogger(__name__)

_MAC_CACHE = 65536
"""Bound of the MAC lookup cache (cleared when full)."""

MAX_PUSH_BODY = 8 << 20
"""A push body is one or a few events and a ~200 KB snapshot; anything far larger is
refused before it is read whole."""


def _plain(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain")


_Reply = tuple[int, bytes, bytes]
"""(status, body, Content-Type) of a device-facing answer."""
_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"
_OK: _Reply = (200, PUSH_REPLY, _TEXT)
_FORBIDDEN: _Reply = (403, b"Forbidden", _TEXT)
_Head = tuple[str | None, str | None, str | None]
"""Content-Length, Content-Type and Content-Encoding of a push."""
if TYPE_CHECKING:
    _PushHandler = Callable[[str | None, str | None, _Head,
                             Callable[[], Awaitable[bytes | None]]], Awaitable[_Reply]]


def _push_handler(hub: Hub) -> _PushHandler:
    """``handle(address, name, content_length, content_type, content_encoding,
    read_body)``: one push, answered after its events are committed."""
    metrics = hub.metrics
    ack = metrics.push_ack_seconds

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

    async def handle(address: str | None, name: str | None, head: _Head,
                     read_body: Callable[[], Awaitable[bytes | None]]) -> _Reply:
        """One push: the reply (status, body, Content-Type), after the commit."""
        started = time.perf_counter()
        length, content_type, content_encoding = head
        if not hub.address_allowed(address):
            metrics.rejected.labels("address").inc()
            _LOG.warning("push from %s refused: not in device_networks", address)
            return _FORBIDDEN
        if length is not None and length.isascii() and length.isdigit() \
                and (len(length) > 9 or int(length) > MAX_PUSH_BODY):
            return _too_large(address, length)
        body = await read_body()
        if body is None:
            return _too_large(address, f"more than {MAX_PUSH_BODY}")
        try:
            push = parse_push_body(body, content_type, content_encoding)
        except MalformedInputError as exc:
            device = hub.identify(name, address)
            metrics.decode_errors.labels(device.settings.name if device else "unknown",
                                         "push").inc()
            _LOG.warning("unreadable push from %s (%s): %s", address,
                         device.settings.name if device else "unknown device", exc.reason)
            return 400, f"Bad Request: {exc.reason}".encode(), _TEXT
        mac = next((str(e.extras["PhysicalAddress"]) for e in push.events
                    if e.extras.get("PhysicalAddress")), None)
        device = identify(name, address, mac)
        if device is None and name is None:
            device = await hub.auto_register(address, mac, "push")
        if device is None:
            metrics.rejected.labels("unknown_device").inc()
            _LOG.warning("push from an unknown device refused: address=%s name=%s MAC=%s "
                         "(add it to [[devices]] or set hub.auto_register)", address, name, mac)
            return 403, b"Unknown device", _TEXT
        for problem in push.problems:
            metrics.decode_errors.labels(device.settings.name, "push").inc()
            _LOG.warning("push from %s: %s", device.settings.name, problem.text())
        offset = device.settings.utc_offset_timedelta() if device.settings.local_epochs else None
        events = [build_event(raw, utc_offset=offset) for raw in push.events]
        images: list[bytes | None] = [None] * len(events)
        if push.images and len(events) == 1:  # one snapshot belongs to the one event
            images[0] = push.images[0]
        if device.settings.mode == "online":
            hub.contact(device)
            try:
                return 200, await hub.online.answer(device, push.events, events, images), _JSON
            except DecisionNotStoredError as exc:
                _LOG.warning("Modo Online request of %s refused with 503: %s (the reader "
                             "decides alone and sends its record later)",
                             device.settings.name, exc)
                return 503, b"Service Unavailable: the event store is unavailable", _TEXT
        # A fresh numbering per body: identical events within it are kept apart, a
        # resent body is stored once; events without a time of their own (``_Button_``)
        # are keyed by the second they arrived, so two presses in two posts are two.
        await hub.ingest(device, events, source="push", images=images,
                         occurrences=Occurrences(live=True))
        hub.contact(device)
        ack.observe(time.perf_counter() - started)
        return _OK

    def _too_large(address: str | None, length: str) -> _Reply:
        metrics.rejected.labels("too_large").inc()
        _LOG.warning("push from %s refused: body of %s bytes", address, length)
        return 413, b"Payload Too Large", _TEXT

    return handle


def device_router(hub: Hub) -> APIRouter:
    """Routes for ``hub``'s device-facing paths."""
    config = hub.config.hub
    router = APIRouter(include_in_schema=False)
    metrics = hub.metrics
    handle = _push_handler(hub)

    async def receive(request: Request, name: str | None) -> Response:
        async def read_body() -> bytes | None:
            return await request.body()

        headers = request.headers
        status, body, media = await handle(
            request.client.host if request.client else None, name,
            (headers.get("content-length"), headers.get("content-type"),
             headers.get("content-encoding")), read_body)
        return Response(body, status_code=status, headers={"content-type": media.decode()})

    # Plain (Starlette) routes, not FastAPI ones: nothing to validate or inject, and
    # FastAPI's per-request dependency solving cost more than parsing a push. The hub's
    # application answers these POSTs with :func:`push_endpoint` before FastAPI's
    # middleware; these routes serve any other mounting of the router.
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


def push_endpoint(hub: Hub) -> Callable[[Scope, Receive, Send], Awaitable[bool]]:
    """A raw ASGI handler of ``POST push_path[/<name>]``, for the application to call
    before FastAPI's middleware and routing (which cost as much as parsing the push):
    ``await endpoint(scope, receive, send)`` answers and returns True, or returns False
    without touching the request when it is not a push. Same answers as the routes of
    :func:`device_router`."""
    push_path = hub.config.hub.push_path
    prefix = push_path + "/"
    handle = _push_handler(hub)

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if path == push_path:
            name = None
        elif path.startswith(prefix) and len(path) > len(prefix) \
                and "/" not in path[len(prefix):]:
            name = path[len(prefix):]
        else:
            return False
        length = content_type = content_encoding = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value.decode("latin-1")
            elif key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"content-encoding":
                content_encoding = value.decode("latin-1")
        client = scope.get("client")
        disconnected = False

        async def read_body() -> bytes | None:
            nonlocal disconnected
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected = True
                    raise _ClientGoneError
                chunk: bytes = message.get("body", b"")
                if not message.get("more_body", False) and not chunks:
                    return chunk  # the whole body in one message: no copy
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_PUSH_BODY:
                    return None
                if not message.get("more_body", False):
                    return b"".join(chunks)

        try:
            status, body, media = await handle(client[0] if client else None, name,
                                               (length, content_type, content_encoding),
                                               read_body)
        except _ClientGoneError:
            return True
        except Exception:  # noqa: BLE001  # as FastAPI's ServerErrorMiddleware would
            _LOG.exception("push to %s failed", scope["path"])
            if disconnected:
                return True
            status, body, media = 500, b"Internal Server Error", _TEXT
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(body)).encode()),
                                (b"content-type", media)]})
        await send({"type": "http.response.body", "body": body})
        return True

    return endpoint


class _ClientGoneError(Exception):
    """The device hung up before its body was read."""
