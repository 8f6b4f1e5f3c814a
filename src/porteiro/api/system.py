"""``/healthz`` (open), ``/metrics`` (Prometheus) and administrative actions."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from porteiro import __version__
from porteiro.api.audit import admin_scope, audit_as, audited
from porteiro.api.auth import Principal, TokenAuth
from porteiro.hub import Hub

__all__ = ["HEALTH_TIMEOUT", "system_router"]

_LOG = logging.getLogger(__name__)
HEALTH_TIMEOUT = 5.0
"""A database that does not answer ``SELECT 1`` in this long counts as down."""


def system_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """Health, metrics and admin routes of ``hub``."""
    router = APIRouter()

    @router.get("/healthz", tags=["system"])
    async def healthz() -> JSONResponse:
        """Liveness and readiness: 503 when the database does not answer."""
        try:
            await asyncio.wait_for(asyncio.to_thread(hub.store.ping), HEALTH_TIMEOUT)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            _LOG.warning("health check: the database is unreachable: %s", exc)
            database_ok = False
        else:
            database_ok = True
        body = {"ok": database_ok, "database": "ok" if database_ok else "error",
                "writer_queue": hub.writer.depth,
                "uptime_s": round(time.time() - hub.started_at, 1),
                "devices_online": sum(1 for r in hub.devices.values() if r.online),
                "version": __version__}
        return JSONResponse(body, status_code=200 if database_ok else 503)

    @router.get("/metrics", tags=["system"], response_class=Response,
                dependencies=[Depends(auth.require("read"))],
                responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Prometheus text exposition of the hub's metrics."""
        hub.metrics.writer_queue.set(hub.writer.depth)
        hub.metrics.stream_subscribers.set(len(hub.bus))
        return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.post("/api/admin/prune", tags=["admin"],
                 openapi_extra=audit_as("admin.prune", problems_format=False))
    async def prune(request: Request,
                    principal: Annotated[Principal, Depends(admin_scope(hub, auth))]
                    ) -> dict[str, Any]:
        """Apply the retention settings now (the hub also does it hourly); audited."""
        async with audited(hub, principal, request, "admin.prune") as entry:
            events, snapshots = await asyncio.to_thread(hub.prune)
            entry.detail.update(events_deleted=events, snapshots_deleted=snapshots)
        return {"events_deleted": events, "snapshots_deleted": snapshots}

    return router
