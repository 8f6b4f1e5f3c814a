"""The code catalogue against the vendor's reference table (tests/fixtures/seed.txt)."""

from __future__ import annotations

import re
import unicodedata
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porteiro.codes import (
    ALREADY_EXISTS,
    AUTHENTICATION,
    CAPACITY,
    CREDENTIAL_FAILURES,
    CREDENTIAL_TIMEOUTS,
    KIND_OF,
    NOT_FOUND,
    PENDING,
    RETRYABLE,
    RULE_DENIALS,
    SCHEDULE_DENIALS,
    TABLES,
    DoorState,
    EventCode,
    EventError,
    EventKind,
    IntCode,
    OpenMethod,
    RequestError,
    StrCode,
    UserType,
    category,
    from_vendor_name,
    kind_of,
    normalize_lang,
    search,
)
from porteiro.codes._base import register_texts

SEED = (Path(__file__).parent / "fixtures" / "seed.txt").read_text(encoding="utf-8")

# Typos of the seed that the catalogue corrects (documented next to the tables).
TYPO_FIXES = {"Wainting": "Waiting", "sequencie": "sequence"}


def _section(start: str, end: str | None) -> str:
    body = SEED.split(start, 1)[1]
    return body.split(end, 1)[0] if end else body


def _fix(text: str) -> str:
    for wrong, right in TYPO_FIXES.items():
        text = text.replace(wrong, right)
    return text


def seed_methods() -> dict[int, str]:
    body = _section("CodeAuthentication Method", "Códigos de Erro Eventos")
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^(\d+)(\D.*)$", body, re.M)}


def seed_event_errors() -> dict[int, str]:
    body = _section("CódigoDescrição do erro", "Códigos de Erro Requests")
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^(\d+)(\D.*)$", body, re.M)}


def seed_request_errors() -> list[tuple[str, int, str]]:
    body = _section("Códigos de Erro Requests", "Tipos de eventos retornados")
    return [(m[1], int(m[2]), m[3].strip())
            for m in re.finditer(r"^([A-Za-z_]+?)(\d{9})\s*//+<?\s*(.*)$", body, re.M)]


def seed_event_rows() -> list[tuple[str, str]]:
    """(event name, the seed's Portuguese description); shared rows give two names."""
    body = _section("CodeDescrição do evento", None)
    rows: list[tuple[str, str]] = []
    for line in body.splitlines():
        match = re.match(r"^([A-Z][A-Za-z]+(?: / [A-Z][A-Za-z]+)?)(Evento.*)$", line)
        if match:
            rows += [(part.strip(), match[2]) for part in match[1].split("/")]
    return rows


def seed_event_types() -> list[str]:
    return [name for name, _ in seed_event_rows()]


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def test_seed_parsers_find_everything() -> None:
    assert len(seed_methods()) == 45
    assert len(seed_event_errors()) == 31
    assert len(seed_request_errors()) == 74
    assert len(seed_event_types()) == 19


@pytest.mark.parametrize(("code", "text"), sorted(seed_methods().items()))
def test_every_seed_method_is_known_with_the_seed_text(code: int, text: str) -> None:
    member = OpenMethod(code)
    assert member.known
    assert member.en == text


def test_methods_beyond_the_seed() -> None:
    assert OpenMethod(10) is OpenMethod.RESERVED_10
    assert OpenMethod(16) is OpenMethod.RESERVED_16
    assert (OpenMethod(10).en, OpenMethod(10).pt) == ("Reserved", "Reservado")
    assert OpenMethod(42) is OpenMethod.DTMF
    assert OpenMethod.DTMF.en == "by DTMF (SIP INFO, RFC2833, INBAND)"
    assert [m.value for m in OpenMethod] == list(range(48))


@pytest.mark.parametrize(("code", "text"), sorted(seed_event_errors().items()))
def test_every_seed_event_error_is_known_with_the_seed_text(code: int, text: str) -> None:
    member = EventError(code)
    assert member.known
    assert member.en == _fix(text)


def test_event_error_typos_fixed_and_16_added() -> None:
    # The codes of the misspelt rows still decode, to corrected text.
    assert EventError(96) is EventError.WAITING_REMOTE_VERIFICATION
    assert EventError.get("96") is EventError.WAITING_REMOTE_VERIFICATION
    assert EventError(96).en == "Waiting remote verification"
    assert EventError(162) is EventError.MULTI_USER_SEQUENCE_WRONG
    assert EventError(162).en == "Single user combination door open sequence is wrong"
    for member in EventError:
        assert "Wainting" not in member.en
        assert "sequencie" not in member.en
    assert "Wainting" in SEED  # the fixture stays verbatim
    assert "sequencie" in SEED
    assert EventError(16) is EventError.UNAUTHORIZED
    assert EventError.UNAUTHORIZED.en == "Unauthorized"


@pytest.mark.parametrize(("vendor", "code", "text"), seed_request_errors())
def test_every_seed_request_error(vendor: str, code: int, text: str) -> None:
    member = from_vendor_name(vendor)
    assert member is not None, vendor
    if vendor == "accessControlErrorDuplicateRecord":
        # The seed lists it under 286064918; resolved to 286064919 (see requests.py).
        assert code == 286064918
        assert member is RequestError.DUPLICATE_RECORD
        return
    assert member.value == code
    assert RequestError(code).known
    assert member.en.lower() == text.lower()  # the seed's words (first letter capitalised)


def test_the_286064918_contradiction_is_resolved() -> None:
    assert RequestError(286064918) is RequestError.NO_MORE_RECORDS
    assert RequestError(286064919) is RequestError.DUPLICATE_RECORD
    assert RequestError(286064917) is RequestError.NO_RECORDS
    assert RequestError.DUPLICATE_RECORD.vendor_name == "DUPLICATE_RECORD"
    assert from_vendor_name("DUPLICATE_RECORD") is RequestError.DUPLICATE_RECORD
    assert from_vendor_name("ACCESSCONTROLERRORNOMORERECORDS") is RequestError.NO_MORE_RECORDS


def test_request_errors_keep_vendor_spelling() -> None:
    assert RequestError.OBJECT_CREATION_FAILED.vendor_name == "OBJECT_REATION_FAILED"
    assert RequestError.ADMIN_PASSWORD_MUST_BE_CHANGED.vendor_name == (
        "ADMIN_PASSOWRD_MUST_MODIFIED")
    assert RequestError.USER_ALREADY_EXISTS.vendor_name == "accessControlErrorUserAlreadyExist"


def test_request_errors_beyond_the_seed() -> None:
    assert RequestError(288686082) is RequestError.FACE_USER_NOT_FOUND
    assert RequestError(288686087) is RequestError.FACE_NOT_DETECTED
    assert RequestError.FACE_USER_NOT_FOUND.vendor_name == "faceInfoManagerErrorUserNotExist"
    assert from_vendor_name("faceInfoManagerErrorDetectFaceNumZero") is (
        RequestError.FACE_NOT_DETECTED)
    assert RequestError(285278242) is RequestError.UNKNOWN_TABLE
    assert RequestError.UNKNOWN_TABLE.vendor_name is None
    # The rest of the face-manager block is not named by the reference: kept raw.
    assert not RequestError(288686088).known
    assert RequestError(288686088).vendor_name is None


def test_every_vendor_name_round_trips() -> None:
    named = [member for member in RequestError if member.vendor_name is not None]
    assert len(named) == len(RequestError) - 1  # all but UNKNOWN_TABLE
    for member in named:
        assert member.vendor_name is not None
        assert from_vendor_name(member.vendor_name) is member
        assert from_vendor_name(f"  {member.vendor_name.upper()} ") is member
    assert from_vendor_name("accessControlErrorDuplicateRecord") is RequestError.DUPLICATE_RECORD
    assert from_vendor_name("nonsense") is None


@pytest.mark.parametrize("name", seed_event_types())
def test_every_seed_event_type(name: str) -> None:
    member = EventCode(name)
    assert member.known
    assert kind_of(member) is not EventKind.UNKNOWN


@pytest.mark.parametrize(("name", "description"), seed_event_rows())
def test_event_type_texts_come_from_the_seed(name: str, description: str) -> None:
    # The seed only has Portuguese descriptions; the pt label is cut from them, so it
    # shares at least one significant word with the seed (accents ignored).
    seed_words = {w for w in re.findall(r"\w+", _plain(description)) if len(w) >= 5}
    label_words = set(re.findall(r"\w+", _plain(EventCode(name).pt)))
    assert seed_words & label_words, (name, EventCode(name).pt)
    assert EventCode(name).en != EventCode(name).pt


def test_event_type_resolutions() -> None:
    assert EventCode("Button") is EventCode.EXIT_BUTTON
    assert EventCode("ButtonExit") is EventCode.EXIT_BUTTON
    assert EventCode("_Button_") is EventCode.EXIT_BUTTON  # the official stream example
    assert EventCode("KeepLightOn") is EventCode.KEEP_LIGHT_ON
    assert EventCode("KeepLightOff") is EventCode.KEEP_LIGHT_OFF
    assert EventCode.KEEP_LIGHT_ON.en != EventCode.KEEP_LIGHT_OFF.en
    assert EventCode.EXIT_BUTTON.value == "ButtonExit"
    assert EventCode(" BUTTON ") is EventCode.EXIT_BUTTON
    assert EventCode("accesscontrol") is EventCode.ACCESS_CONTROL
    assert EventCode("_FingerPrintCollect_") is EventCode.FINGERPRINT_COLLECT
    assert set(KIND_OF) == set(EventCode)


def test_user_type_5_is_accessibility() -> None:
    assert UserType(5) is UserType.ACCESSIBILITY
    assert "disabled" not in UserType(5).en.lower()
    assert UserType(1) is UserType.BLOCKLIST


def test_door_state_aliases() -> None:
    assert DoorState("Close") is DoorState.CLOSED
    assert DoorState("Closed") is DoorState.CLOSED
    assert DoorState("open") is DoorState.OPEN


# Texts that are rightly the same in English and Portuguese.
SAME_IN_BOTH = {"VIP", "Normal"}


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_member_has_both_languages(table: type[IntCode] | type[StrCode]) -> None:
    for member in table:
        assert member.en.strip(), member
        assert member.pt.strip(), member
        assert member.en == member.en.strip()
        assert member.pt == member.pt.strip()
        if member.en == member.pt:
            assert member.en in SAME_IN_BOTH, f"{member!r}: pt is an untranslated copy"


def test_register_texts_refuses_gaps_and_strays() -> None:
    class Probe(IntCode):
        ONE = 1
        TWO = 2

    with pytest.raises(ValueError, match="no text for"):
        register_texts(Probe, {Probe.ONE: ("One", "Um")}, unknown_en="?", unknown_pt="?")
    with pytest.raises(ValueError, match="non-members"):
        register_texts(Probe, {Probe.ONE: ("One", "Um"), Probe.TWO: ("Two", "Dois"),
                               OpenMethod.FACE: ("x", "y")}, unknown_en="?", unknown_pt="?")
    with pytest.raises(ValueError, match="textual tables only"):
        register_texts(Probe, {Probe.ONE: ("One", "Um"), Probe.TWO: ("Two", "Dois")},
                       unknown_en="?", unknown_pt="?", aliases={"uno": Probe.ONE})


@pytest.mark.parametrize(
    ("table", "raw"),
    [(OpenMethod, 999), (EventError, -1), (RequestError, 1), (UserType, 77)],
)
def test_unknown_numeric_codes_never_raise(table: type[IntCode], raw: int) -> None:
    member = table(raw)
    assert int(member) == raw
    assert member.code == raw
    assert not member.known
    assert "unknown" in member.en.lower()
    assert "desconhecid" in member.pt.lower()
    assert str(raw) in member.text("pt")
    assert str(raw) in member.text("en")
    assert member.describe("en") == {"code": raw, "name": f"UNKNOWN_{raw}", "text": member.en}


@pytest.mark.parametrize("raw", ["Zzz", "CitizenPictureCompare", "", " _ "])
def test_unknown_event_code_keeps_its_text(raw: str) -> None:
    member = EventCode(raw)
    assert member == raw
    assert member.code == raw
    assert not member.known
    assert kind_of(member) is EventKind.UNKNOWN
    assert "unknown" in member.en.lower()
    assert "desconhecido" in member.pt.lower()


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), (True, None), (False, None), ("abc", None), (3.5, None), (15.0, None),
    (b"15", None), ("--5", None), ("²", None), ("١٢", None), ("", None), ("-", None),
    ("15", OpenMethod.FACE), (15, OpenMethod.FACE), (" 1 ", OpenMethod.CARD),
    (EventError.ANTI_PASSBACK, OpenMethod.USER_ID_AND_PASSWORD),  # an int of another table
])
def test_lenient_get(raw: object, expected: OpenMethod | None) -> None:
    assert OpenMethod.get(raw) is expected


def test_lenient_get_keeps_unknown_numbers() -> None:
    member = OpenMethod.get("-3")
    assert member is not None
    assert member == -3
    assert not member.known
    assert OpenMethod.get(999) == 999


def test_groupings_partition_the_event_errors() -> None:
    assert CREDENTIAL_TIMEOUTS <= CREDENTIAL_FAILURES
    assert SCHEDULE_DENIALS <= RULE_DENIALS
    groups = [{EventError.NONE}, CREDENTIAL_FAILURES, RULE_DENIALS, PENDING]
    for member in EventError:
        assert sum(member in group for group in groups) == 1, member
    assert category(EventError.ANTI_PASSBACK) == "rule"
    assert category(EventError.CARD_OK_PASSWORD_WRONG) == "credential"
    assert category(EventError.WAITING_REMOTE_VERIFICATION) == "pending"
    assert category(EventError.NONE) == "ok"
    assert category(EventError(250)) == "unknown"
    assert all(category(member) != "unknown" for member in EventError)
    # The two deliberate calls (see errors.py): the card itself is refused.
    assert category(EventError.CARD_LOST_OR_CANCELLED) == "credential"
    assert category(EventError.ILLEGAL_CARD_OVERTIME) == "credential"
    assert category(EventError.USER_FROZEN) == "rule"
    assert {m for m in CREDENTIAL_FAILURES if "TIMEOUT" in m.name} == CREDENTIAL_TIMEOUTS
    assert {m.value for m in SCHEDULE_DENIALS} == {20, 32, 33}
    assert {m.value for m in PENDING} == {82, 96}


REQUEST_POLICIES = {"RETRYABLE": RETRYABLE, "AUTHENTICATION": AUTHENTICATION,
                    "ALREADY_EXISTS": ALREADY_EXISTS, "NOT_FOUND": NOT_FOUND,
                    "CAPACITY": CAPACITY}


def test_request_policy_sets() -> None:
    for (one, first), (other, second) in combinations(REQUEST_POLICIES.items(), 2):
        assert not first & second, (one, other)
    for group in REQUEST_POLICIES.values():
        assert all(member.known for member in group)
    assert RequestError.DUPLICATE_RECORD in ALREADY_EXISTS
    assert RequestError.NO_MORE_RECORDS in NOT_FOUND
    assert RequestError.EXCEED_MAX_CAPACITY in CAPACITY
    assert RequestError.BATCH_PROCESS_ERROR not in RETRYABLE  # the cause is in FailCodes
    for member in (RequestError.IN_PROGRESS, RequestError.TOO_MANY_REQUESTS,
                   RequestError.EXCEED_MAX_INSERT_RATE, RequestError.DEVICE_WARM_UP):
        assert member in RETRYABLE
    assert RequestError.ACCOUNT_HAS_BEEN_LOCKED in AUTHENTICATION
    assert RequestError.USERNAME_OR_PASSWORD_NOT_VALID in AUTHENTICATION


def test_search() -> None:
    assert EventError.ANTI_PASSBACK in search("antipassback")
    assert OpenMethod.CARD in search("cartao", lang="pt")
    assert OpenMethod.CARD not in search("cartao", lang="en")
    assert RequestError.USER_ALREADY_EXISTS in search("UserAlreadyExist")
    assert search("21", table="errors") == [EventError.ANTI_PASSBACK]
    assert search("   ") == []
    assert OpenMethod.CARD in search("CARTÃO")
    assert EventCode.EXIT_BUTTON in search("exit button", table="events")
    assert RequestError.DUPLICATE_RECORD in search("286064919")
    assert search("reservado", lang="pt", table="methods") == [
        OpenMethod.RESERVED_10, OpenMethod.RESERVED_16]
    assert all(isinstance(hit, OpenMethod) for hit in search("face", table="methods"))


def test_normalize_lang() -> None:
    assert normalize_lang("pt-BR") == "pt"
    assert normalize_lang("EN_us") == "en"
    with pytest.raises(ValueError, match="unsupported language"):
        normalize_lang("fr")


@given(st.integers(min_value=-(2**63), max_value=2**63))
def test_any_int_decodes_in_every_numeric_table(raw: int) -> None:
    for table in TABLES.values():
        if issubclass(table, IntCode):
            member = table(raw)
            assert int(member) == raw
            assert member.text("pt")


@given(st.text(max_size=40))
def test_any_text_decodes_in_every_textual_table(raw: str) -> None:
    for table in TABLES.values():
        if issubclass(table, StrCode):
            member = table(raw)
            assert member.text("en")
            if not member.known:
                assert member == raw


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                 st.binary(max_size=4)))
def test_lenient_get_never_raises(raw: object) -> None:
    for table in TABLES.values():
        if issubclass(table, IntCode):
            member = table.get(raw)
            if member is not None:
                assert isinstance(raw, int | str)
                assert int(member) == int(raw)
