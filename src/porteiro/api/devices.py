"""``/api/devices``: each device's identity, state and event counts.

Counts come from the store; ``online`` and ``last_contact`` from the hub's memory
(the store gets them a few seconds late, batched), and attach-mode devices add their
collector's state.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query

from porteiro.api.auth import TokenAuth
from porteiro.api.params import local_midnight
from porteiro.codes import Lang
from porteiro.hub import Hub
from porteiro.store.serialize import event_json, iso, offset_text

__all__ = ["devices_router"]


def devices_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """The device routes of ``hub``."""
    router = APIRouter(prefix="/api", tags=["devices"])
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
        }

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

    return router
