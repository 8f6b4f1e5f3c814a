"""Typed events: every kind, summaries in both languages, odd values, time offsets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porteiro.codes import (
    Direction,
    DoorState,
    EventCode,
    EventError,
    EventKind,
    Mask,
    OpenMethod,
)
from porteiro.events import (
    AccessControlEvent,
    AlarmEvent,
    DoorStatusEvent,
    ExitButtonEvent,
    SystemEvent,
    UnknownEvent,
    build_event,
    event_from_record,
)
from porteiro.wire import RawEvent

OFFICIAL_ACCESS = {
    "CardName": "", "CardNo": "12EA3004", "CardType": 0, "CreateTime": 1629721071,
    "Door": 0, "ErrorCode": 0, "Method": 1, "ReaderID": "1", "Status": 1, "Type": "Entry",
    "UTC": 1629721071, "UserID": "1", "UserType": 0,
}


def access(**changes: object) -> AccessControlEvent:
    data = {**OFFICIAL_ACCESS, **changes}
    event = build_event(RawEvent("AccessControl", "Pulse", 0, data))
    assert isinstance(event, AccessControlEvent)
    return event


def test_official_access_event_fields() -> None:
    event = access()
    assert event.kind is EventKind.ACCESS_CONTROL
    assert event.granted is True
    assert event.user_id == "1"
    assert event.card_no == "12EA3004"
    assert event.card_name is None  # "" means none
    assert event.door == 0
    assert event.reader_id == "1"
    assert event.direction is Direction.ENTRY
    assert event.method is OpenMethod.CARD
    assert event.error is EventError.NONE
    assert event.time == datetime(2021, 8, 23, 12, 17, 51, tzinfo=UTC)
    assert event.create_time == 1629721071


def test_issue_example_summary_in_portuguese() -> None:
    event = access(UserID="1021", Status=0, ErrorCode=21)
    assert event.granted is False
    assert event.error is EventError.ANTI_PASSBACK
    line = event.summary("pt")
    assert line.startswith("Acesso negado: usuário 1021, cartão 12EA3004, porta 1")
    assert "antipassback" in line.lower()
    assert event.summary("en").startswith("Access denied: user 1021, card 12EA3004, door 1")


def test_granted_without_status_follows_error_code() -> None:
    data = dict(OFFICIAL_ACCESS)
    del data["Status"]
    data["ErrorCode"] = 18
    event = build_event(RawEvent("AccessControl", "Pulse", 0, data))
    assert isinstance(event, AccessControlEvent)
    assert event.granted is False
    del data["ErrorCode"]
    event = build_event(RawEvent("AccessControl", "Pulse", 0, data))
    assert isinstance(event, AccessControlEvent)
    assert event.granted is None
    assert event.summary("en").startswith("Access: ")


def test_face_fields_mask_similarity_temperature() -> None:
    event = access(Method=15, Similarity=93, Mask=2,
                   ManTemperatureInfo={"CurrentTemperature": 36.7, "IsOverTemperature": False})
    assert event.method is OpenMethod.FACE
    assert event.similarity == 93
    assert event.mask is Mask(2)
    assert event.temperature == pytest.approx(36.7)
    assert event.over_temperature is False


def test_unknown_method_and_error_are_kept_raw() -> None:
    event = access(Method=99, ErrorCode=250, Status=0)
    assert event.method is not None
    assert int(event.method) == 99
    assert not event.method.known
    assert event.error is not None
    assert int(event.error) == 250
    assert "250" in event.summary("pt")
    out = event.to_dict("pt")
    assert out["method"]["code"] == 99
    assert out["error"]["code"] == 250
    assert "desconhecido" in out["method"]["text"].lower()


@pytest.mark.parametrize(
    "bad",
    [{"Method": "abc", "ErrorCode": None, "Door": "x", "UTC": "never", "Status": "maybe"},
     {"Method": 1.5, "ErrorCode": True, "Door": [], "UTC": -5, "UserID": 1021},
     {"ManTemperatureInfo": "hot", "Similarity": "high", "Type": 7, "CardNo": {"a": 1}}],
)
def test_odd_values_never_raise(bad: dict[str, object]) -> None:
    event = build_event(RawEvent("AccessControl", "Pulse", 0, {**OFFICIAL_ACCESS, **bad}))
    json.dumps(event.to_dict("pt"))
    assert event.summary("en")


def test_strings_for_numbers_are_accepted() -> None:
    event = access(Method="15", ErrorCode="0", Status="1", Door="1", UTC="1629721071")
    assert event.method is OpenMethod.FACE
    assert event.door == 1
    assert event.timestamp == 1629721071


def test_device_writing_local_time_into_epoch_fields() -> None:
    """A Brasília device (UTC-3) that writes wall time: 12:17:51 local is 15:17:51 UTC."""
    event = build_event(RawEvent("AccessControl", "Pulse", 0, OFFICIAL_ACCESS),
                        utc_offset=timedelta(hours=-3))
    assert event.time == datetime(2021, 8, 23, 15, 17, 51, tzinfo=UTC)


def test_door_status() -> None:
    event = build_event(RawEvent("DoorStatus", "Pulse", 1,
                                 {"Name": "Portaria", "Status": "Open", "UTC": 1}))
    assert isinstance(event, DoorStatusEvent)
    assert event.state is DoorState.OPEN
    assert event.door == 1  # from the event index when data has no Door
    assert "2" in event.summary("en")
    assert "Portaria" in event.summary("pt")


@pytest.mark.parametrize("code", ["BreakIn", "DoorNotClosed", "Duress", "ChassisIntruded",
                                  "AlarmLocal"])
def test_alarms(code: str) -> None:
    event = build_event(RawEvent(code, "Start", 0, {"Name": "SS-1", "UTC": 1598250815,
                                                    "UserID": "7"}))
    assert isinstance(event, AlarmEvent)
    assert event.kind is EventKind.ALARM
    assert event.name == "SS-1"
    assert event.summary("pt") != event.summary("en")


def test_alarm_stop_is_said() -> None:
    event = build_event(RawEvent("DoorNotClosed", "Stop", 0, {"Name": "SS-1"}))
    assert "(ended)" in event.summary("en")
    assert "(encerrado)" in event.summary("pt")


@pytest.mark.parametrize("code", ["_Button_", "Button", "ButtonExit"])
def test_exit_button_spellings(code: str) -> None:
    event = build_event(RawEvent(code, "Pulse", 0, {"Local": True, "ReaderID": "1",
                                                    "Type": "Button"}))
    assert isinstance(event, ExitButtonEvent)
    assert event.code == code  # kept as sent
    assert event.event_code is EventCode.EXIT_BUTTON
    assert event.local is True


@pytest.mark.parametrize("code", ["Reboot", "Upgrade", "NetworkChange", "TimeChange",
                                  "ManagerLog", "NewFile", "UpdateFile", "ScreenSaver",
                                  "KeepLightOn", "KeepLightOff", "_FingerPrintCollect_"])
def test_system_events(code: str) -> None:
    event = build_event(RawEvent(code, "Pulse", 0, {"UTC": 1}))
    assert isinstance(event, SystemEvent)
    assert event.summary("en") != event.summary("pt")


def test_time_change_detail() -> None:
    event = build_event(RawEvent("TimeChange", "Pulse", 0, {
        "BeforeModifyTime": "2026-01-01 10:00:00", "ModifiedTime": "2026-01-01 10:05:00"}))
    assert "2026-01-01 10:00:00 -> 2026-01-01 10:05:00" in event.summary("en")


def test_unknown_event_kept_whole() -> None:
    raw = RawEvent("CitizenPictureCompare", "Pulse", 2, {"Similarity": 88}, {"x": 1})
    event = build_event(raw)
    assert isinstance(event, UnknownEvent)
    assert event.kind is EventKind.UNKNOWN
    assert event.data == raw.data
    assert event.extras == raw.extras
    assert "CitizenPictureCompare" in event.summary("pt")
    assert "desconhecido" in event.summary("pt")


def test_to_dict_shape_for_jsonl() -> None:
    out = access().to_dict("en")
    for key in ("code", "kind", "action", "index", "time", "data", "granted", "user_id",
                "card_no", "door", "method", "error", "summary"):
        assert key in out
    assert out["time"] == "2021-08-23T12:17:51Z"
    assert out["method"] == {"code": 1, "name": "CARD", "text": OpenMethod.CARD.text("en")}
    assert out["error"]["code"] == 0
    assert out["data"] == OFFICIAL_ACCESS


def test_events_are_immutable() -> None:
    event = access()
    with pytest.raises(AttributeError):
        event.user_id = "2"  # type: ignore[misc]


def test_record_from_record_finder() -> None:
    record = {"RecNo": "100", "CreateTime": "1629721071", "CardNo": "12EA3004",
              "CardName": "NAME", "UserID": "1021", "Status": "1", "Type": "Entry",
              "Method": "15", "Door": "0", "ReaderID": "1", "ErrorCode": "0"}
    event = event_from_record(record)
    assert event.record_no == 100
    assert event.method is OpenMethod.FACE
    assert event.granted is True
    assert event.timestamp == 1629721071


def test_record_with_local_text_time() -> None:
    event = event_from_record({"CreateTime": "2026-05-15 10:14:27", "Status": "1"},
                              utc_offset=timedelta(hours=-3))
    assert event.time == datetime(2026, 5, 15, 13, 14, 27, tzinfo=UTC)


_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)
_keys = st.sampled_from([*sorted(OFFICIAL_ACCESS), "Similarity", "Mask", "RecNo", "Name",
                         "ManTemperatureInfo", "Local", "x"])


@settings(max_examples=300)
@given(st.text(max_size=20), st.dictionaries(_keys, _values, max_size=10), st.integers())
def test_build_event_never_raises(code: str, data: dict[str, object], index: int) -> None:
    event = build_event(RawEvent(code, "Pulse", index, data))
    for lang in ("en", "pt"):
        assert isinstance(event.summary(lang), str)
        json.dumps(event.to_dict(lang), default=str)
    msgspec.json.encode(event.data, enc_hook=str)
