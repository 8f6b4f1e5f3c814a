"""The event stream of one device: a link that never dies silently.

Shape (aiohue's, with every task tracked): one *reader task* keeps the
``eventManager`` attach stream open, parses it incrementally and puts items on a
bounded queue; the consumer iterates :class:`EventStream`. The reader

* spots a dead link: a read that brings neither an event nor a heartbeat within
  ``watchdog_heartbeats`` heartbeat intervals closes the connection;
* reconnects with capped exponential backoff and jitter, never holding two streams
  to the same device;
* exposes its :class:`StreamState` and yields :class:`Connected` / :class:`Disconnected`
  markers (with times), so a caller can backfill the gap from the record log.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from typing import TYPE_CHECKING, Self

import httpx
import msgspec

from porteiro.events import Event, build_event
from porteiro.exceptions import AuthenticationError
from porteiro.wire import AttachStreamParser, Heartbeat, Malformed, RawEvent

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

__all__ = ["Connected", "Disconnected", "EventStream", "StreamItem", "StreamState"]

_LOG = logging.getLogger(__name__)


class StreamState(enum.StrEnum):
    """Where the link is."""

    CONNECTING = "connecting"
    LIVE = "live"
    BACKING_OFF = "backing_off"
    CLOSED = "closed"


class Connected(msgspec.Struct, frozen=True):
    """The stream is (again) live since ``at`` (epoch seconds)."""

    at: float


class Disconnected(msgspec.Struct, frozen=True):
    """The stream dropped at ``at``; ``reason`` says why. Events from here on may need a
    backfill once :class:`Connected` arrives."""

    at: float
    reason: str


StreamItem = Event | Connected | Disconnected | Malformed


class EventStream:
    """Typed events from one device, reconnecting forever until closed.

    ``async with EventStream(client, ...) as stream: async for item in stream: ...``
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        codes: Iterable[str] = ("All",),
        heartbeat: int = 5,
        watchdog_heartbeats: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_cap: float = 30.0,
        queue_size: int = 10_000,
    ) -> None:
        self._client = client
        self._codes = ",".join(codes)
        self._heartbeat = max(1, min(heartbeat, 60))
        self._read_timeout = self._heartbeat * watchdog_heartbeats
        self._backoff_initial = backoff_initial
        self._backoff_cap = backoff_cap
        self._queue: asyncio.Queue[StreamItem | None] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self.state = StreamState.CLOSED
        self.reconnects = 0
        self.heartbeats = 0
        self._error: BaseException | None = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def start(self) -> None:
        """Start the reader task (idempotent: never two streams to one device)."""
        if self._task is None or self._task.done():
            self.state = StreamState.CONNECTING
            self._task = asyncio.create_task(self._run(), name="porteiro-event-stream")

    async def close(self) -> None:
        """Stop the reader and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.state = StreamState.CLOSED
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamItem:
        item = await self._queue.get()
        if item is None:
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        return item

    async def _put(self, item: StreamItem) -> None:
        await self._queue.put(item)  # back-pressure: a slow consumer slows the reader

    async def _run(self) -> None:
        delay = self._backoff_initial
        url = (f"/cgi-bin/eventManager.cgi?action=attach&codes=[{self._codes}]"
               f"&heartbeat={self._heartbeat}")
        while True:
            self.state = StreamState.CONNECTING
            reason = "closed by the device"
            refused = False
            try:
                async with self._client.stream(
                        "GET", url, timeout=httpx.Timeout(10, read=self._read_timeout)) as reply:
                    if reply.status_code == 401:
                        refused = True
                    elif reply.status_code != 200:
                        reason = f"HTTP {reply.status_code}"
                    else:
                        self.state = StreamState.LIVE
                        delay = self._backoff_initial
                        await self._put(Connected(time.time()))
                        await self._pump(reply)
            except httpx.ReadTimeout:
                reason = f"no event or heartbeat for {self._read_timeout:.0f} s"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if refused:
                # Retrying would only count toward the device's lockout: stop, and say why.
                self._error = AuthenticationError("the device refused the credentials (401)")
                self.state = StreamState.CLOSED
                await self._put(Disconnected(time.time(), str(self._error)))
                await self._queue.put(None)
                return
            if self.state == StreamState.LIVE:
                await self._put(Disconnected(time.time(), reason))
            self.reconnects += 1
            self.state = StreamState.BACKING_OFF
            _LOG.info("event stream down (%s); retrying in about %.1f s", reason, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311  # jitter
            delay = min(delay * 2, self._backoff_cap)

    async def _pump(self, reply: httpx.Response) -> None:
        parser = AttachStreamParser.for_content_type(reply.headers.get("content-type"))
        async for chunk in reply.aiter_raw():
            for item in parser.feed(chunk):
                if isinstance(item, RawEvent):
                    await self._put(build_event(item))
                elif isinstance(item, Heartbeat):
                    self.heartbeats += 1
                else:
                    await self._put(item)
