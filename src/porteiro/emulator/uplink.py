"""The device as a client: event push (DeviceMode=1) and Modo Online (DeviceMode=2).

Configured only as a real device is, through ``setConfig`` of
``Intelbras_ModeCfg.DeviceMode`` and ``PictureHttpUpload.UploadServerList[0]``.

Push (reference §4a, "in detail" C):

* every event is POSTed as the device's multipart body (JSON ``info`` part plus a
  JPEG part, with a snapshot for face events) to ``http://Address:Port/Uploadpath``
  [OFFICIAL];
* an event is kept until the server answers HTTP 200 and retried otherwise
  [OFFICIAL]; the retry interval and ordering are not documented, so we retry the
  oldest event first (in order) with capped exponential backoff and jitter [GUESS];
* unsent events live in the state file, so they survive a restart (the 2.0 firmware's
  ``OfflineRetransmission``) [GUESS for 1.0].

Modo Online 1.0 (reference "in detail" A, B):

* keepalive: ``GET <KeepAlive.Path>`` every ``KeepAlive.Interval`` seconds, waiting
  ``KeepAlive.TimeOut`` ms [OFFICIAL-EX];
* an access attempt is POSTed like a push event and the device waits up to
  ``RemoteCheckTimeout`` seconds for ``{"message", "code", "auth"}`` [OFFICIAL-EX]; the
  message is recorded as the device's display text;
* a server denial is recorded with ErrorCode 16 (Unauthorized) [GUESS: no source says
  which code the device logs];
* no reply in time, or an error: the device decides locally and lets in every
  registered user except blocklisted ones and those outside their validity period
  [SINGLE: an integrator's report of Intelbras support's answer]; such decisions are
  queued and sent once the server answers again [SINGLE].
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from porteiro.codes import EventError, OpenMethod, UserType
from porteiro.exceptions import MalformedInputError
from porteiro.wire.push import format_push_body, parse_online_reply
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from porteiro.access import Decision, Presentation
    from porteiro.emulator.device import EmulatedDevice

__all__ = ["Uplink", "new_session"]

_LOG = logging.getLogger(__name__)
_FACE_METHODS = frozenset({OpenMethod.FACE, OpenMethod.FACE_REMOTE, OpenMethod.CARD_AND_FACE,
                           OpenMethod.FACE_AND_PASSWORD, OpenMethod.FINGERPRINT_AND_FACE})
SNAPSHOT = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + (
    b"\x00" * 2048) + b"\xff\xd9"
"""A stand-in face snapshot (a minimal JPEG frame)."""


_NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


def new_session() -> aiohttp.ClientSession:
    """An upload session; one can serve a whole fleet (no per-host connection limit)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=0))


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


class Uplink:
    """Push and Modo Online traffic of one device; a task per concern, all tracked."""

    def __init__(self, device: EmulatedDevice, *, backoff_cap: float = 30.0,
                 client: aiohttp.ClientSession | None = None) -> None:
        self.device = device
        self.backoff_cap = backoff_cap
        self.wakeup = asyncio.Event()
        self.reconfigured = asyncio.Event()
        self._own_client = client is None
        self.delivered = 0
        self.failures = 0
        self.keepalives = 0
        self._client: aiohttp.ClientSession | None = client
        self._tasks: set[asyncio.Task[None]] = set()

    # -- configuration as the device reads it ------------------------------------------

    def mode(self) -> int:
        """``Intelbras_ModeCfg.DeviceMode``."""
        return _int((self.device.state.config.get("Intelbras_ModeCfg") or {}).get("DeviceMode"))

    def server(self) -> str | None:
        """Base URL of the upload server, or None when not configured."""
        upload = self.device.state.config.get("PictureHttpUpload") or {}
        servers = upload.get("UploadServerList") or []
        first = servers[0] if servers and isinstance(servers[0], dict) else {}
        address = str(first.get("Address") or "").strip()
        if not address:
            return None
        scheme = "https" if str(first.get("HttpsEnable")).lower() == "true" else "http"
        return f"{scheme}://{address}:{_int(first.get('Port'), 80)}"

    def upload_path(self) -> str:
        upload = self.device.state.config.get("PictureHttpUpload") or {}
        servers = upload.get("UploadServerList") or [{}]
        path = str((servers[0] or {}).get("Uploadpath") or "/notification")
        return path if path.startswith("/") else "/" + path

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the push and keepalive loops (they idle while the mode is off)."""
        if self._client is None:
            self._client = new_session()
        for loop in (self._push_loop, self._keepalive_loop):
            name = f"{loop.__name__}-{self.device.state.identity.serial}"
            task = asyncio.create_task(loop(), name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel and await every task; close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None and self._own_client:
            await self._client.close()
        self._client = None

    def notify(self) -> None:
        """A new event is queued."""
        self.wakeup.set()

    def notify_config(self) -> None:
        """The configuration changed (setConfig): modes and servers are read again."""
        self.reconfigured.set()
        self.wakeup.set()

    # -- push --------------------------------------------------------------------------

    def _body(self, items: list[dict[str, Any]]) -> tuple[bytes, str]:
        mac = self.device.state.identity.mac
        events = [RawEvent(str(item["Code"]), str(item.get("Action", "Pulse")),
                           _int(item.get("Index")), dict(item.get("Data") or {}),
                           {"PhysicalAddress": mac}) for item in items]
        first = events[0]
        face = first.code == "AccessControl" and first.data.get("Method") in _FACE_METHODS
        image = SNAPSHOT if len(events) == 1 and face else None
        stamp = time.strftime("%d-%m-%Y %H:%M:%S", time.gmtime(
            self.device.now() + self.device.state.utc_offset_seconds))
        return format_push_body(events, time=stamp, image=image)

    async def _post(self, item: dict[str, Any] | list[dict[str, Any]], timeout: float
                    ) -> tuple[int, bytes]:
        """POST one event (or a batch); (status, body). Raises network errors."""
        assert self._client is not None  # noqa: S101  # started before use
        server = self.server()
        if server is None:
            raise aiohttp.ClientConnectionError("no upload server configured")
        body, ctype = self._body(item if isinstance(item, list) else [item])
        async with self._client.post(server + self.upload_path(), data=body,
                                     headers={"Content-Type": ctype},
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as reply:
            return reply.status, await reply.read()

    async def _push_loop(self) -> None:
        delay = 0.5
        pending = self.device.state.pending_push
        while True:
            if not pending or self.mode() not in (1, 2, 3) or self.server() is None:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            # One event per POST while the device keeps up; a backlog (after an outage,
            # or under load) drains several per POST, in order: the body's "Events" is a
            # list [GUESS: batching is not documented].
            batch = pending[: max(1, self.device.state.limits.max_events_per_post)]
            try:
                status, _ = await self._post(batch, timeout=10)
                ok = status == 200
            except _NETWORK_ERRORS as exc:
                _LOG.debug("push to %s failed: %s", self.server(), exc)
                ok = False
            if ok:
                del pending[: len(batch)]
                self.delivered += len(batch)
                delay = 0.5
                if not pending:
                    self.device.save()
                continue
            self.failures += 1
            # Capped exponential backoff with jitter: a fleet does not retry in lockstep.
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311
            delay = min(delay * 2, self.backoff_cap)

    # -- Modo Online -----------------------------------------------------------------------

    async def _keepalive_loop(self) -> None:
        while True:
            cfg = (self.device.state.config.get("Intelbras_ModeCfg") or {}).get("KeepAlive") or {}
            interval = max(1, _int(cfg.get("Interval"), 10))
            enabled = str(cfg.get("Enable")).lower() == "true"
            if self.mode() != 2 or not enabled or not self.server():
                # Idle until setConfig changes something (no polling: a thousand devices
                # in one process must cost nothing while they are not in Modo Online).
                self.reconfigured.clear()
                await self.reconfigured.wait()
                continue
            path = str(cfg.get("Path") or "/keepalive")
            timeout = max(0.1, _int(cfg.get("TimeOut"), 2000) / 1000)
            assert self._client is not None  # noqa: S101  # started before use
            with contextlib.suppress(*_NETWORK_ERRORS):
                async with self._client.get(f"{self.server()}{path}",
                                            timeout=aiohttp.ClientTimeout(total=timeout)) as reply:
                    await reply.read()
                    if reply.status == 200:
                        self.keepalives += 1
            self.reconfigured.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reconfigured.wait(), interval)

    async def ask_server(self, presentation: Presentation, local: Decision,
                         presented: float | None = None) -> tuple[Decision, str | None]:
        """Modo Online: the server's verdict on an attempt, or the offline fallback.

        Returns the decision to apply and the display message (None when the server did
        not answer and the device fell back to deciding alone). ``presented`` is the
        device time of the presentation (now when not given).
        """
        cfg = self.device.state.config.get("Intelbras_ModeCfg") or {}
        timeout = max(0.1, float(_int(cfg.get("RemoteCheckTimeout"), 5)))
        utc = int(self.device.now() if presented is None else presented)
        (event, *_) = local.events(presentation, utc)
        data = dict(event.data)
        if presentation.password is not None:
            # The typed password goes to the server as DynPWD [OFFICIAL-EX: the official
            # Python Modo Online server reads Data.DynPWD].
            data["DynPWD"] = presentation.password
        try:
            status, content = await self._post({"Code": event.code, "Action": event.action,
                                                "Index": event.index, "Data": data}, timeout)
            verdict = parse_online_reply(content) if status == 200 else None
        except (*_NETWORK_ERRORS, MalformedInputError):
            verdict = None
        if verdict is None:
            return _offline(local), None
        if verdict.granted:
            return _replace(local, granted=True, error=EventError.NONE), verdict.message
        error = local.error if not local.granted else EventError.UNAUTHORIZED
        return _replace(local, granted=False, error=error), verdict.message


def _replace(decision: Decision, **changes: Any) -> Decision:
    return msgspec.structs.replace(decision, **changes)


_OFFLINE_REFUSED = frozenset({EventError.VALIDITY_PERIOD, EventError.UNAUTHORIZED,
                              EventError.CARD_LOST_OR_CANCELLED})


def _offline(local: Decision) -> Decision:
    """Offline fallback: registered users pass, except blocklisted / out of validity."""
    if local.granted or local.user_id is None or local.error in _OFFLINE_REFUSED \
            or local.user_type == UserType.BLOCKLIST:
        return local
    return _replace(local, granted=True, error=EventError.NONE)
