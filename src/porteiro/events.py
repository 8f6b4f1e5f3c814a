"""Typed, immutable events built from what the wire parsers produce.

:func:`build_event` turns a :class:`~porteiro.wire.RawEvent` into one of:

* :class:`AccessControlEvent`: a credential was presented (granted or denied);
* :class:`DoorStatusEvent`: the door contact opened or closed;
* :class:`AlarmEvent`: break-in, door not closed, duress, chassis intruded, local alarm;
* :class:`ExitButtonEvent`: the exit button was pressed;
* :class:`SystemEvent`: reboot, upgrade, network/time change, manager log, files,
  screen saver, night light, fingerprint collection;
* :class:`UnknownEvent`: any other code, kept whole.

Every event keeps the device's raw ``data`` dict, never raises on odd values (a field
that cannot be read is None and the raw value stays in ``data``), serializes to JSON
(:meth:`Event.to_dict`) and describes itself in one line in English or Portuguese
(:meth:`Event.summary`).

Time. ``UTC``/``CreateTime`` are epoch seconds, but some firmware writes the
device's local wall-clock time into them (reference §6). Pass ``utc_offset`` (the
device's offset from UTC, e.g. ``timedelta(hours=-3)`` for Brasília) to
:func:`build_event` when a device does that; the true UTC instant is then
``value - offset``. Door numbers are 0-based in events (as sent); summaries count
doors from 1, like the device's own screens and the 1-based ``channel`` of the API.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from porteiro.codes import (
    CardType,
    Direction,
    DoorState,
    EventCode,
    EventError,
    EventKind,
    Lang,
    Mask,
    OpenMethod,
    UserType,
    kind_of,
)
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AccessControlEvent",
    "AlarmEvent",
    "DoorStatusEvent",
    "Event",
    "ExitButtonEvent",
    "SystemEvent",
    "UnknownEvent",
    "build_event",
    "event_from_record",
]


class Event(msgspec.Struct, frozen=True):
    """Fields every event has. ``code`` is exactly what the device sent."""

    kind: ClassVar[EventKind] = EventKind.UNKNOWN

    code: str
    event_code: EventCode
    action: str = "Pulse"
    index: int = 0
    timestamp: float | None = None
    """True UTC instant, epoch seconds (device offset already applied)."""
    data: dict[str, Any] = {}
    extras: dict[str, Any] = {}

    @property
    def time(self) -> datetime | None:
        """The event's instant as an aware UTC datetime, if the device gave one."""
        return _datetime(self.timestamp)

    def summary(self, lang: Lang = "en") -> str:
        """One human line describing the event."""
        return _title(self.event_code, lang)

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        """JSON-ready dict: code, kind, action, index, time (ISO 8601 UTC), data, summary."""
        out: dict[str, Any] = {
            "code": self.code,
            "kind": self.kind.value,
            "event": self.event_code.describe(lang),
            "action": self.action,
            "index": self.index,
            "time": _iso(self.timestamp),
        }
        out.update(self._fields(lang))
        out["summary"] = self.summary(lang)
        out["data"] = self.data
        if self.extras:
            out["extras"] = self.extras
        return out

    def _fields(self, lang: Lang) -> dict[str, Any]:
        del lang
        return {}


class AccessControlEvent(Event, frozen=True):
    """A credential presented at a door: who, how, where, and the device's verdict.

    ``granted`` follows ``Status`` (1 granted, 0 denied); without a Status it follows
    ``ErrorCode`` (0 means no error); with neither it is None.
    """

    kind: ClassVar[EventKind] = EventKind.ACCESS_CONTROL

    granted: bool | None = None
    user_id: str | None = None
    user_name: str | None = None
    card_no: str | None = None
    card_name: str | None = None
    door: int | None = None
    reader_id: str | None = None
    direction: Direction | None = None
    method: OpenMethod | None = None
    error: EventError | None = None
    user_type: UserType | None = None
    card_type: CardType | None = None
    similarity: int | None = None
    mask: Mask | None = None
    temperature: float | None = None
    over_temperature: bool | None = None
    record_no: int | None = None
    create_time: float | None = None

    def summary(self, lang: Lang = "en") -> str:
        """``Acesso negado: usuário 1021, cartão 12EA3004, porta 1: antipassback``."""
        pt = lang == "pt"
        if self.granted is None:
            head = "Acesso" if pt else "Access"
        elif self.granted:
            head = "Acesso liberado" if pt else "Access granted"
        else:
            head = "Acesso negado" if pt else "Access denied"
        parts: list[str] = []
        if self.user_id:
            who = f"{'usuário' if pt else 'user'} {self.user_id}"
            name = self.user_name or self.card_name
            if name:
                who += f" ({name})"
            parts.append(who)
        if self.card_no:
            parts.append(f"{'cartão' if pt else 'card'} {self.card_no}")
        if self.door is not None:
            parts.append(f"{'porta' if pt else 'door'} {self.door + 1}")
        if self.direction is not None and self.direction.known:
            parts.append(self.direction.text(lang).lower())
        line = head + (": " + ", ".join(parts) if parts else "")
        if self.method is not None:
            line += f" [{self.method.text(lang)}]"
        if self.error is not None and self.error.value != 0:
            line += f": {self.error.text(lang).lower() if pt else self.error.text(lang)}"
        return line

    def _fields(self, lang: Lang) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "card_no": self.card_no,
            "card_name": self.card_name,
            "door": self.door,
            "reader_id": self.reader_id,
            "direction": _describe(self.direction, lang),
            "method": _describe(self.method, lang),
            "error": _describe(self.error, lang),
            "user_type": _describe(self.user_type, lang),
            "card_type": _describe(self.card_type, lang),
            "similarity": self.similarity,
            "mask": _describe(self.mask, lang),
            "temperature": self.temperature,
            "over_temperature": self.over_temperature,
            "record_no": self.record_no,
            "create_time": _iso(self.create_time),
        }


class DoorStatusEvent(Event, frozen=True):
    """The door contact changed: ``state`` is Open or Close."""

    kind: ClassVar[EventKind] = EventKind.DOOR_STATUS

    door: int | None = None
    name: str | None = None
    state: DoorState | None = None

    def summary(self, lang: Lang = "en") -> str:
        door = _door_label(self.door, self.name, lang)
        if self.state is None or not self.state.known:
            head = _title(self.event_code, lang)
            state = f" ({self.state})" if self.state is not None else ""
            return f"{head}{state}: {door}" if door else head + state
        head = _DOOR_STATE_TITLES[self.state.value][1 if lang == "pt" else 0]
        return f"{head}: {door}" if door else head

    def _fields(self, lang: Lang) -> dict[str, Any]:
        return {"door": self.door, "name": self.name, "state": _describe(self.state, lang)}


_DOOR_STATE_TITLES = {
    DoorState.OPEN.value: ("Door opened", "Porta aberta"),
    DoorState.CLOSED.value: ("Door closed", "Porta fechada"),
}


class AlarmEvent(Event, frozen=True):
    """An alarm: break-in, door held open, duress, tamper (chassis intruded), local alarm.

    ``action`` says Start/Stop for alarms that last (DoorNotClosed) and Pulse otherwise.
    """

    kind: ClassVar[EventKind] = EventKind.ALARM

    door: int | None = None
    name: str | None = None
    user_id: str | None = None

    def summary(self, lang: Lang = "en") -> str:
        pt = lang == "pt"
        line = _title(self.event_code, lang)
        if self.action.lower() == "stop":
            line += " (encerrado)" if pt else " (ended)"
        where = _door_label(self.door, self.name, lang)
        if where:
            line += f": {where}"
        if self.user_id:
            line += f", {'usuário' if pt else 'user'} {self.user_id}"
        return line

    def _fields(self, lang: Lang) -> dict[str, Any]:
        del lang
        return {"door": self.door, "name": self.name, "user_id": self.user_id}


class ExitButtonEvent(Event, frozen=True):
    """The exit (request-to-exit) button was pressed."""

    kind: ClassVar[EventKind] = EventKind.EXIT_BUTTON

    door: int | None = None
    reader_id: str | None = None
    local: bool | None = None

    def summary(self, lang: Lang = "en") -> str:
        line = _title(self.event_code, lang)
        where = _door_label(self.door, None, lang)
        return f"{line}: {where}" if where else line

    def _fields(self, lang: Lang) -> dict[str, Any]:
        del lang
        return {"door": self.door, "reader_id": self.reader_id, "local": self.local}


class SystemEvent(Event, frozen=True):
    """Device housekeeping: reboot, upgrade, network/time change, logs, files, display."""

    kind: ClassVar[EventKind] = EventKind.SYSTEM

    detail: str | None = None

    def summary(self, lang: Lang = "en") -> str:
        line = _title(self.event_code, lang)
        return f"{line}: {self.detail}" if self.detail else line

    def _fields(self, lang: Lang) -> dict[str, Any]:
        del lang
        return {"detail": self.detail}


class UnknownEvent(Event, frozen=True):
    """An event code Porteiro does not know; everything the device sent is kept."""

    kind: ClassVar[EventKind] = EventKind.UNKNOWN

    def summary(self, lang: Lang = "en") -> str:
        if lang == "pt":
            return f"Evento desconhecido {self.code or '(sem código)'} ({self.action})"
        return f"Unknown event {self.code or '(no code)'} ({self.action})"


# -- building --------------------------------------------------------------------------


def _title(code: EventCode, lang: Lang) -> str:
    return code.text(lang)


def _describe(value: Any, lang: Lang) -> dict[str, Any] | None:
    return None if value is None else value.describe(lang)


def _datetime(epoch: float | None) -> datetime | None:
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):  # offsets can push an edge value out
        return None


def _iso(epoch: float | None) -> str | None:
    when = _datetime(epoch)
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def _door_label(door: int | None, name: str | None, lang: Lang) -> str:
    word = "porta" if lang == "pt" else "door"
    if door is not None and name:
        return f"{word} {door + 1} ({name})"
    if door is not None:
        return f"{word} {door + 1}"
    return name or ""


def _as_int(value: Any) -> int | None:
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return int(value)
    if kind is float:
        return int(value) if math.isfinite(value) and abs(value) < 1e18 else None
    if kind is str:
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if math.isfinite(number) and abs(number) < 1e18 else None
    return None


def _as_float(value: Any) -> float | None:
    if type(value) in (int, float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in {"true", "1", "yes", "on"}:
            return True
        if low in {"false", "0", "no", "off", ""}:
            return False
    return None


_MAX_EPOCH = 253_402_300_000  # just before 9999-12-31: the last instant datetime holds
_TEXT_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _as_epoch(value: Any, offset_seconds: float) -> float | None:
    """Epoch seconds (number or digit string) or device-local ``YYYY-MM-DD HH:MM:SS`` text.

    Text times are device wall-clock time: the offset is always applied to them (UTC
    when no offset is known). Numbers get the offset only when one was given, which
    is how the caller says "this device writes wall time into epoch fields".
    """
    if type(value) is int:
        if 0 < value < _MAX_EPOCH:
            return value - offset_seconds
        return None
    number = _as_int(value) if type(value) is not float else value
    if number is not None:
        if not 0 < number < _MAX_EPOCH:  # also rejects NaN; datetime cannot hold more
            return None
        return float(number) - offset_seconds
    if isinstance(value, str):
        text = value.strip()
        for fmt in _TEXT_TIME_FORMATS:
            try:
                wall = datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
            return wall.timestamp() - offset_seconds
    return None


def _direction(value: Any) -> Direction | None:
    if isinstance(value, str) and value:
        return Direction(value)
    return None


def _text(value: Any) -> str | None:
    """A non-empty string field (device sends "" for "none")."""
    if type(value) is str:
        return value or None
    return _as_str(value) or None


def _member(table: Any, members: dict[Any, Any], value: Any) -> Any:
    """``table.get(value)`` with a one-probe fast path for known integer codes."""
    if type(value) is int:
        hit = members.get(value)
        if hit is not None:
            return hit
    return None if value is None else table.get(value)


_METHODS: dict[Any, Any] = OpenMethod._value2member_map_
_ERRORS: dict[Any, Any] = EventError._value2member_map_
_USER_TYPES: dict[Any, Any] = UserType._value2member_map_
_CARD_TYPES: dict[Any, Any] = CardType._value2member_map_
_MASKS: dict[Any, Any] = Mask._value2member_map_
_DIRECTIONS: dict[str, Direction] = {member.value: member for member in Direction}


def _build_access(
    raw: RawEvent, event_code: EventCode, stamp: float | None, offset: float
) -> AccessControlEvent:
    data = raw.data
    get = data.get
    status = get("Status")
    error = _member(EventError, _ERRORS, get("ErrorCode"))
    if status is not None:
        granted = status == 1 if type(status) is int else _as_bool(status)
    elif error is not None:
        granted = error.value == 0
    else:
        granted = None
    temp = get("ManTemperatureInfo")
    temperature = over = None
    if temp is not None and isinstance(temp, dict):
        temperature = _as_float(temp.get("CurrentTemperature"))
        over = _as_bool(temp.get("IsOverTemperature"))
    door = get("Door")
    if type(door) is not int:
        door = _as_int(door)
        if door is None:
            door = raw.index
    direction = get("Type")
    if direction is not None:
        direction = _DIRECTIONS.get(direction) or _direction(direction)
    similarity = get("Similarity")
    record_no = get("RecNo")
    create_time = get("CreateTime")
    return AccessControlEvent(
        raw.code,
        event_code,
        raw.action,
        raw.index,
        stamp,
        data,
        raw.extras,
        granted,
        _text(get("UserID")),
        _text(get("UserName")),
        _text(get("CardNo")),
        _text(get("CardName")),
        door,
        _text(get("ReaderID")),
        direction,
        _member(OpenMethod, _METHODS, get("Method")),
        error,
        _member(UserType, _USER_TYPES, get("UserType")),
        _member(CardType, _CARD_TYPES, get("CardType")),
        None if similarity is None else _as_int(similarity),
        _member(Mask, _MASKS, get("Mask")),
        temperature,
        over,
        None if record_no is None else _as_int(record_no),
        None if create_time is None else _as_epoch(create_time, offset),
    )


def _door(raw: RawEvent) -> int:
    door = _as_int(raw.data.get("Door"))
    return door if door is not None else raw.index


def _build_door_status(raw: RawEvent, event_code: EventCode, stamp: float | None
                       ) -> DoorStatusEvent:
    status = raw.data.get("Status")
    return DoorStatusEvent(
        raw.code, event_code, raw.action, raw.index, stamp, raw.data, raw.extras,
        _door(raw),
        _text(raw.data.get("Name")),
        DoorState(status) if isinstance(status, str) and status else None,
    )


def _build_alarm(raw: RawEvent, event_code: EventCode, stamp: float | None) -> AlarmEvent:
    return AlarmEvent(
        raw.code, event_code, raw.action, raw.index, stamp, raw.data, raw.extras,
        _door(raw),
        _text(raw.data.get("Name")),
        _text(raw.data.get("UserID")),
    )


def _build_button(raw: RawEvent, event_code: EventCode, stamp: float | None
                  ) -> ExitButtonEvent:
    data = raw.data
    return ExitButtonEvent(
        raw.code, event_code, raw.action, raw.index, stamp, data, raw.extras,
        _door(raw),
        _text(data.get("ReaderID")),
        _as_bool(data.get("Local")) if "Local" in data else None,
    )


_DETAIL_KEYS = ("Detail", "Type", "Name", "Status", "State", "FileName", "Version", "IP")


def _system_detail(event_code: EventCode, data: Mapping[str, Any]) -> str | None:
    if event_code is EventCode.TIME_CHANGE:
        before = data.get("BeforeModifyTime")
        after = data.get("ModifiedTime")
        if before is not None or after is not None:
            return f"{before} -> {after}"
    for key in _DETAIL_KEYS:
        value = data.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


def build_event(raw: RawEvent, *, utc_offset: timedelta | None = None) -> Event:
    """The typed event for ``raw``. Never raises.

    ``utc_offset``: the device's offset from UTC, for firmware that writes local
    wall-clock time into ``UTC``/``CreateTime``; None means those fields are true UTC.
    """
    offset = utc_offset.total_seconds() if utc_offset is not None else 0.0
    event_code = _EVENT_CODES.get(raw.code)
    if event_code is None:
        event_code = EventCode(raw.code)
    data = raw.data
    stamp = data.get("UTC")
    if stamp is None:
        stamp = data.get("CreateTime")
    when = None if stamp is None else _as_epoch(stamp, offset)
    kind = kind_of(event_code)
    if kind is EventKind.ACCESS_CONTROL:
        return _build_access(raw, event_code, when, offset)
    if kind is EventKind.DOOR_STATUS:
        return _build_door_status(raw, event_code, when)
    if kind is EventKind.ALARM:
        return _build_alarm(raw, event_code, when)
    if kind is EventKind.EXIT_BUTTON:
        return _build_button(raw, event_code, when)
    if kind is EventKind.SYSTEM:
        return SystemEvent(raw.code, event_code, raw.action, raw.index, when, data, raw.extras,
                           _system_detail(event_code, data))
    return UnknownEvent(raw.code, event_code, raw.action, raw.index, when, data, raw.extras)


# Exact spellings first (one dict probe on the hot path); EventCode() handles the rest.
_EVENT_CODES: dict[str, EventCode] = {member.value: member for member in EventCode}


_RECORD_INT_FIELDS = frozenset(
    {"RecNo", "CardType", "Door", "ErrorCode", "Method", "Status", "UserType", "Mask",
     "Similarity"}
)


def event_from_record(
    record: Mapping[str, str], *, utc_offset: timedelta | None = None
) -> AccessControlEvent:
    """An access event from one ``recordFinder`` (AccessControlCardRec) record.

    Record values arrive as text; numeric fields are converted (kept as text when they
    are not numbers) and ``CreateTime`` may be epoch seconds or device-local text.
    """
    data: dict[str, Any] = {}
    for key, value in record.items():
        if key in _RECORD_INT_FIELDS:
            number = _as_int(value)
            data[key] = number if number is not None else value
        else:
            data[key] = value
    event = build_event(RawEvent("AccessControl", "Pulse", 0, data, {}), utc_offset=utc_offset)
    assert isinstance(event, AccessControlEvent)  # noqa: S101  # AccessControl always builds one
    return event
