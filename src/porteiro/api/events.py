"""``/api/events``: stored events, filtered and paged by id, as JSON or CSV.

Pages go newest first; ``next_cursor`` continues with older events, so a page is
stable while new events arrive (no overlap, no gap). Reading and serializing run in a
worker thread: the event loop stays free for device pushes.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime,
# and the parameter types are built per application (the hub's time zone).

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator

from porteiro.api.auth import TokenAuth
from porteiro.api.params import Cursor, encode_cursor, parse_when
from porteiro.codes import EventKind, Lang
from porteiro.hub import Hub
from porteiro.store.serialize import csv_lines, encode, event_json
from porteiro.store.store import EventQuery

__all__ = ["CSV_MAX_ROWS", "EventPage", "events_router"]

_MAX_CODE = 2**31 - 1
"""Codes are small numbers; a bound keeps absurd ones out of the database driver."""

CSV_MAX_ROWS = 100_000
"""A CSV export holds at most this many events (narrow the filters for more)."""
_CSV_PAGE = 1000


class EventPage(BaseModel):
    """A page of events, newest first (the OpenAPI shape; events are free-form)."""

    events: list[dict[str, Any]]
    next_cursor: str | None


def _json(value: Any, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


def events_router(hub: Hub, auth: TokenAuth) -> APIRouter:
    """The stored-event routes of ``hub``."""
    router = APIRouter(prefix="/api", tags=["events"])
    tz = ZoneInfo(hub.config.hub.timezone)
    default_lang: Lang = hub.config.hub.language
    store = hub.store

    def when(value: object) -> float | None:
        return parse_when(value, tz)

    time_doc = ("ISO 8601 (2026-09-30T08:00:00Z; without an offset: the hub's time zone) "
                "or epoch seconds; compared with the event's time")
    Time = Annotated[float | None, BeforeValidator(when)]  # noqa: N806  # a type alias
    read = [Depends(auth.require("read"))]

    @router.get("/events", dependencies=read, response_model=EventPage,
                responses={200: {"content": {"text/csv": {}}}})
    async def list_events(
        *,
        device: Annotated[list[str] | None, Query(
            description="Device name; repeat for several.")] = None,
        kind: Annotated[list[EventKind] | None, Query(
            description="Event kind; repeat for several.")] = None,
        user_id: Annotated[str | None, Query(description="User ID (exact).")] = None,
        card: Annotated[str | None, Query(
            description="Card number (exact; upper or lower case).")] = None,
        granted: Annotated[bool | None, Query(
            description="Access verdict: true or false.")] = None,
        error: Annotated[int | None, Query(ge=0, le=_MAX_CODE,
                                           description="ErrorCode (see /api/codes).")] = None,
        method: Annotated[int | None, Query(ge=0, le=_MAX_CODE,
                                            description="Method (see /api/codes).")] = None,
        since: Annotated[Time, Query(description=f"From (included): {time_doc}.")] = None,
        until: Annotated[Time, Query(description=f"Until (excluded): {time_doc}.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="Page size (JSON).")] = 100,
        cursor: Annotated[Cursor, Query(
            description="next_cursor of the previous page.")] = None,
        lang: Annotated[Lang | None, Query(
            description="Language of texts (default: hub.language).")] = None,
        output: Annotated[Literal["json", "csv"], Query(
            alias="format", description=f"json (a page) or csv (every match, at most "
            f"{CSV_MAX_ROWS})")] = "json",
    ) -> Response:
        query = EventQuery(
            devices=tuple(device or ()), kinds=tuple(k.value for k in kind or ()),
            user_id=user_id, card_no=card, granted=granted, error=error, method=method,
            since=since, until=until, before_id=cursor, limit=limit)
        language: Lang = lang or default_lang
        if output == "csv":
            return _csv(query, language)
        return _json(await asyncio.to_thread(_page, query, language))

    def _page(query: EventQuery, lang: Lang) -> dict[str, Any]:
        rows = store.query_events(msgspec.structs.replace(query, limit=query.limit + 1))
        more = len(rows) > query.limit
        rows = rows[:query.limit]
        return {"events": [event_json(row, lang) for row in rows],
                "next_cursor": encode_cursor(int(rows[-1]["id"])) if more else None}

    def _csv_page(query: EventQuery, lang: Lang, *, first: bool) -> tuple[str, int, int | None]:
        rows = store.query_events(query)
        return (csv_lines(rows, lang, header=first), len(rows),
                int(rows[-1]["id"]) if rows else None)

    def _csv(query: EventQuery, lang: Lang) -> StreamingResponse:
        async def body() -> AsyncIterator[str]:
            sent = 0
            before = query.before_id
            first = True
            while True:
                size = min(_CSV_PAGE, CSV_MAX_ROWS - sent)
                page = msgspec.structs.replace(query, before_id=before, limit=size)
                text, count, last = await asyncio.to_thread(_csv_page, page, lang, first=first)
                first = False
                yield text
                sent += count
                if count < size or last is None or sent >= CSV_MAX_ROWS:
                    return
                before = last

        stamp = datetime.fromtimestamp(time.time(), UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="porteiro-events-{stamp}.csv"'})

    @router.get("/events/{event_id}", dependencies=read)
    async def get_event(
        event_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
        lang: Annotated[Lang | None, Query(description="Language of texts.")] = None,
    ) -> Response:
        row = await asyncio.to_thread(store.get_event, event_id)
        if row is None:
            raise HTTPException(404, f"no event {event_id}")
        return _json(event_json(row, lang or default_lang))

    # The dashboard shows snapshots as <img src>, which cannot send a header.
    @router.get("/events/{event_id}/snapshot",
                dependencies=[Depends(auth.require("read", query_token=True))],
                response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
    async def get_snapshot(event_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
        found = await asyncio.to_thread(store.get_snapshot, event_id)
        if found is None:
            raise HTTPException(404, f"no snapshot for event {event_id}")
        content_type, content = found
        return Response(content, media_type=content_type,
                        headers={"Cache-Control": "private, max-age=86400"})

    return router
