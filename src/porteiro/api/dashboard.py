"""The web dashboard: the page at ``/``, its assets under ``/dashboard/``, and the two
API routes only it needs (``/api/whoami``, ``/api/stats``).

The page is static (HTML, JavaScript modules, CSS and one vendored chart library, all
in the package: no CDN, no build step); it talks to the REST API like any client, with
the token the user logs in with. See ``docs/dashboard.md``.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import time
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from porteiro import __version__
from porteiro.api.auth import Principal, TokenAuth
from porteiro.codes import EventError, Lang
from porteiro.hub import Hub
from porteiro.store.serialize import event_json, iso

__all__ = ["ASSETS", "dashboard_router", "install_dashboard"]

ASSETS = Path(str(files("porteiro.api").joinpath("dashboard")))
"""Where the page and its assets live (inside the installed package)."""

_BUCKET = 3600


def dashboard_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """``/``, ``/api/whoami`` and ``/api/stats`` of ``hub``."""
    router = APIRouter()
    settings = hub.config.hub

    @router.get("/", include_in_schema=False)
    async def index() -> Response:
        page = ASSETS / "index.html"
        if not page.is_file():
            return Response("The dashboard's files are missing from this installation.",
                            status_code=500, media_type="text/plain")
        # Always revalidated: a new release's page must load the new assets.
        return FileResponse(page, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    @router.get("/api/whoami", tags=["dashboard"])
    async def whoami(principal: Annotated[Principal, Depends(auth.require("read"))]
                     ) -> dict[str, Any]:
        """Who the token belongs to and what the page should offer: ``scope`` read or
        admin; ``open`` when the API needs no token; the site's time zone and
        language."""
        return {"name": principal.name, "scope": principal.scope, "open": auth.open,
                "timezone": settings.timezone, "language": settings.language,
                "version": __version__}

    @router.get("/api/stats", tags=["dashboard"],
                dependencies=[Depends(auth.require("read"))])
    async def stats(
        hours: Annotated[int, Query(ge=1, le=24 * 31, description=(
            "How far back, in hours (24: the last day; 168: the last week)."))] = 24,
        lang: Annotated[Lang | None, Query(description="Language of texts.")] = None,
    ) -> dict[str, Any]:
        """The charts' data for the last ``hours``: events per hour (granted, denied,
        other), the most frequent denial reasons, activity per reader, recent alarms."""
        language: Lang = lang or settings.language
        until = time.time()
        first = (int(until) // _BUCKET - hours + 1) * _BUCKET
        found = await asyncio.to_thread(hub.store.stats, float(first), until,
                                        bucket=_BUCKET)
        empty = {"granted": 0, "denied": 0, "other": 0}
        series = [{"start": iso(start), **found["series"].get(start, empty)}
                  for start in range(first, int(until) + 1, _BUCKET)]
        denials = []
        for code, count in found["denials"][:10]:
            error = EventError(code)
            denials.append({"code": code, "name": error.name, "text": error.text(language),
                            "count": count})
        alarms = []
        for row in found["alarms"]:
            event = event_json(row, language)
            alarms.append({"id": event["id"], "time": event["time"],
                           "device": event["device"], "code": event["code"],
                           "summary": event["summary"]})
        return {"from": iso(first), "to": iso(until), "bucket_seconds": _BUCKET,
                "series": series, "denials": denials,
                "devices": [{"device": name, **counts}
                            for name, counts in sorted(found["devices"].items())],
                "alarms": alarms}

    return router


def install_dashboard(app: FastAPI) -> None:
    """Serve the assets under ``/dashboard`` (when the package ships them)."""
    if ASSETS.is_dir():
        app.mount("/dashboard", StaticFiles(directory=ASSETS), name="dashboard")
