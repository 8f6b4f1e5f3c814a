"""Webhook sink: each event POSTed as JSON to the integrator's endpoint.

The body is the event exactly as ``GET /api/events/{id}`` returns it (compact UTF-8
JSON). Headers:

* ``X-Porteiro-Event-Id``: the event's id, stable across retries, for the receiver to
  dedupe (delivery is at least once);
* ``X-Porteiro-Timestamp``: when this attempt was signed (epoch seconds);
* ``X-Porteiro-Signature: sha256=<hex>``: HMAC-SHA256 with the shared ``secret`` over
  ``<timestamp>.<body>``, so a receiver can reject forgeries and stale replays;
* ``User-Agent: porteiro/<version>``, plus any configured ``headers``.

Answers: 2xx delivered; 4xx other than 408 and 429 refused for good (dead-lettered
with the status and the start of the reply); anything else, a timeout or a connection
error: retried. Events of different devices go out concurrently (up to
``concurrency`` requests); a device's events go one after another, and a device's
failed event holds back its later events, so each device's order is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from porteiro import __version__
from porteiro.forward.base import Dead, Delivered, Outcome, Retry

if TYPE_CHECKING:
    from collections.abc import Sequence

    from porteiro.forward.settings import WebhookSinkSettings

__all__ = ["SIGNATURE_HEADER", "WebhookSink", "sign", "verify"]

SIGNATURE_HEADER = "X-Porteiro-Signature"
_ENCODE = msgspec.json.Encoder()
_KEEP_REPLY = 200
"""How much of a refusing reply goes into the dead letter's reason."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` + HMAC-SHA256(secret, "ts.body")."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           max_age: float = 300.0, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    return age <= max_age and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSink:
    """POSTs events to one URL."""

    def __init__(self, settings: WebhookSinkSettings) -> None:
        self.settings = settings
        self.name = str(settings.name)
        self._client: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Prepare the HTTP client (connections are made on demand, kept alive).

        aiohttp rather than httpx here: a sink keeping up with thousands of events per
        second spends most of its time in the client, and aiohttp's costs about a third
        per request."""
        if self._client is None:
            connector = aiohttp.TCPConnector(limit=self.settings.concurrency,
                                             ssl=self.settings.verify_tls)
            self._client = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                headers={"User-Agent": f"porteiro/{__version__}", **self.settings.headers})

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def device_status(self, device: str, *, online: bool) -> None:
        """Webhooks carry events only."""

    async def deliver(self, events: Sequence[dict[str, Any]]) -> dict[int, Outcome]:
        """POST ``events``: devices in parallel, each device's events in order."""
        await self.open()
        lanes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            lanes[str(event.get("device"))].append(event)
        outcomes: dict[int, Outcome] = {}
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def lane(items: list[dict[str, Any]]) -> None:
            for event in items:
                async with slots:
                    outcome = await self._post(event)
                outcomes[int(event["id"])] = outcome
                if isinstance(outcome, Retry):
                    return  # the device's later events wait for this one

        await asyncio.gather(*(lane(items) for items in lanes.values()))
        return outcomes

    async def _post(self, event: dict[str, Any]) -> Outcome:
        assert self._client is not None  # noqa: S101  # opened in deliver()
        body = _ENCODE.encode(event)
        headers = {"Content-Type": "application/json",
                   "X-Porteiro-Event-Id": str(event["id"])}
        if self.settings.secret:
            stamp = str(int(time.time()))
            headers["X-Porteiro-Timestamp"] = stamp
            headers[SIGNATURE_HEADER] = sign(self.settings.secret, stamp, body)
        try:
            async with self._client.post(self.settings.url, data=body, headers=headers) as reply:
                status = reply.status
                content = await reply.content.read(_KEEP_REPLY) if status >= 300 else b""
        except TimeoutError:
            return Retry(f"no answer within {self.settings.timeout:g} s")
        except aiohttp.ClientError as exc:
            return Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= status < 300:
            return Delivered()
        text = content.decode("utf-8", "replace").strip()
        if 400 <= status < 500 and status not in {408, 429}:
            return Dead(f"HTTP {status}: {text}" if text else f"HTTP {status}")
        return Retry(f"HTTP {status}")
