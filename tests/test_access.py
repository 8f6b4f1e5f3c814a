"""The access engine: one table row per outcome the seed's codes describe."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from porteiro.access import (
    AccessRules,
    Card,
    DoorRule,
    MemoryHistory,
    OpenRequirement,
    Presentation,
    Schedule,
    User,
    UserStatus,
    decide,
)
from porteiro.codes import (
    CardStatus,
    CardType,
    Direction,
    DoorMode,
    EventError,
    OpenMethod,
    UserType,
)

E = EventError
M = OpenMethod
ALL_DOORS = tuple(range(12))
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
WEDNESDAY_NIGHT = datetime(2026, 11, 25, 22, 0, tzinfo=UTC).timestamp()
CHRISTMAS_NOON = datetime(2026, 12, 25, 12, 0, tzinfo=UTC).timestamp()

USERS = {u.user_id: u for u in [
    User("1", "Ana", password="1234", doors=ALL_DOORS, fingerprint=True, face=True),
    User("2", "Visitante", user_type=UserType.GUEST, uses_left=0, doors=ALL_DOORS),
    User("3", "Congelado", status=UserStatus.FROZEN, doors=ALL_DOORS),
    User("4", "Bloqueado", user_type=UserType.BLOCKLIST, doors=ALL_DOORS),
    User("5", "Expirado", valid_to=WEDNESDAY_NOON - 86400, doors=ALL_DOORS),
    User("6", "Comercial", time_sections=(1,), doors=ALL_DOORS),
    User("7", "Feriado", holiday_schedule=2, doors=ALL_DOORS),
    User("8", "Porta 0", doors=(0,)),
    User("9", "Visitante ok", user_type=UserType.GUEST, uses_left=3, doors=ALL_DOORS),
]}
CARDS = {c.card_no: c for c in [
    Card("AA01", "1"), Card("CANC", "1", status=CardStatus.CANCELLED),
    Card("FROZ", "1", status=CardStatus.FROZEN), Card("PATR", "1", card_type=CardType.PATROL),
    Card("DUR5", "1", card_type=CardType.DURESS),
    Card("BL01", "1", card_type=CardType.BLOCKLIST), Card("GU02", "2"), Card("FR03", "3"),
    Card("BL04", "4"), Card("EX05", "5"), Card("SC06", "6"), Card("HO07", "7"),
    Card("D008", "8"), Card("GU09", "9"), Card("GONE", "99"),
]}
DOORS = {d.index: d for d in [
    DoorRule(0, "Portaria"),
    DoorRule(1, requirement=OpenRequirement.parse("card+password")),
    DoorRule(2, requirement=OpenRequirement.parse("card+fingerprint")),
    DoorRule(3, requirement=OpenRequirement.parse("fingerprint+password")),
    DoorRule(4, requirement=OpenRequirement.parse("card+face")),
    DoorRule(5, mode=DoorMode.ALWAYS_CLOSED),
    DoorRule(6, anti_passback=True),
    DoorRule(7, repeat_entry_seconds=60),
    DoorRule(8, interlock_with=(0,)),
    DoorRule(9, require_mask=True, max_temperature=37.5),
    DoorRule(10, requirement=OpenRequirement.parse("password")),
    DoorRule(11, requirement=OpenRequirement.parse("card")),
]}
RULES = AccessRules(
    users=USERS, cards=CARDS, doors=DOORS,
    schedules={1: Schedule.daily("08:00", "18:00", weekdays=(0, 1, 2, 3, 4)),
               2: Schedule.daily("09:00", "11:00")},
    holidays=frozenset({date(2026, 12, 25)}),
    duress_password="9999",
)


def run(p: Presentation, *, now: float = WEDNESDAY_NOON, history: MemoryHistory | None = None,
        open_doors: frozenset[int] = frozenset()) -> tuple[bool, OpenMethod, EventError]:
    d = decide(RULES, p, now=now, history=history or MemoryHistory(), open_doors=open_doors)
    return d.granted, d.method, d.error


P = Presentation

TABLE = [
    # (why, presentation, expected granted, method, error)
    ("card ok", P(card_no="AA01"), True, M.CARD, E.NONE),
    ("card lowercase", P(card_no="aa01"), True, M.CARD, E.NONE),
    ("unknown card", P(card_no="FFFF"), False, M.CARD, E.UNAUTHORIZED),
    ("card of a deleted user", P(card_no="GONE"), False, M.CARD, E.UNAUTHORIZED),
    ("17 card lost or cancelled", P(card_no="CANC"), False, M.CARD, E.CARD_LOST_OR_CANCELLED),
    ("164 frozen card", P(card_no="FROZ"), False, M.CARD, E.USER_FROZEN),
    ("164 frozen user", P(card_no="FR03"), False, M.CARD, E.USER_FROZEN),
    ("blocklisted user", P(card_no="BL04"), False, M.CARD, E.UNAUTHORIZED),
    ("blocklisted card", P(card_no="BL01"), False, M.CARD, E.UNAUTHORIZED),
    ("18 no permission for this door", P(card_no="D008", door=1, password=""), False,
     M.CARD_THEN_PASSWORD, E.NO_DOOR_PERMISSION),
    ("19 face at a card-only door", P(face="1", door=11), False, M.FACE, E.WRONG_OPEN_MODE),
    ("20 validity period", P(card_no="EX05"), False, M.CARD, E.VALIDITY_PERIOD),
    ("23 door held closed", P(card_no="AA01", door=5), False, M.CARD, E.DOOR_ALWAYS_CLOSED),
    ("64 card ok, wrong password", P(card_no="AA01", door=1, password="0000"), False,
     M.CARD_THEN_PASSWORD, E.CARD_OK_PASSWORD_WRONG),
    ("65 card ok, password timed out", P(card_no="AA01", door=1, timed_out=True), False,
     M.CARD, E.CARD_OK_PASSWORD_TIMEOUT),
    ("card + password ok", P(card_no="AA01", door=1, password="1234"), True,
     M.CARD_THEN_PASSWORD, E.NONE),
    ("66 card ok, wrong finger", P(card_no="AA01", door=2, fingerprint=""), False,
     M.CARD_FINGERPRINT, E.CARD_OK_FINGERPRINT_WRONG),
    ("67 card ok, finger timed out", P(card_no="AA01", door=2, timed_out=True), False,
     M.CARD, E.CARD_OK_FINGERPRINT_TIMEOUT),
    ("card + finger ok", P(card_no="AA01", door=2, fingerprint="1"), True,
     M.CARD_FINGERPRINT, E.NONE),
    ("68 finger ok, wrong password", P(fingerprint="1", door=3, password="0"), False,
     M.FINGERPRINT_AND_PASSWORD, E.FINGERPRINT_OK_PASSWORD_WRONG),
    ("69 finger ok, password timed out", P(fingerprint="1", door=3, timed_out=True), False,
     M.FINGERPRINT, E.FINGERPRINT_OK_PASSWORD_TIMEOUT),
    ("70 user id ok, wrong password", P(user_id="1", password="0", door=10), False,
     M.USER_ID_AND_PASSWORD, E.USER_ID_OK_PASSWORD_WRONG),
    ("71 user id ok, password timed out", P(user_id="1", door=10, timed_out=True), False,
     M.USER_ID_AND_PASSWORD, E.USER_ID_OK_PASSWORD_TIMEOUT),
    ("user id + password ok", P(user_id="1", password="1234", door=10), True,
     M.USER_ID_AND_PASSWORD, E.NONE),
    ("97 card ok, wrong face", P(card_no="AA01", door=4, face="6"), False, M.CARD_AND_FACE,
     E.CARD_OK_FACE_WRONG),
    ("98 card ok, face timed out", P(card_no="AA01", door=4, timed_out=True), False, M.CARD,
     E.CARD_OK_FACE_TIMEOUT),
    ("card + face ok", P(card_no="AA01", door=4, face="1"), True, M.CARD_AND_FACE, E.NONE),
    ("unknown face", P(face=""), False, M.FACE, E.UNAUTHORIZED),
    ("face ok", P(face="1"), True, M.FACE, E.NONE),
    ("fingerprint ok", P(fingerprint="1"), True, M.FINGERPRINT, E.NONE),
    ("QR ok", P(qr="1"), True, M.QR_CODE, E.NONE),
    ("inside the user's time section", P(card_no="SC06"), True, M.CARD, E.NONE),
    ("165 guest out of uses", P(card_no="GU02"), False, M.CARD, E.GUEST_USES_EXHAUSTED),
    ("guest with uses", P(card_no="GU09"), True, M.CARD, E.NONE),
    ("13 duress password", P(user_id="1", password="9999", door=10), True,
     M.DURESS_PASSWORD, E.NONE),
    ("13 duress card", P(card_no="DUR5"), True, M.DURESS_PASSWORD, E.NONE),
    ("25 patrol card", P(card_no="PATR"), False, M.CARD, E.PATROL_CARD),
    ("4 remote open", P(remote=True, user_id="1"), True, M.REMOTE, E.NONE),
    ("5 exit button", P(exit_button=True), True, M.EXIT_BUTTON, E.NONE),
    ("5 exit button at a door held closed", P(exit_button=True, door=5), False,
     M.EXIT_BUTTON, E.DOOR_ALWAYS_CLOSED),
    ("102 no mask", P(card_no="AA01", door=9, mask=False), False, M.CARD, E.NO_MASK),
    ("101 high temperature", P(card_no="AA01", door=9, mask=True, temperature=38.2), False,
     M.CARD, E.HIGH_TEMPERATURE),
]


@pytest.mark.parametrize(("why", "presentation", "granted", "method", "error"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_decision_table(why: str, presentation: Presentation, granted: bool,
                        method: OpenMethod, error: EventError) -> None:
    assert run(presentation) == (granted, method, error), why


def test_32_outside_time_section() -> None:
    assert run(P(card_no="SC06"), now=WEDNESDAY_NIGHT) == (False, M.CARD, E.TIME_SECTION)


def test_33_holiday_schedule() -> None:
    assert run(P(card_no="HO07"), now=CHRISTMAS_NOON) == (False, M.CARD, E.HOLIDAY)
    morning = datetime(2026, 12, 25, 10, 0, tzinfo=UTC).timestamp()
    assert run(P(card_no="HO07"), now=morning) == (True, M.CARD, E.NONE)
    assert run(P(card_no="HO07")) == (True, M.CARD, E.NONE)  # not a holiday


def test_schedules_use_device_local_time() -> None:
    brasilia = AccessRules(users=USERS, cards=CARDS, doors=DOORS, schedules=RULES.schedules,
                           utc_offset_seconds=-3 * 3600)
    late_utc = datetime(2026, 11, 25, 20, 30, tzinfo=UTC).timestamp()  # 17:30 in Brasília
    decision = decide(brasilia, P(card_no="SC06"), now=late_utc, history=MemoryHistory())
    assert decision.granted


def test_21_anti_passback() -> None:
    history = MemoryHistory()
    entry = P(card_no="AA01", door=6, direction=Direction.ENTRY)
    first = decide(RULES, entry, now=WEDNESDAY_NOON, history=history)
    assert first.granted
    history.record(first, entry, WEDNESDAY_NOON)
    assert run(entry, history=history) == (False, M.CARD, E.ANTI_PASSBACK)
    leave = P(card_no="AA01", door=6, direction=Direction.EXIT)
    assert run(leave, history=history) == (True, M.CARD, E.NONE)


def test_99_repeat_entry() -> None:
    history = MemoryHistory()
    p = P(card_no="AA01", door=7)
    first = decide(RULES, p, now=WEDNESDAY_NOON, history=history)
    history.record(first, p, WEDNESDAY_NOON)
    assert run(p, now=WEDNESDAY_NOON + 30, history=history) == (False, M.CARD, E.REPEAT_ENTRY)
    assert run(p, now=WEDNESDAY_NOON + 61, history=history) == (True, M.CARD, E.NONE)


def test_24_interlock() -> None:
    p = P(card_no="AA01", door=8)
    assert run(p, open_doors=frozenset({0})) == (False, M.CARD, E.INTERLOCK)
    assert run(p) == (True, M.CARD, E.NONE)


def test_duress_emits_an_alarm_event() -> None:
    decision = decide(RULES, P(card_no="DUR5"), now=WEDNESDAY_NOON, history=MemoryHistory())
    events = decision.events(P(card_no="DUR5"), int(WEDNESDAY_NOON), door_name="Portaria")
    assert [e.code for e in events] == ["AccessControl", "Duress"]
    assert events[1].data == {"Name": "Portaria", "UTC": int(WEDNESDAY_NOON), "UserID": "1"}


def test_event_data_matches_the_device_fields() -> None:
    p = P(card_no="AA01", direction=Direction.EXIT, reader_id="2")
    decision = decide(RULES, p, now=WEDNESDAY_NOON, history=MemoryHistory())
    (event,) = decision.events(p, 1790715000)
    assert event.code == "AccessControl"
    assert event.data == {
        "CardName": "Ana", "CardNo": "AA01", "CardType": 0, "CreateTime": 1790715000,
        "Door": 0, "ErrorCode": 0, "Method": 1, "ReaderID": "2", "Status": 1, "Type": "Exit",
        "UTC": 1790715000, "UserID": "1", "UserType": 0,
    }


def test_door_held_open_lets_a_known_person_through() -> None:
    rules = AccessRules(users=USERS, cards=CARDS,
                        doors={0: DoorRule(0, mode=DoorMode.ALWAYS_OPEN)})
    decision = decide(rules, P(card_no="EX05"), now=WEDNESDAY_NOON, history=MemoryHistory())
    assert decision.granted


def test_open_requirement_text() -> None:
    requirement = OpenRequirement.parse("card+password|face")
    assert str(requirement) == "card+password|face"
    assert str(OpenRequirement.parse("any")) == "any"
    with pytest.raises(ValueError, match="nope"):
        OpenRequirement.parse("card+nope")


def test_unknown_card_is_logged_with_its_number() -> None:
    p = P(card_no="ffff0001")
    decision = decide(RULES, p, now=WEDNESDAY_NOON, history=MemoryHistory())
    (event,) = decision.events(p, 1)
    assert event.data["CardNo"] == "FFFF0001"
    assert event.data["ErrorCode"] == 16
