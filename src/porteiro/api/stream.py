"""``/api/events/stream``: live events as Server-Sent Events, resumable by id.

Gap-free resume: the stream subscribes to the bus first, then replays stored events
after ``Last-Event-ID`` (or ``?after=``) page by page, then goes live, skipping live
events it already replayed. A subscriber that falls too far behind is cut by the bus;
the stream then ends and the client's reconnect (with Last-Event-ID) catches up from
the store. Streams end cleanly when the server shuts down (sse-starlette watches
uvicorn and signals the generator) or when the hub stops.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from porteiro.api.auth import TokenAuth
from porteiro.codes import EventKind, Lang
from porteiro.hub import Hub
from porteiro.hub.bus import Subscription
from porteiro.store.serialize import encode, event_json
from porteiro.store.store import EventQuery

__all__ = ["PING_SECONDS", "StreamControl", "stream_router"]

PING_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle stream."""
_CATCH_UP_PAGE = 500
_GRACE = 2.0
"""How long a stream may take to end by itself on server shutdown before it is cut."""
_SEND_TIMEOUT = 30.0
"""A client that cannot take one message in this long is cut off."""


class StreamControl:
    """Ends every open stream when the hub stops (the app's lifespan sets it)."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    def reset(self) -> None:
        """A fresh event for a new run of the app (on the running loop)."""
        self.stopping = asyncio.Event()


def _matches(row: dict[str, Any], query: EventQuery) -> bool:
    if query.devices and row["device"] not in query.devices:
        return False
    if query.kinds and row["kind"] not in query.kinds:
        return False
    return query.granted is None or row["granted"] is query.granted


class _Flag(Protocol):
    def is_set(self) -> bool: ...

    async def wait(self) -> Any: ...


async def _next_live(subscription: Subscription, *stops: _Flag) -> dict[str, Any] | None:
    """The next live row; None when the subscriber was cut off or a stop flag is set."""
    flags = (subscription.overflowed, *stops)
    if any(flag.is_set() for flag in flags):
        return None
    with contextlib.suppress(asyncio.QueueEmpty):
        return subscription.queue.get_nowait()
    getter = asyncio.ensure_future(subscription.queue.get())
    waiters = [getter, *(asyncio.ensure_future(flag.wait()) for flag in flags)]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    if getter.cancelled() or getter.exception() is not None:
        return None
    return getter.result()


def stream_router(hub: Hub, auth: TokenAuth, control: StreamControl) -> APIRouter:
    """The live-stream route of ``hub``."""
    router = APIRouter(prefix="/api", tags=["events"])
    default_lang: Lang = hub.config.hub.language
    metrics = hub.metrics

    def message(row: dict[str, Any], lang: Lang) -> ServerSentEvent:
        return ServerSentEvent(data=encode(event_json(row, lang)).decode("utf-8"),
                               event="event", id=str(row["id"]))

    async def events(query: EventQuery, after: int | None, lang: Lang, shutdown: anyio.Event
                     ) -> AsyncIterator[ServerSentEvent]:
        subscription = hub.bus.subscribe()  # before the catch-up: nothing falls between
        metrics.stream_subscribers.set(len(hub.bus))
        try:
            last = 0
            if after is not None:
                last = after
                while True:
                    page = await asyncio.to_thread(hub.store.events_after, last,
                                                   _CATCH_UP_PAGE, query)
                    for row in page:
                        yield message(row, lang)
                        last = int(row["id"])
                    if len(page) < _CATCH_UP_PAGE:
                        break
            while (live := await _next_live(subscription, control.stopping, shutdown)
                   ) is not None:
                if int(live["id"]) > last and _matches(live, query):
                    last = int(live["id"])
                    yield message(live, lang)
        finally:
            subscription.close()
            metrics.stream_subscribers.set(len(hub.bus))

    @router.get("/events/stream", response_class=EventSourceResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def stream(
        *,
        _principal: Annotated[Any, Depends(auth.require("read", query_token=True))],
        device: Annotated[list[str] | None, Query(
            description="Device name; repeat for several.")] = None,
        kind: Annotated[list[EventKind] | None, Query(
            description="Event kind; repeat for several.")] = None,
        granted: Annotated[bool | None, Query(description="Access verdict.")] = None,
        after: Annotated[int | None, Query(
            ge=0, le=2**63 - 1,
            description="Replay stored events with a greater id first.")] = None,
        lang: Annotated[Lang | None, Query(description="Language of texts.")] = None,
        last_event_id: Annotated[str | None, Header(
            description="Sent by EventSource on reconnect; wins over after.")] = None,
    ) -> EventSourceResponse:
        if last_event_id is not None and last_event_id.strip():
            if not last_event_id.strip().isdigit():
                raise HTTPException(422, "Last-Event-ID must be an event id")
            after = int(last_event_id.strip())
        query = EventQuery(devices=tuple(device or ()),
                           kinds=tuple(k.value for k in kind or ()), granted=granted)
        # On server shutdown sse-starlette sets ``shutdown``: the generator returns and
        # the response ends properly instead of being cut mid-chunk.
        shutdown = anyio.Event()
        return EventSourceResponse(events(query, after, lang or default_lang, shutdown),
                                   ping=PING_SECONDS, send_timeout=_SEND_TIMEOUT,
                                   shutdown_event=shutdown, shutdown_grace_period=_GRACE)

    return router

