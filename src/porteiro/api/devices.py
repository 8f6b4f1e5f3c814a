"""``/api/devices``: each device's identity, state and event counts; remote opening.

Counts come from the store; ``online`` and ``last_contact`` from the hub's memory
(the store gets them a few seconds late, batched), and attach-mode devices add their
collector's state.

``POST /api/devices/{name}/doors/{door}/open`` (admin) opens a door through the
device client; doors are 0-based, as everywhere in the API (0 is the first door, the
device's channel 1). Each attempt is audited with the device's answer, and openings
are rate limited per device (:data:`DOOR_OPEN_LIMIT` per :data:`DOOR_OPEN_WINDOW`).
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import math
import time
from collections import deque
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from porteiro.api.audit import admin_scope, audit_as, audited, problems
from porteiro.api.auth import Principal, TokenAuth
from porteiro.api.params import local_midnight
from porteiro.codes import Lang, RequestError
from porteiro.forward import DoorResult
from porteiro.hub import Hub
from porteiro.store.serialize import event_json, iso, offset_text

__all__ = ["DOOR_OPEN_LIMIT", "DOOR_OPEN_WINDOW", "DoorRateLimit", "devices_router"]

DOOR_OPEN_LIMIT = 5
"""At most this many remote openings per device..."""
DOOR_OPEN_WINDOW = 10.0
"""...within this many seconds (a sliding window); more get 429 with Retry-After."""
_STATUS = {"opened": 200, "unknown_device": 404, "no_credentials": 409, "refused": 502,
           "unreachable": 502}


class DoorRateLimit:
    """A sliding-window limit of attempts per key (per device)."""

    def __init__(self, limit: int = DOOR_OPEN_LIMIT, window: float = DOOR_OPEN_WINDOW
                 ) -> None:
        self.limit = limit
        self.window = window
        self._recent: dict[str, deque[float]] = {}

    def acquire(self, key: str, now: float | None = None) -> float:
        """0 when an attempt may go now (it is counted), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return recent[0] + self.window - now
        recent.append(now)
        return 0.0


def door_json(result: DoorResult, lang: Lang) -> dict[str, Any]:
    """The API's view of a remote opening (``door`` 0-based)."""
    error: dict[str, Any] | None = None
    if result.error is not None:
        error = {"code": result.error_code, "name": None, "text": result.error,
                 "http_status": result.http_status}
        if result.error_code is not None:
            error.update(RequestError(result.error_code).describe(lang))
            error["detail"] = result.error
    return {"device": result.device, "door": result.door, "opened": result.ok,
            "outcome": result.outcome, "text": result.text, "error": error,
            "audit_id": result.audit_id, "at": iso(time.time())}


def devices_router(hub: Hub, auth: TokenAuth, *, door_limit: DoorRateLimit | None = None
                   ) -> APIRouter:
    """The device routes of ``hub``; ``door_limit`` rate-limits remote openings."""
    router = APIRouter(prefix="/api", tags=["devices"])
    limiter = door_limit or DoorRateLimit()
    Admin = Annotated[Principal, Depends(admin_scope(hub, auth))]  # noqa: N806  # an alias
    tz = ZoneInfo(hub.config.hub.timezone)
    default_lang: Lang = hub.config.hub.language
    read = [Depends(auth.require("read"))]
    LangParam = Annotated[Lang | None, Query(  # noqa: N806  # a type alias
        description="Language of texts (default: hub.language).")]

    def view(row: dict[str, Any], lang: Lang) -> dict[str, Any]:
        name = row["name"]
        runtime = hub.devices.get(name)
        online = bool(row["online"])
        last_contact = row["last_contact"]
        mode = row["mode"]
        if runtime is not None:
            online = runtime.online
            last_contact = runtime.last_contact or last_contact
            mode = runtime.settings.mode
        last = row["last_event"]
        summary = None
        if last is not None:
            full = event_json(last, lang)
            summary = {key: full[key] for key in ("id", "time", "kind", "code", "summary")}
            summary["granted"] = full.get("granted")
        collector = hub.collectors.get(name)
        info = runtime.info if runtime is not None else None
        return {
            "id": row["id"], "name": name, "serial": row["serial"], "mac": row["mac"],
            "host": row["host"], "mode": mode, "utc_offset": offset_text(row["utc_offset_s"]),
            "configured": runtime is not None, "online": online,
            "last_contact": iso(last_contact), "events_total": row["events_total"],
            "events_today": row["events_today"], "last_event": summary,
            "collector": None if collector is None else {
                "connected": collector.connected.is_set(), "live": collector.live,
                "backfilled": collector.backfilled},
            "record_log": None if row["backfill"] is None else {
                "read_up_to": row["backfill"]["last_rec_no"],
                "newest_record_time": iso(row["backfill"]["last_record_ts"])},
            "doors": doors(name, runtime),
            "device_type": info.device_type if info is not None else None,
            "firmware": info.firmware if info is not None else None,
        }

    def doors(name: str, runtime: Any) -> list[dict[str, Any]]:
        """Each known door: configured, or seen in a DoorStatus event; door 0 at least.
        ``open`` is the last contact state reported (None: never reported)."""
        states = hub.online.history.door_states(name)
        names = {d.index: d.name for d in runtime.settings.doors} if runtime else {}
        indexes = sorted({0, *states, *names})
        return [{"index": i, "name": names.get(i) or f"Door{i + 1}", "open": states.get(i)}
                for i in indexes]

    async def summaries() -> list[dict[str, Any]]:
        return await asyncio.to_thread(hub.store.device_summaries,
                                       local_midnight(tz, time.time()))

    @router.get("/devices", dependencies=read)
    async def list_devices(lang: LangParam = None) -> dict[str, Any]:
        rows = await summaries()
        return {"devices": [view(row, lang or default_lang) for row in rows]}

    @router.get("/devices/{name}", dependencies=read)
    async def get_device(name: str, lang: LangParam = None) -> dict[str, Any]:
        for row in await summaries():
            if row["name"] == name:
                return view(row, lang or default_lang)
        raise HTTPException(404, f"no device {name!r}")

    @router.post("/devices/{name}/doors/{door}/open", openapi_extra=audit_as("door.open"),
                 responses={404: {"description": "Unknown device."},
                            409: {"description": "No credentials configured for it."},
                            429: {"description": "Too many openings of this device."},
                            502: {"description": "The device refused or did not answer."}})
    async def open_door(
        request: Request, principal: Admin, name: str,
        door: Annotated[int, Path(ge=0, le=7, description=(
            "The door, 0-based as everywhere in the API (0 is the first door: the "
            "device's channel 1)."))],
        lang: LangParam = None,
    ) -> JSONResponse:
        """Open a door now, through the device's HTTP API (the reader logs a remote
        opening). Records who asked, when, from where and the device's answer in the
        audit log (``door.open``), and returns that answer: 200 opened; 502 with the
        device's decoded error when it refuses or cannot be reached. At most
        ``DOOR_OPEN_LIMIT`` (5) openings per device in ``DOOR_OPEN_WINDOW`` (10 s):
        429 with ``Retry-After`` beyond."""
        async with audited(hub, principal, request, "door.open", target=f"{name}/{door}",
                           detail={"device": name, "door": door}) as entry:
            if name not in hub.devices:
                raise problems(404, "name", f"no device {name!r}",
                               pt=f"não há a leitora {name!r}")
            wait = limiter.acquire(name)
            if wait > 0:
                raise problems(
                    429, "door", f"at most {limiter.limit} openings of {name} per "
                    f"{limiter.window:g} s: try again in {math.ceil(wait)} s",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    pt=f"no máximo {limiter.limit} aberturas de {name} a cada "
                    f"{limiter.window:g} s: tente de novo em {math.ceil(wait)} s")
            entry.skip()  # the hub records the attempt with the device's answer
        result = await hub.open_door(name, door, principal.name,
                                     address=request.client.host if request.client else None)
        body = door_json(result, lang or default_lang)
        status = _STATUS[result.outcome]
        if status != 200:
            body["detail"] = [{"field": "name" if status == 404 else "door",
                               "message": result.text}]
        return JSONResponse(body, status_code=status)

    return router
