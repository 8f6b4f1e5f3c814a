"""``/api/sinks``: where events are forwarded, and how each destination is doing."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query

from porteiro.api.auth import TokenAuth
from porteiro.hub import Hub
from porteiro.store.serialize import iso

__all__ = ["sinks_router"]


def sinks_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """Sink status and dead letters of ``hub``."""
    router = APIRouter(prefix="/api", tags=["sinks"],
                       dependencies=[Depends(auth.require("read"))])

    def view(status: Any) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(status)
        out["lag_seconds"] = round(out["lag_seconds"], 3)
        for key in ("last_error_at", "last_delivery_at"):
            out[key] = iso(out[key])
        return out

    @router.get("/sinks")
    async def list_sinks() -> dict[str, Any]:
        """Every sink: state (idle, delivering, retrying...), queue depth, lag, counts
        (delivered, retried, dead-lettered, dropped by retention) and the last error."""
        return {"sinks": [view(s) for s in hub.forwarder.status()]}

    @router.get("/sinks/{name}/dead-letters")
    async def dead_letters(name: Annotated[str, Path()],
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100
                           ) -> dict[str, Any]:
        """The sink's newest dead letters: events its receiver refused for good."""
        if name not in {w.name for w in hub.forwarder.workers}:
            raise HTTPException(404, f"no sink named {name!r}")
        rows = await asyncio.to_thread(hub.store.dead_letter_list, name, limit)
        return {"dead_letters": [{"event_id": r["event_id"], "reason": r["reason"],
                                  "at": iso(r["at"])} for r in rows]}

    return router
