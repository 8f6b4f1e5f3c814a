"""An async client for one Intelbras reader: ``async with Device(...) as dev: ...``.

Built on httpx with ``DigestAuth`` and one pooled client per device; every timeout is
set here. Replies are parsed by :mod:`porteiro.wire`; errors become the exceptions of
:mod:`porteiro.exceptions` naming the request error code and its meaning. Passwords,
card numbers and photos never reach the logs.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

import httpx
import msgspec

from porteiro.codes import DeviceMode, DoorMode, RequestError
from porteiro.device.stream import EventStream, StreamState
from porteiro.events import AccessControlEvent, event_from_record
from porteiro.exceptions import (
    DeviceConnectionError,
    DeviceTimeoutError,
    MalformedInputError,
    PorteiroError,
    ProtocolError,
)
from porteiro.wire.errors import error_for_reply, parse_error_reply
from porteiro.wire.kv import is_ok, parse_kv, parse_records, parse_table

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator, Mapping, Sequence
    from types import TracebackType

__all__ = [
    "BatchItemResult",
    "Device",
    "DeviceInfo",
    "DoorConfig",
    "NetworkConfig",
    "SyncDevice",
    "redact",
]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: each httpx client would otherwise load
    the CA bundle into a context of its own (~0.9 MB), which a hub collecting from a
    thousand readers pays a thousand times, even for plain-HTTP readers."""
    return httpx.create_ssl_context()

_LOG = logging.getLogger(__name__)
MAX_BATCH = 10
MAX_PHOTO_BYTES = 384 * 1024


def redact(card_no: str | None) -> str:
    """``12EA3004`` -> ``****3004``: what logs may show of a card number."""
    if not card_no:
        return ""
    return "*" * max(0, len(card_no) - 4) + card_no[-4:]


_SECRET_QUERY = re.compile(r"((?:CardNo|CardNoList(?:\[\d+\]|%5B\d+%5D))=)([0-9A-Za-z]+)")


class _RedactCards(logging.Filter):
    """Mask card numbers in httpx's request log lines (they travel in query strings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _SECRET_QUERY.sub(lambda m: m[1] + redact(m[2]), str(a))
                if isinstance(a, str | httpx.URL) else a for a in record.args)
        return True


_HTTPX_LOG = logging.getLogger("httpx")
if not any(isinstance(f, _RedactCards) for f in _HTTPX_LOG.filters):
    _HTTPX_LOG.addFilter(_RedactCards())


class DoorConfig(msgspec.Struct, frozen=True):
    """A typed view of ``AccessControl[n]``."""

    index: int
    name: str
    mode: DoorMode
    unlock_hold_ms: int | None
    close_timeout_s: int | None
    sensor_enabled: bool | None


class NetworkConfig(msgspec.Struct, frozen=True):
    """A typed view of ``Network.eth0``."""

    ip: str
    netmask: str
    gateway: str
    dhcp: bool | None
    mac: str


class DeviceInfo(msgspec.Struct, frozen=True):
    """What ``magicBox.cgi`` reports."""

    serial: str
    device_type: str
    firmware: str
    hardware: str = ""


class BatchItemResult(msgspec.Struct, frozen=True):
    """The outcome of one item of a batch call (partial success is normal)."""

    key: str
    ok: bool
    error: RequestError | None = None


class Device:
    """One reader. Use as an async context manager, or call :meth:`close`."""

    def __init__(
        self,
        host: str,
        *,
        user: str = "admin",
        password: str,
        https: bool = False,
        verify: bool = True,
        timeout: float = 10.0,
        utc_offset: timedelta = timedelta(hours=-3),
    ) -> None:
        if "://" not in host:
            host = f"{'https' if https else 'http'}://{host}"
        self.base_url = host.rstrip("/")
        self.utc_offset = utc_offset
        self._stream: EventStream | None = None
        self.record_offset: timedelta | None = None
        """Set for firmware that writes local wall time into records' epoch fields."""
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.DigestAuth(user, password),
            timeout=httpx.Timeout(timeout),
            verify=_tls_context() if verify else False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    # -- transport ---------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       json_body: object = None, timeout: float | None = None) -> httpx.Response:
        try:
            reply = await self._client.request(
                method, path, params=params, json=json_body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        except httpx.TimeoutException as exc:
            raise DeviceTimeoutError(f"{self.base_url}: no answer in time ({exc})") from exc
        except httpx.TransportError as exc:
            raise DeviceConnectionError(f"{self.base_url}: {exc}") from exc
        error = parse_error_reply(reply.status_code, reply.content,
                                  reply.headers.get("content-type"))
        if error is not None and error.fail_codes and (
                error.code == RequestError.BATCH_PROCESS_ERROR):
            return reply  # batch calls read their per-item results themselves
        if error is not None:
            raise error_for_reply(error)
        return reply

    async def _get_kv(self, path: str, **params: Any) -> dict[str, str]:
        reply = await self._request("GET", path, params=params)
        try:
            return parse_kv(reply.content)
        except MalformedInputError as exc:
            raise ProtocolError(f"{path}: {exc.reason}") from exc

    async def _get_ok(self, path: str, **params: Any) -> None:
        reply = await self._request("GET", path, params=params)
        if not is_ok(reply.content):
            raise ProtocolError(f"{path}: expected OK, got {reply.content[:80]!r}")

    # -- info and time -----------------------------------------------------------------

    async def info(self) -> DeviceInfo:
        """Serial, type, firmware."""
        system = await self._get_kv("/cgi-bin/magicBox.cgi", action="getSystemInfo")
        version = await self._get_kv("/cgi-bin/magicBox.cgi", action="getSoftwareVersion")
        return DeviceInfo(serial=system.get("serialNumber", ""),
                          device_type=system.get("deviceType", ""),
                          firmware=version.get("version", ""),
                          hardware=system.get("hardwareVersion", ""))

    async def serial(self) -> str:
        """``getSerialNo``."""
        return (await self._get_kv("/cgi-bin/magicBox.cgi", action="getSerialNo")).get("sn", "")

    async def cgi_version(self) -> str:
        """``IntervideoManager.cgi?action=getVersion&Name=CGI``."""
        return (await self._get_kv("/cgi-bin/IntervideoManager.cgi", action="getVersion",
                                   Name="CGI")).get("version", "")

    async def get_time(self) -> datetime:
        """The device clock, as an aware UTC datetime (the device answers local time)."""
        text = (await self._get_kv("/cgi-bin/global.cgi", action="getCurrentTime"))["result"]
        try:
            local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise ProtocolError(f"getCurrentTime: {text!r} is not a time") from exc
        return local - self.utc_offset

    async def set_time(self, when: datetime) -> None:
        """Set the device clock (sent as device-local text)."""
        local = when.astimezone(UTC) + self.utc_offset
        await self._get_ok("/cgi-bin/global.cgi", action="setCurrentTime",
                           time=local.strftime("%Y-%m-%d %H:%M:%S"))

    async def reboot(self) -> None:
        """Restart the device (its streams drop; records are kept)."""
        await self._get_ok("/cgi-bin/magicBox.cgi", action="reboot")

    # -- config ------------------------------------------------------------------------

    async def get_config(self, name: str) -> Any:
        """A config table as nested dicts/lists (values are text)."""
        reply = await self._request("GET", "/cgi-bin/configManager.cgi",
                                    params={"action": "getConfig", "name": name})
        table = parse_table(reply.content)
        return table.get(name.partition(".")[0].partition("[")[0])

    async def set_config(self, values: Mapping[str, object]) -> None:
        """``setConfig`` with ``{"AccessControl[0].State": "Normal", ...}``."""
        params: dict[str, str] = {"action": "setConfig"}
        for key, value in values.items():
            params[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        await self._get_ok("/cgi-bin/configManager.cgi", **params)

    async def doors(self) -> list[DoorConfig]:
        """Every door's configuration, typed."""
        table = await self.get_config("AccessControl") or []
        return [DoorConfig(index=i, name=str(d.get("Name", "")),
                           mode=DoorMode(str(d.get("State", "Normal"))),
                           unlock_hold_ms=_opt_int(d.get("UnlockHoldInterval")),
                           close_timeout_s=_opt_int(d.get("CloseTimeout")),
                           sensor_enabled=_opt_bool(d.get("SensorEnable")))
                for i, d in enumerate(table) if isinstance(d, dict)]

    async def set_door_mode(self, door: int, mode: DoorMode) -> None:
        """Normal, always closed or always open."""
        await self.set_config({f"AccessControl[{door}].State": mode.value})

    async def network(self) -> NetworkConfig:
        """``Network.eth0``, typed."""
        table = await self.get_config("Network") or {}
        eth0 = table.get("eth0") or {}
        return NetworkConfig(ip=str(eth0.get("IPAddress", "")),
                             netmask=str(eth0.get("SubnetMask", "")),
                             gateway=str(eth0.get("DefaultGateway", "")),
                             dhcp=_opt_bool(eth0.get("DhcpEnable")),
                             mac=str(eth0.get("PhysicalAddress", "")))

    async def device_mode(self) -> DeviceMode:
        """``Intelbras_ModeCfg.DeviceMode``: stand-alone, push or Modo Online."""
        table = await self.get_config("Intelbras_ModeCfg") or {}
        return DeviceMode.get(table.get("DeviceMode")) or DeviceMode.STAND_ALONE

    async def configure_push(self, server_ip: str, port: int, path: str = "/notification", *,
                             https: bool = False) -> None:
        """DeviceMode=1: push every event to ``server_ip:port/path`` (an IP, not a name)."""
        await self.set_config(self._upload(server_ip, port, path, https=https))
        await self.set_config({"Intelbras_ModeCfg.DeviceMode": 1})

    async def configure_online(self, server_ip: str, port: int, path: str = "/notification", *,
                               keepalive_path: str = "/keepalive", keepalive_interval: int = 10,
                               keepalive_timeout_ms: int = 2000, check_timeout: int = 5,
                               https: bool = False) -> None:
        """DeviceMode=2 (Modo Online): the server decides access."""
        await self.set_config(self._upload(server_ip, port, path, https=https))
        await self.set_config({
            "Intelbras_ModeCfg.DeviceMode": 2,
            "Intelbras_ModeCfg.KeepAlive.Enable": True,
            "Intelbras_ModeCfg.KeepAlive.Interval": keepalive_interval,
            "Intelbras_ModeCfg.KeepAlive.Path": keepalive_path,
            "Intelbras_ModeCfg.KeepAlive.TimeOut": keepalive_timeout_ms,
            "Intelbras_ModeCfg.RemoteCheckTimeout": check_timeout,
        })

    @staticmethod
    def _upload(ip: str, port: int, path: str, *, https: bool) -> dict[str, object]:
        prefix = "PictureHttpUpload.UploadServerList[0]"
        return {"PictureHttpUpload.Enable": True, f"{prefix}.Address": ip,
                f"{prefix}.Port": port, f"{prefix}.Uploadpath": path,
                f"{prefix}.HttpsEnable": https}

    # -- doors -------------------------------------------------------------------------

    async def open_door(self, door: int = 0, *, user_id: str | None = None) -> None:
        """Remote unlock (``door`` is 0-based here; the API's channel is 1-based)."""
        params: dict[str, Any] = {"action": "openDoor", "channel": door + 1}
        if user_id is not None:
            params.update(UserID=user_id, Type="Remote")
        await self._get_ok("/cgi-bin/accessControl.cgi", **params)

    async def close_door(self, door: int = 0) -> None:
        """Lock again now."""
        await self._get_ok("/cgi-bin/accessControl.cgi", action="closeDoor", channel=door + 1)

    async def door_is_open(self, door: int = 0) -> bool:
        """The door contact: True when open."""
        info = await self._get_kv("/cgi-bin/accessControl.cgi", action="getDoorStatus",
                                  channel=door + 1)
        return info.get("Info.status", "").lower().startswith("open")

    # -- users, cards, faces ----------------------------------------------------------

    async def _batch(self, path: str, action: str, key: str, list_name: str,
                     items: Sequence[Mapping[str, Any]]) -> list[BatchItemResult]:
        results: list[BatchItemResult] = []
        for start in range(0, len(items), MAX_BATCH):
            chunk = list(items[start : start + MAX_BATCH])
            reply = await self._request("POST", path, params={"action": action},
                                        json_body={list_name: chunk})
            error = parse_error_reply(reply.status_code, reply.content,
                                      reply.headers.get("content-type"))
            fails = list(error.fail_codes) if error is not None else []
            # The device reports only the failed items' codes, in order; which items
            # failed is not said [GUESS]: we read the device back when it matters
            # (sync_people). Here the first len(fails) unknowns are attributed in order.
            results.extend(self._attribute(chunk, key, fails))
        return results

    @staticmethod
    def _attribute(chunk: list[Mapping[str, Any]], key: str, fails: list[RequestError]
                   ) -> list[BatchItemResult]:
        if not fails:
            return [BatchItemResult(str(item.get(key, "")), ok=True) for item in chunk]
        if len(fails) == len(chunk):
            return [BatchItemResult(str(item.get(key, "")), ok=False, error=code)
                    for item, code in zip(chunk, fails, strict=True)]
        # Some items failed and the device does not say which: every item is reported
        # unconfirmed, with the code when all failures share it (so a caller can tell
        # "retry later" from "fix the data"), and callers that must know read back.
        same = fails[0] if all(code == fails[0] for code in fails) else None
        return [BatchItemResult(str(item.get(key, "")), ok=False, error=same) for item in chunk]

    async def add_users(self, users: Sequence[Mapping[str, Any]], *, update: bool = False
                        ) -> list[BatchItemResult]:
        """``AccessUser.cgi`` insertMulti/updateMulti in batches of 10."""
        return await self._batch("/cgi-bin/AccessUser.cgi",
                                 "updateMulti" if update else "insertMulti", "UserID",
                                 "UserList", users)

    async def add_cards(self, cards: Sequence[Mapping[str, Any]], *, update: bool = False
                        ) -> list[BatchItemResult]:
        """``AccessCard.cgi`` insertMulti/updateMulti (``{"UserID", "CardNo", ...}``)."""
        return await self._batch("/cgi-bin/AccessCard.cgi",
                                 "updateMulti" if update else "insertMulti", "CardNo",
                                 "CardList", cards)

    async def add_face(self, user_id: str, photo: bytes, *, update: bool = False
                       ) -> BatchItemResult:
        """Register a face photo (a JPEG of at most 384 KiB, checked before sending)."""
        (result,) = await self.add_faces([(user_id, photo)], update=update)
        return result

    async def add_faces(self, faces: Sequence[tuple[str, bytes]], *, update: bool = False
                        ) -> list[BatchItemResult]:
        """Register face photos in batches of 10; every photo is checked first."""
        items = []
        for user_id, photo in faces:
            if photo[:3] != b"\xff\xd8\xff":
                raise ValueError(f"the photo of user {user_id} is not a JPEG")
            if len(photo) > MAX_PHOTO_BYTES:
                raise ValueError(f"the photo of user {user_id} has {len(photo)} bytes; devices "
                                 f"refuse more than {MAX_PHOTO_BYTES}")
            items.append({"UserID": user_id,
                          "PhotoData": [base64.b64encode(photo).decode("ascii")]})
        return await self._batch("/cgi-bin/AccessFace.cgi",
                                 "updateMulti" if update else "insertMulti", "UserID",
                                 "FaceList", items)

    async def remove_faces(self, user_ids: Sequence[str]) -> None:
        """Remove face photos (the users stay)."""
        for start in range(0, len(user_ids), MAX_BATCH):
            params = {f"UserIDList[{i}]": u for i, u in enumerate(user_ids[start:start + 10])}
            await self._get_ok("/cgi-bin/AccessFace.cgi", action="removeMulti", **params)

    async def list_faces(self) -> list[dict[str, Any]]:
        """Users that have a face photo."""
        reply = await self._request("GET", "/cgi-bin/AccessFace.cgi", params={"action": "list"})
        return list(_json(reply).get("FaceList") or [])

    async def remove_users(self, user_ids: Sequence[str]) -> None:
        """``removeMulti`` in batches of 10."""
        for start in range(0, len(user_ids), MAX_BATCH):
            params = {f"UserIDList[{i}]": u for i, u in enumerate(user_ids[start:start + 10])}
            await self._get_ok("/cgi-bin/AccessUser.cgi", action="removeMulti", **params)

    async def remove_cards(self, card_nos: Sequence[str]) -> None:
        """``removeMulti`` in batches of 10."""
        for start in range(0, len(card_nos), MAX_BATCH):
            params = {f"CardNoList[{i}]": c for i, c in enumerate(card_nos[start:start + 10])}
            await self._get_ok("/cgi-bin/AccessCard.cgi", action="removeMulti", **params)

    async def list_users(self, user_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Users as the device lists them (all, or the given ids)."""
        if user_ids:
            params: dict[str, Any] = {"action": "list"}
            params.update({f"UserIDList[{i}]": u for i, u in enumerate(user_ids)})
            reply = await self._request("GET", "/cgi-bin/AccessUser.cgi", params=params)
            return list(_json(reply).get("UserList") or [])
        return await self._list_all("/cgi-bin/AccessUser.cgi", "UserList")

    async def list_cards(self) -> list[dict[str, Any]]:
        """Every card on the device."""
        return await self._list_all("/cgi-bin/AccessCard.cgi", "CardList")

    async def _list_all(self, path: str, key: str, page: int = 1000) -> list[dict[str, Any]]:
        """Page through a list action (``count``/``offset``) until a short page."""
        items: list[dict[str, Any]] = []
        while True:
            reply = await self._request("GET", path, params={
                "action": "list", "count": page, "offset": len(items)})
            chunk = list(_json(reply).get(key) or [])
            items.extend(chunk)
            if len(chunk) < page:
                return items

    # -- events ------------------------------------------------------------------------

    def events(self, codes: Sequence[str] = ("All",), *, heartbeat: int = 5,
               watchdog_heartbeats: float = 3.0, backoff_cap: float = 30.0) -> EventStream:
        """The live event stream (``async with dev.events() as stream: async for ...``).

        Yields typed events plus :class:`Connected`/:class:`Disconnected` markers and
        :class:`~porteiro.wire.Malformed` reports; reconnects by itself.
        """
        if self._stream is not None and self._stream.state is not StreamState.CLOSED:
            raise PorteiroError(f"{self.base_url}: an event stream is already open; devices "
                                "limit concurrent streams, so Porteiro never opens a second one")
        self._stream = EventStream(self._client, codes=codes, heartbeat=heartbeat,
                                   watchdog_heartbeats=watchdog_heartbeats,
                                   backoff_cap=backoff_cap)
        return self._stream

    # -- records -----------------------------------------------------------------------

    async def iter_records(self, since: datetime | None = None, until: datetime | None = None,
                           *, page: int = 1000) -> AsyncIterator[AccessControlEvent]:
        """Every access record between ``since`` and ``until``, oldest first, paged."""
        offset = 0
        while True:
            params: dict[str, Any] = {"action": "find", "name": "AccessControlCardRec",
                                      "count": page, "offset": offset}
            if since is not None:
                params["StartTime"] = self._local_text(since)
            if until is not None:
                params["EndTime"] = self._local_text(until)
            reply = await self._request("GET", "/cgi-bin/recordFinder.cgi", params=params)
            listing = parse_records(reply.content)
            low = since.timestamp() if since is not None else None
            high = until.timestamp() if until is not None else None
            for record in listing.records:
                event = event_from_record(record, utc_offset=self.record_offset)
                # Some firmware ignores the time filter: filter here too.
                stamp = event.timestamp
                if stamp is not None and ((low is not None and stamp < low)
                                          or (high is not None and stamp > high)):
                    continue
                yield event
            offset += len(listing.records)
            total = listing.total_count
            if not listing.records or (total is not None and offset >= total) or (
                    total is None and len(listing.records) < page):
                return

    def _local_text(self, when: datetime) -> str:
        return (when.astimezone(UTC) + self.utc_offset).strftime("%Y-%m-%d %H:%M:%S")


def _opt_int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _opt_bool(value: object) -> bool | None:
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError as exc:
        raise ProtocolError(f"expected JSON, got {reply.content[:80]!r}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("expected a JSON object")
    return data


class SyncDevice:
    """A blocking facade over :class:`Device` for scripts: ``with SyncDevice(...) as dev:``.

    Every coroutine method of :class:`Device` is available as a plain call; async
    iterators (records) come back as lists.
    """

    def __init__(self, host: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._device = self._loop.run_until_complete(_make(host, options))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the device client and the private event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._device.close())
            self._loop.close()

    def records(self, since: datetime | None = None, until: datetime | None = None
                ) -> list[AccessControlEvent]:
        """Every record in the range, as a list."""
        async def collect() -> list[AccessControlEvent]:
            return [event async for event in self._device.iter_records(since, until)]

        return self._loop.run_until_complete(collect())

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._device, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(attr(*args, **kwargs))

        return call


async def _make(host: str, options: dict[str, Any]) -> Device:
    return Device(host, **options)
