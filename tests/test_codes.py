"""The code catalogue against the vendor's reference table (tests/fixtures/seed.txt)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porteiro.codes import (
    ALREADY_EXISTS,
    AUTHENTICATION,
    CREDENTIAL_FAILURES,
    CREDENTIAL_TIMEOUTS,
    KIND_OF,
    PENDING,
    RETRYABLE,
    RULE_DENIALS,
    SCHEDULE_DENIALS,
    TABLES,
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


def seed_event_types() -> list[str]:
    body = _section("CodeDescrição do evento", None)
    names: list[str] = []
    for line in body.splitlines():
        match = re.match(r"^([A-Z][A-Za-z]+(?: / [A-Z][A-Za-z]+)?)Evento", line)
        if match:
            names += [part.strip() for part in match[1].split("/")]
    return names


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
    assert OpenMethod(10).known
    assert OpenMethod(16).known
    assert OpenMethod(42) is OpenMethod.DTMF
    assert [m.value for m in OpenMethod] == list(range(48))


@pytest.mark.parametrize(("code", "text"), sorted(seed_event_errors().items()))
def test_every_seed_event_error_is_known_with_the_seed_text(code: int, text: str) -> None:
    member = EventError(code)
    assert member.known
    assert member.en == _fix(text)


def test_event_error_typos_fixed_and_16_added() -> None:
    assert EventError(96).en == "Waiting remote verification"
    assert "sequence is wrong" in EventError(162).en
    assert EventError(16) is EventError.UNAUTHORIZED


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
    assert RequestError(288686082).known
    assert RequestError(288686087) is RequestError.FACE_NOT_DETECTED
    assert RequestError(285278242) is RequestError.UNKNOWN_TABLE


@pytest.mark.parametrize("name", seed_event_types())
def test_every_seed_event_type(name: str) -> None:
    member = EventCode(name)
    assert member.known
    assert kind_of(member) is not EventKind.UNKNOWN


def test_event_type_resolutions() -> None:
    assert EventCode("Button") is EventCode.EXIT_BUTTON
    assert EventCode("ButtonExit") is EventCode.EXIT_BUTTON
    assert EventCode("_Button_") is EventCode.EXIT_BUTTON  # the official stream example
    assert EventCode("KeepLightOn") is not EventCode("KeepLightOff")
    assert EventCode("accesscontrol") is EventCode.ACCESS_CONTROL
    assert EventCode("_FingerPrintCollect_") is EventCode.FINGERPRINT_COLLECT
    assert set(KIND_OF) == set(EventCode)


def test_user_type_5_is_accessibility() -> None:
    assert UserType(5) is UserType.ACCESSIBILITY
    assert UserType(1) is UserType.BLOCKLIST


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_member_has_both_languages(table: type[IntCode] | type[StrCode]) -> None:
    same = []
    for member in table:
        assert member.en.strip()
        assert member.pt.strip()
        if member.en == member.pt:
            same.append(member.name)
    # Words that are the same in both languages (VIP, Normal, DTMF, Bluetooth...).
    assert len(same) <= 3, same


@pytest.mark.parametrize(
    ("table", "raw"),
    [(OpenMethod, 999), (EventError, -1), (RequestError, 1), (UserType, 77)],
)
def test_unknown_numeric_codes_never_raise(table: type[IntCode], raw: int) -> None:
    member = table(raw)
    assert int(member) == raw
    assert member.code == raw
    assert not member.known
    assert "unknown" in member.en
    assert "desconhecid" in member.pt
    assert str(raw) in member.text("pt")
    assert member.describe("en") == {"code": raw, "name": f"UNKNOWN_{raw}", "text": member.en}


def test_unknown_event_code_keeps_its_text() -> None:
    member = EventCode("CitizenPictureCompare")
    assert member == "CitizenPictureCompare"
    assert not member.known
    assert kind_of(member) is EventKind.UNKNOWN
    assert "desconhecido" in member.pt


@pytest.mark.parametrize(("raw", "expected"), [(None, None), (True, None), ("abc", None),
                                               (3.5, None), ("15", OpenMethod.FACE),
                                               (15, OpenMethod.FACE), (" 1 ", OpenMethod.CARD)])
def test_lenient_get(raw: object, expected: OpenMethod | None) -> None:
    assert OpenMethod.get(raw) is expected


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


def test_request_policy_sets() -> None:
    assert not RETRYABLE & AUTHENTICATION
    assert not RETRYABLE & ALREADY_EXISTS
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
