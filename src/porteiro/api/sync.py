"""``/api/people/sync`` and ``/api/sync``: pushing people to the readers, and how it went.

``POST /api/people/sync`` (admin) schedules a background sync of every reader, or of
the ones named; ``GET /api/sync`` (read) shows each reader's state and counts, and the
per-person rows (failures first) with the device's decoded error in English and
Portuguese.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from porteiro.api.audit import admin_scope, audit_as, audited
from porteiro.api.auth import Principal, TokenAuth
from porteiro.codes import RequestError
from porteiro.hub import Hub
from porteiro.store.serialize import iso

__all__ = ["sync_router"]


class SyncRequest(BaseModel):
    """Which readers to sync (default: all)."""

    model_config = ConfigDict(extra="forbid")

    devices: list[str] | None = Field(default=None, description="Device names.")


def _error(code: int | None, detail: str | None) -> dict[str, Any] | None:
    if code is None and detail is None:
        return None
    out: dict[str, Any] = {"code": code, "name": None, "en": None, "pt": None,
                           "detail": detail}
    if code is not None:
        error = RequestError(code)
        out.update(name=error.name, en=error.en, pt=error.pt)
    return out


def sync_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """The people-sync routes of ``hub``."""
    router = APIRouter(prefix="/api", tags=["sync"])

    def check_devices(names: list[str] | None) -> None:
        unknown = [n for n in names or [] if n not in hub.devices]
        if unknown:
            raise HTTPException(404, f"unknown device(s): {', '.join(unknown)}")

    @router.post("/people/sync", status_code=202, openapi_extra=audit_as("people.sync"))
    async def sync_people(
        request: Request,
        principal: Annotated[Principal, Depends(admin_scope(hub, auth))],
        body: Annotated[SyncRequest | None, Body()] = None,
        devices: Annotated[list[str] | None, Query(
            description="Device names (repeat the parameter); default: every reader.")] = None,
    ) -> JSONResponse:
        """Push the people database to the readers, in the background: only what
        differs is sent. Returns at once with the readers scheduled and those skipped
        (not in ``[people] sync_modes``, no password configured); follow the progress at
        ``GET /api/sync``. Audited as ``people.sync``."""
        names = (body.devices if body is not None and body.devices is not None
                 else devices)
        async with audited(hub, principal, request, "people.sync",
                           target=",".join(names) if names else "*") as entry:
            check_devices(names)
            outcome = hub.sync.schedule(names)
            scheduled = [n for n, reason in outcome.items() if reason is None]
            skipped = [{"device": n, "reason": reason} for n, reason in outcome.items()
                       if reason is not None]
            entry.detail.update(scheduled=scheduled, skipped=skipped)
        return JSONResponse({"scheduled": scheduled, "skipped": skipped}, status_code=202)

    @router.get("/sync", dependencies=[Depends(auth.require("read"))])
    async def sync_status(
        device: Annotated[str | None, Query(description="Only this reader's rows.")] = None,
        state: Annotated[Literal["pending", "applied", "failed"] | None, Query(
            description="Only rows in this state.")] = None,
        user_id: Annotated[str | None, Query(description="Only this person's rows.")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> dict[str, Any]:
        """Each reader's sync state (idle, queued, running, offline, error, skipped,
        with the reason), last run and its counts, people pending/applied/failed; then
        the per-person rows, failures first, with the device's decoded error."""
        if device is not None:
            check_devices([device])
        device_id = hub.devices[device].id if device is not None else None
        counts, rows = await asyncio.gather(
            asyncio.to_thread(hub.store.people.sync_counts),
            asyncio.to_thread(hub.store.people.sync_list, device_id=device_id, state=state,
                              user_id=user_id, limit=limit))
        names = {runtime.id: name for name, runtime in hub.devices.items()}
        devices_out = []
        for entry in hub.sync.status():
            if device is not None and entry["device"] != device:
                continue
            by_state = counts.get(entry["device_id"], {})
            devices_out.append({
                **entry, "last_run": iso(entry["last_run"]),
                "last_finished": iso(entry["last_finished"]),
                "counts": {s: by_state.get(s, 0) for s in ("pending", "applied", "failed")}})
        people = [{"device": names.get(row["device_id"], str(row["device_id"])),
                   "user_id": row["user_id"], "state": row["state"],
                   "updated_at": iso(row["updated_at"]),
                   "error": _error(row["error_code"], row["error"])} for row in rows]
        return {"busy": hub.sync.busy(), "devices": devices_out, "people": people}

    return router
