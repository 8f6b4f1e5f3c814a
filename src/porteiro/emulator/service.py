"""The emulated device's HTTP service: the CGI API plus the ``/sim/`` control surface.

Every ``/cgi-bin`` and ``/sim`` path needs Digest auth (MD5, ``qop=auth``). Replies
follow :mod:`porteiro.wire`'s serializers, so they are byte-for-byte what the
reference documents: ``OK\\r\\n``, ``key=value`` lines, ``table.`` config dumps,
record listings, the attach multipart stream, and errors in the device's legacy text
or JSON style (chosen per device by ``State.error_style``).

Formats the reference does not show are marked [GUESS] where they are produced: the
JSON of ``AccessUser/AccessCard/AccessFace.cgi?action=list`` and the reply to an
attach request beyond the stream limit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import web

from porteiro.access import Card, Presentation, User, UserStatus
from porteiro.codes import CardStatus, CardType, Direction, RequestError, UserType
from porteiro.emulator.device import EmulatedDevice, parse_attach_codes
from porteiro.emulator.traffic import run_traffic
from porteiro.exceptions import MalformedInputError
from porteiro.wire.errors import format_batch_error, format_json_error, format_legacy_error
from porteiro.wire.kv import OK_BODY, format_kv, format_records, format_table, get_path, set_path
from porteiro.wire.multipart import format_attach_event, format_attach_heartbeat

__all__ = ["DEVICE_KEY", "build_app"]

DEVICE_KEY: web.AppKey[EmulatedDevice] = web.AppKey("device", EmulatedDevice)
R = RequestError


def _device(request: web.Request) -> EmulatedDevice:
    return request.app[DEVICE_KEY]


def _ok() -> web.Response:
    return web.Response(body=OK_BODY, content_type="text/plain")


def _kv(pairs: dict[str, object]) -> web.Response:
    return web.Response(body=format_kv(pairs), content_type="text/plain")


def _error(device: EmulatedDevice, code: RequestError | None = None, *, status: int = 400,
           not_implemented: bool = False) -> web.Response:
    """An error in the device's style: legacy text, or a JSON envelope with ``code``.

    Unknown actions answer ``Error\nNot Implemented!`` (501) in both styles: the bench
    notes saw exactly that on the same JSON-envelope firmware [SINGLE].
    """
    if device.state.error_style == "legacy" or code is None or not_implemented:
        st, body, ctype = format_legacy_error(
            "not_implemented" if not_implemented else "bad_request")
        return web.Response(status=st if not not_implemented else 501, body=body,
                            headers={"Content-Type": ctype})
    st, body, ctype = format_json_error(int(code), status=status)
    return web.Response(status=st, body=body, headers={"Content-Type": ctype})


def _batch_error(device: EmulatedDevice, fail_codes: list[RequestError]) -> web.Response:
    if device.state.error_style == "legacy":
        return _error(device)
    st, body, ctype = format_batch_error([int(c) for c in fail_codes])
    return web.Response(status=st, body=body, headers={"Content-Type": ctype})


@web.middleware
async def _faults_and_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    device = _device(request)
    if device.faults.delay_seconds:
        await asyncio.sleep(device.faults.delay_seconds)
    if device.faults.failing():
        return web.Response(status=device.faults.fail_status, text="Service Unavailable")
    if not request.path.startswith(("/cgi-bin/", "/sim/")):
        return await handler(request)  # type: ignore[no-any-return]
    verifier = device.verifier
    if verifier.is_locked():
        reply = _error(device, R.ACCOUNT_HAS_BEEN_LOCKED, status=401)
        reply.headers["WWW-Authenticate"] = verifier.challenge()
        return reply
    verdict = verifier.verify(request.method, request.headers.get("Authorization"))
    if verdict is not True:
        if verifier.is_locked():
            reply = _error(device, R.ACCOUNT_HAS_BEEN_LOCKED, status=401)
        else:
            reply = web.Response(status=401, text="Error\r\nUnauthorized!\r\n")
        reply.headers["WWW-Authenticate"] = verifier.challenge()
        return reply
    if not device.admit(request.remote or "?"):
        return _error(device, R.TOO_MANY_CONNECTIONS)
    return await handler(request)  # type: ignore[no-any-return]


# -- magicBox / global / IntervideoManager ---------------------------------------------


async def magic_box(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    ident = device.state.identity
    action = request.query.get("action", "")
    if action == "getSystemInfo":
        return _kv({"deviceType": ident.device_type, "hardwareVersion": ident.hardware,
                    "serialNumber": ident.serial, "updateSerial": ident.model})
    if action == "getDeviceType":
        return _kv({"type": ident.device_type})
    if action == "getSoftwareVersion":
        return _kv({"version": ident.firmware})
    if action == "getSerialNo":
        return _kv({"sn": ident.serial})
    if action == "reboot":
        asyncio.get_running_loop().call_soon(device.reboot)
        return _ok()
    return _error(device, R.UNSUPPORTED, not_implemented=True)


async def global_cgi(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    if action == "getCurrentTime":
        return _kv({"result": device.local_text()})
    if action == "setCurrentTime":
        epoch = _local_to_epoch(device, request.query.get("time", ""))
        if epoch is None:
            return _error(device, R.INVALID_ARGS)
        device.set_clock(epoch)
        device.save()
        return _ok()
    return _error(device, R.UNSUPPORTED, not_implemented=True)


async def intervideo(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    if request.query.get("action") == "getVersion":
        return _kv({"version": "2.0"})
    return _error(device, R.UNSUPPORTED, not_implemented=True)


def _local_to_epoch(device: EmulatedDevice, text: str) -> float | None:
    text = text.strip()
    if text.isdigit():
        return float(text)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            wall = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return wall.timestamp() - device.state.utc_offset_seconds
    return None


# -- configManager ------------------------------------------------------------------------

_SETTABLE = ("AccessControl", "AccessControlGeneral", "NTP", "Network", "Intelbras_ModeCfg",
             "PictureHttpUpload", "HTTPUploadPic", "Intelbras_ModeCfgII",
             "Intelbras_UploadContentType", "AlarmStop")


async def config_manager(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    config = device.state.config
    if action == "getConfig":
        name = request.query.get("name", "")
        value = get_path(config, name) if name else None
        if value is None:
            return _error(device, R.UNKNOWN_TABLE)
        return web.Response(body=format_table(name, value), content_type="text/plain")
    if action == "setConfig":
        updates = {k: v for k, v in request.query.items() if k != "action"}
        if not updates:
            return _error(device, R.INVALID_ARGS)
        for key in updates:
            if key.removeprefix("table.").split(".")[0].split("[")[0] not in _SETTABLE:
                return _error(device, R.INVALID_ARGS)
        try:
            for key, value in updates.items():
                set_path(config, key, value)
        except MalformedInputError:
            return _error(device, R.INVALID_ARGS)
        device.save()
        if device.uplink is not None:
            device.uplink.notify_config()
        return _ok()
    return _error(device, R.UNSUPPORTED, not_implemented=True)


# -- accessControl.cgi ---------------------------------------------------------------------


def _channel(device: EmulatedDevice, request: web.Request) -> int | None:
    """``channel`` is 1-based in the API; doors are 0-based inside."""
    try:
        channel = int(request.query.get("channel", "1"))
    except ValueError:
        return None
    doors = len(device.state.config.get("AccessControl") or [])
    return channel - 1 if 1 <= channel <= doors else None


async def access_control(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    door = _channel(device, request)
    if door is None:
        return _error(device, R.INVALID_ARGS)
    if action == "openDoor":
        decision = device.open_door(door, request.query.get("UserID"))
        if not decision.granted:
            return _error(device, R.BAD_REQUEST)
        return _ok()
    if action == "closeDoor":
        device.unlocked_until.pop(door, None)
        return _ok()
    if action == "getDoorStatus":
        state = "Open" if door in device.door_contact_open else "Close"
        return _kv({"Info.status": state})
    return _error(device, R.UNSUPPORTED, not_implemented=True)


# -- users, cards, faces ---------------------------------------------------------------


def _local_epoch_or_none(device: EmulatedDevice, value: object) -> float | None:
    if value in (None, ""):
        return None
    return _local_to_epoch(device, str(value))


def _user_from_json(device: EmulatedDevice, item: dict[str, Any], old: User | None) -> User:
    doors = item.get("Doors", list(old.doors) if old else [0])
    sections = item.get("TimeSections", list(old.time_sections) if old else [255])
    special = item.get("SpecialDaysSchedule", [old.holiday_schedule] if old else [255])
    return User(
        user_id=str(item["UserID"]),
        name=str(item.get("UserName", old.name if old else "")),
        user_type=UserType(int(item.get("UserType", old.user_type if old else 0))),
        status=UserStatus(int(item.get("UserStatus", old.status if old else 0))),
        password=str(item["Password"]) if item.get("Password") not in (None, "") else (
            old.password if old else None),
        doors=tuple(int(d) for d in doors),
        time_sections=tuple(int(s) for s in sections),
        holiday_schedule=int(special[0]) if special else 255,
        valid_from=_local_epoch_or_none(device, item.get("ValidFrom")) if "ValidFrom" in item
        else (old.valid_from if old else None),
        valid_to=_local_epoch_or_none(device, item.get("ValidTo")) if "ValidTo" in item
        else (old.valid_to if old else None),
        uses_left=int(item["UseTime"]) if "UseTime" in item else (old.uses_left if old else None),
        fingerprint=old.fingerprint if old else False,
        face=old.face if old else False,
    )


def _user_to_json(device: EmulatedDevice, user: User) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserID": user.user_id, "UserName": user.name, "UserType": int(user.user_type),
        "UserStatus": int(user.status), "Doors": list(user.doors),
        "TimeSections": list(user.time_sections), "SpecialDaysSchedule": [user.holiday_schedule],
        "Authority": 2,
    }
    if user.valid_from is not None:
        out["ValidFrom"] = device.local_text(user.valid_from)
    if user.valid_to is not None:
        out["ValidTo"] = device.local_text(user.valid_to)
    if user.uses_left is not None:
        out["UseTime"] = user.uses_left
    return out


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8", "replace")) if raw else {}
    except ValueError:
        return None


async def _batch_items(request: web.Request, list_name: str) -> list[Any] | None:
    """The items of a batch body (``{"UserList": [...]}``), or None when the body is
    not one or holds more than the device takes in one call (10 [OFFICIAL])."""
    body = await _json_body(request)
    items = body.get(list_name) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return None
    return items if len(items) <= _device(request).state.limits.max_batch else None


def _id_list(request: web.Request, name: str) -> list[str]:
    return [v for k, v in request.query.items() if k.startswith(f"{name}[")]


async def access_user(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    state = device.state
    if action in {"insertMulti", "updateMulti"}:
        items = await _batch_items(request, "UserList")
        if items is None:
            return _error(device, R.INVALID_ARGS)
        fails: list[RequestError] = []
        for item in items:
            if not device.take_insert_slot():
                fails.append(R.EXCEED_MAX_INSERT_RATE)
                continue
            if not isinstance(item, dict) or not str(item.get("UserID", "")).strip():
                fails.append(R.INVALID_USER_DATA)
                continue
            user_id = str(item["UserID"])
            old = state.users.get(user_id)
            if action == "insertMulti" and old is not None:
                fails.append(R.USER_ALREADY_EXISTS)
                continue
            if old is None and len(state.users) >= state.limits.max_users:
                fails.append(R.EXCEED_MAX_CAPACITY)
                continue
            try:
                state.users[user_id] = _user_from_json(device, item, old)
            except (ValueError, TypeError, KeyError):
                fails.append(R.INVALID_USER_DATA)
        device.save()
        return _batch_error(device, fails) if fails else _ok()
    if action == "removeMulti":
        for user_id in _id_list(request, "UserIDList"):
            state.users.pop(user_id, None)
            state.faces.pop(user_id, None)
            for card_no in [c.card_no for c in state.cards.values() if c.user_id == user_id]:
                del state.cards[card_no]
        device.save()
        return _ok()
    if action == "removeAll":
        state.users.clear()
        state.cards.clear()
        state.faces.clear()
        device.save()
        return _ok()
    if action == "list":  # [GUESS] JSON shape, as Dahua V2 firmware answers
        wanted = _id_list(request, "UserIDList")
        start = _offset(request)
        users = [state.users[u] for u in wanted if u in state.users] if wanted else list(
            state.users.values())[start : start + _count(request)]
        return web.json_response({"UserList": [_user_to_json(device, u) for u in users]})
    return _error(device, R.UNSUPPORTED, not_implemented=True)


def _offset(request: web.Request) -> int:
    """``offset=`` paging of list replies (the emulator's; the real paging is not
    documented [GUESS])."""
    try:
        return max(0, int(request.query.get("offset", "0")))
    except ValueError:
        return 0


def _count(request: web.Request, default: int = 1000) -> int:
    try:
        return max(0, min(int(request.query.get("count", default)), 10_000))
    except ValueError:
        return default


MAX_CARDS_PER_USER = 5


async def access_card(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    state = device.state
    if action in {"insertMulti", "updateMulti"}:
        items = await _batch_items(request, "CardList")
        if items is None:
            return _error(device, R.INVALID_ARGS)
        fails: list[RequestError] = []
        for item in items:
            if not device.take_insert_slot():
                fails.append(R.EXCEED_MAX_INSERT_RATE)
                continue
            card_no = str(item.get("CardNo", "")).strip().upper() if isinstance(item, dict) else ""
            if not card_no:
                fails.append(R.INVALID_CARD_DATA)
                continue
            user_id = str(item.get("UserID", ""))
            if user_id not in state.users:
                fails.append(R.RELEVANT_USER_NOT_FOUND)
                continue
            exists = card_no in state.cards
            if action == "insertMulti" and exists:
                fails.append(R.CARD_ALREADY_EXISTS)
                continue
            if not exists and len(state.cards) >= state.limits.max_cards:
                fails.append(R.EXCEED_MAX_CAPACITY)
                continue
            if not exists and sum(c.user_id == user_id for c in state.cards.values()) >= (
                    MAX_CARDS_PER_USER):
                fails.append(R.EXCEED_MAX_CARDS_PER_USER)
                continue
            try:
                state.cards[card_no] = Card(card_no, user_id,
                                            CardType(int(item.get("CardType", 0))),
                                            CardStatus(int(item.get("CardStatus", 0))))
            except (ValueError, TypeError):
                fails.append(R.INVALID_CARD_DATA)
        device.save()
        return _batch_error(device, fails) if fails else _ok()
    if action == "removeMulti":
        for card_no in _id_list(request, "CardNoList"):
            state.cards.pop(card_no.upper(), None)
        device.save()
        return _ok()
    if action == "removeAll":
        state.cards.clear()
        device.save()
        return _ok()
    if action == "list":  # [GUESS] JSON shape
        wanted = {c.upper() for c in _id_list(request, "CardNoList")}
        cards = [c for c in state.cards.values() if not wanted or c.card_no in wanted]
        return web.json_response({"CardList": [
            {"CardNo": c.card_no, "UserID": c.user_id, "CardType": int(c.card_type),
             "CardStatus": int(c.status)}
            for c in cards[_offset(request) : _offset(request) + _count(request)]]})
    return _error(device, R.UNSUPPORTED, not_implemented=True)


async def access_face(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.query.get("action", "")
    state = device.state
    if action in {"insertMulti", "updateMulti"}:
        items = await _batch_items(request, "FaceList")
        if items is None:
            return _error(device, R.INVALID_ARGS)
        fails = [_store_face(device, item, update=action == "updateMulti") for item in items]
        failed = [f for f in fails if f is not None]
        device.save()
        return _batch_error(device, failed) if failed else _ok()
    if action == "removeMulti":
        for user_id in _id_list(request, "UserIDList"):
            state.faces.pop(user_id, None)
            user = state.users.get(user_id)
            if user is not None:
                state.users[user_id] = msgspec.structs.replace(user, face=False)
        device.save()
        return _ok()
    if action == "removeAll":
        state.faces.clear()
        device.save()
        return _ok()
    if action == "list":  # [GUESS] JSON shape
        return web.json_response({"FaceList": [
            {"UserID": user_id, "PhotoSize": size} for user_id, size in state.faces.items()]})
    return _error(device, R.UNSUPPORTED, not_implemented=True)


def _store_face(device: EmulatedDevice, item: object, *, update: bool) -> RequestError | None:
    state = device.state
    if not isinstance(item, dict):
        return R.INVALID_FACE_DATA
    user_id = str(item.get("UserID", ""))
    user = state.users.get(user_id)
    if user is None:
        return R.FACE_USER_NOT_FOUND
    photos = item.get("PhotoData")
    if not isinstance(photos, list) or not photos or not isinstance(photos[0], str):
        return R.INVALID_FACE_DATA
    try:
        photo = base64.b64decode(photos[0], validate=False)
    except (binascii.Error, ValueError):
        return R.INVALID_PHOTO_FORMAT
    if len(photo) > state.limits.max_photo_bytes:
        return R.MAX_PHOTO_FILE_SIZE_EXCEEDED
    if photo[:3] != b"\xff\xd8\xff":
        return R.INVALID_PHOTO_FORMAT
    if user_id in state.faces and not update:
        return R.PHOTO_ALREADY_EXISTS
    if user_id not in state.faces and len(state.faces) >= state.limits.max_faces:
        return R.EXCEED_MAX_CAPACITY
    state.faces[user_id] = len(photo)
    state.users[user_id] = msgspec.structs.replace(user, face=True)
    return None


# -- recordFinder ----------------------------------------------------------------------


async def record_finder(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    query = request.query
    if query.get("action") != "find":
        return _error(device, R.UNSUPPORTED, not_implemented=True)
    if query.get("name") != "AccessControlCardRec":
        return _error(device, R.UNKNOWN_TABLE)
    start = _local_to_epoch(device, query["StartTime"]) if "StartTime" in query else None
    end = _local_to_epoch(device, query["EndTime"]) if "EndTime" in query else None
    if ("StartTime" in query and start is None) or ("EndTime" in query and end is None):
        return _error(device, R.INVALID_ARGS)
    try:
        offset = max(0, int(query.get("offset", "0")))
    except ValueError:
        offset = 0
    records, total = device.find_records(start, end, _count(request, 1024), offset)
    body = format_records(records, total_count=total)
    return web.Response(body=body, content_type="text/plain")


# -- eventManager attach ---------------------------------------------------------------


async def event_manager(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    if request.query.get("action") != "attach":
        return _error(device, R.UNSUPPORTED, not_implemented=True)
    if len(device.subscriptions) >= device.state.limits.max_streams:
        return _error(device, R.TOO_MANY_CONNECTIONS)  # [GUESS] the real reply is unknown
    try:
        heartbeat = min(max(int(request.query.get("heartbeat", "5")), 1), 60)
    except ValueError:
        heartbeat = 5
    sub = device.subscribe(parse_attach_codes(request.query.get("codes")))
    response = web.StreamResponse(headers={
        "Content-Type": "multipart/x-mixed-replace; boundary=myboundary",
        "Cache-Control": "no-cache",
        "Connection": "close",
    })
    await response.prepare(request)
    try:
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), timeout=heartbeat)
            except TimeoutError:
                item = b""
            if item is None:
                break  # the device dropped the stream
            while device.faults.stalled():
                await asyncio.sleep(0.05)
            if isinstance(item, bytes):
                await response.write(item or format_attach_heartbeat())
            else:
                await response.write(format_attach_event(item))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        device.unsubscribe(sub)
    return response


# -- /sim control surface --------------------------------------------------------------


async def sim(request: web.Request) -> web.StreamResponse:
    device = _device(request)
    action = request.match_info["action"]
    body = await _json_body(request) if request.can_read_body else {}
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    if action == "present":
        try:
            if "direction" in body:
                body["direction"] = str(Direction(body["direction"]))
            presentation = msgspec.convert(body, Presentation)
        except (ValueError, TypeError, msgspec.ValidationError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        decision = await device.present_async(presentation)
        return web.json_response({"granted": decision.granted, "method": int(decision.method),
                                  "error": int(decision.error), "user_id": decision.user_id,
                                  "message": device.online_messages[-1]
                                  if device.online_messages else None})
    try:
        result = _sim_action(device, action, body)
    except (ValueError, TypeError, KeyError, msgspec.ValidationError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if result is None:
        return web.json_response({"error": f"unknown action {action!r}"}, status=404)
    return web.json_response(result)


def _sim_action(device: EmulatedDevice, action: str, body: dict[str, Any]
                ) -> dict[str, Any] | None:
    if action == "door":
        device.set_door_contact(int(body.get("door", 0)), is_open=bool(body.get("open", True)))
        return {"ok": True}
    if action == "held-open":
        device.door_held_open(int(body.get("door", 0)), started=bool(body.get("started", True)))
        return {"ok": True}
    if action == "exit-button":
        device.press_exit_button(int(body.get("door", 0)))
        return {"ok": True}
    if action == "tamper":
        device.tamper()
        return {"ok": True}
    if action == "reboot":
        device.reboot()
        return {"ok": True}
    if action == "drift":
        device.drift(float(body.get("seconds", 0)))
        return {"ok": True, "clock": device.local_text()}
    if action == "fault":
        return _fault(device, body)
    if action == "traffic":
        rate = float(body.get("rate", 5))
        duration = float(body.get("duration", 60))
        if rate <= 0 or duration <= 0:
            raise ValueError("rate and duration must be positive")
        device.track(asyncio.get_running_loop().create_task(
            run_traffic(device, rate=rate, duration=duration)))
        return {"ok": True, "rate": rate, "duration": duration}
    if action == "state":
        state = device.state
        return {"users": len(state.users), "cards": len(state.cards), "faces": len(state.faces),
                "records": len(state.records), "streams": len(device.subscriptions),
                "clock": device.local_text(), "time": time.time()}
    return None


def _fault(device: EmulatedDevice, body: dict[str, Any]) -> dict[str, Any]:
    kind = str(body.get("kind", ""))
    seconds = float(body.get("seconds", 5))
    if kind == "drop-streams":
        device.drop_streams()
    elif kind == "stall-streams":
        device.stall_streams(seconds)
    elif kind == "delay":
        device.delay_replies(seconds)
    elif kind == "fail":
        device.fail_replies(seconds, int(body.get("status", 500)))
    elif kind == "garbage":
        device.garbage_into_streams(str(body.get("bytes", "\x00garbage\r\n")).encode())
    else:
        raise ValueError(f"unknown fault {kind!r}")
    return {"ok": True}


def build_app(device: EmulatedDevice) -> web.Application:
    """The aiohttp application of one emulated device."""
    app = web.Application(middlewares=[_faults_and_auth])
    app[DEVICE_KEY] = device
    routes = {
        "magicBox.cgi": magic_box,
        "global.cgi": global_cgi,
        "IntervideoManager.cgi": intervideo,
        "configManager.cgi": config_manager,
        "accessControl.cgi": access_control,
        "AccessUser.cgi": access_user,
        "AccessCard.cgi": access_card,
        "AccessFace.cgi": access_face,
        "recordFinder.cgi": record_finder,
        "eventManager.cgi": event_manager,
    }
    for name, handler in routes.items():
        app.router.add_route("*", f"/cgi-bin/{name}", handler)
    app.router.add_route("*", "/sim/{action}", sim)
    return app
