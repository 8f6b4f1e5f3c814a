"""Assembles the hub application: lifespan, device routes, API routes."""

from __future__ import annotations

import ipaddress
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from porteiro import __version__
from porteiro.api.audit import audit_router, install_audit
from porteiro.api.auth import TokenAuth
from porteiro.api.codes import codes_router
from porteiro.api.dashboard import dashboard_router, install_dashboard
from porteiro.api.devices import devices_router
from porteiro.api.events import events_router
from porteiro.api.logs import install_access_log_filter
from porteiro.api.people import people_router
from porteiro.api.sinks import sinks_router
from porteiro.api.stream import StreamControl, stream_router
from porteiro.api.sync import sync_router
from porteiro.api.system import system_router
from porteiro.hub import Hub, device_router
from porteiro.hub.receiver import push_endpoint

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.types import Receive, Scope, Send

    from porteiro.hub import HubConfig

__all__ = ["create_app"]

_LOG = logging.getLogger(__name__)

_DESCRIPTION = """The Porteiro hub: events from Intelbras access-control readers, the site's
people, remote opening.

Every `/api` path and `/metrics` need `Authorization: Bearer <token>` (a token from
`[[tokens]]`; scope `read` or `admin`) unless no token is configured. The live stream
also takes `?access_token=`. Device-facing paths (push, keepalive) and `/healthz` are
open. Every state-changing call is recorded in the audit log (`GET /api/audit`).
"""


def _loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HubApp(FastAPI):
    """FastAPI with the device pushes answered in front of its middleware stack: a push
    is the hub's hottest request and the stack cost as much as storing it."""

    push: Callable[[Scope, Receive, Send], Awaitable[bool]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.push is not None and await self.push(scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(config: HubConfig) -> FastAPI:
    """The hub application for ``config`` (the hub starts with the app's lifespan).

    Tokens are reduced to their digests here; the hub gets the configuration without
    them, so nothing reachable from the app holds a token.
    """
    auth = TokenAuth(config.tokens)
    hub = Hub(config.model_copy(update={"tokens": []}))
    control = StreamControl()
    listen = config.hub.listen  # the lifespan must not keep ``config``: it holds the tokens

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        install_access_log_filter()
        if auth.open and not _loopback(listen):
            _LOG.warning("no [[tokens]] configured: the API on %s is open to anyone who "
                         "can reach it", listen)
        control.reset()
        await hub.start()
        try:
            yield
        finally:
            control.stopping.set()
            await hub.stop()

    app = _HubApp(title="Porteiro hub", version=__version__, lifespan=lifespan,
                  description=_DESCRIPTION)
    app.state.hub = hub
    app.push = push_endpoint(hub)
    app.include_router(device_router(hub))
    app.include_router(system_router(hub, auth))
    app.include_router(stream_router(hub, auth, control))  # before /api/events/{id}
    app.include_router(events_router(hub, auth))
    app.include_router(devices_router(hub, auth))
    app.include_router(codes_router(auth, config.hub.language))
    app.include_router(sinks_router(hub, auth))
    app.include_router(people_router(hub, auth))
    app.include_router(audit_router(hub, auth))
    install_audit(app, hub)
    app.include_router(sync_router(hub, auth))
    app.include_router(dashboard_router(hub, auth))
    install_dashboard(app)
    return app
