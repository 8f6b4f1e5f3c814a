"""Assembles the hub application: lifespan, device routes, API routes."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from porteiro import __version__
from porteiro.hub import Hub, device_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from porteiro.hub import HubConfig

__all__ = ["create_app"]


def create_app(config: HubConfig) -> FastAPI:
    """The hub application for ``config`` (the hub starts with the app's lifespan)."""
    hub = Hub(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(title="Porteiro hub", version=__version__, lifespan=lifespan)
    app.state.hub = hub
    app.include_router(device_router(hub))

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "writer_queue": hub.writer.depth}

    @app.get("/api/events")
    async def list_events(after_id: int = 0, limit: int = 100) -> JSONResponse:
        rows = await asyncio.to_thread(hub.store.list_events, after_id=after_id,
                                       limit=max(1, min(limit, 1000)))
        return JSONResponse(rows)

    return app
