"""Modo Online pieces without a network: the request's presentation, the site history,
policy verdicts and the display messages."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from porteiro.access import Factor, display_message
from porteiro.codes import (
    CREDENTIAL_FAILURES,
    RULE_DENIALS,
    SCHEDULE_DENIALS,
    Direction,
    EventError,
    OpenMethod,
)
from porteiro.events import AccessControlEvent, build_event
from porteiro.hub import HubConfig, PolicyVerdict
from porteiro.hub.hub import Hub
from porteiro.hub.online import SiteHistory, _verdict
from porteiro.hub.people import PersonInput
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from pathlib import Path


def _event(**data: Any) -> tuple[RawEvent, AccessControlEvent]:
    fields = {"CardNo": "", "UserID": "", "Door": 0, "ErrorCode": 0, "Method": 1, "Status": 0,
              "Type": "Entry", "UTC": int(time.time())}
    fields.update(data)
    raw = RawEvent("AccessControl", "Pulse", 0, fields)
    event = build_event(raw)
    assert isinstance(event, AccessControlEvent)
    return raw, event


@pytest.fixture
async def hub(tmp_path: Path) -> Any:
    config = HubConfig.model_validate({"hub": {"data_dir": str(tmp_path)},
                                       "access": {"duress_password": "9999"},
                                       "devices": [{"name": "r", "host": "h",
                                                    "mode": "online"}]})
    running = Hub(config)
    await running.start()
    await running.people.create(PersonInput(user_id="7", cards=["AB12"], password="1234"))
    yield running
    await running.stop()


async def test_presentation_from_each_kind_of_request(hub: Hub) -> None:
    online = hub.online
    card = online.presentation(*_event(CardNo="ab12", UserID="7"))
    assert (card.card_no, card.user_id, card.face) == ("ab12", None, None)  # any case
    face = online.presentation(*_event(UserID="7", Method=int(OpenMethod.FACE)))
    assert (face.face, face.card_no) == ("7", None)
    finger = online.presentation(*_event(UserID="7", Method=int(OpenMethod.FINGERPRINT)))
    assert finger.fingerprint == "7"
    # card then password: the typed password (DynPWD) is checked against the hash
    ok = online.presentation(*_event(CardNo="AB12", Method=2, DynPWD="1234"))
    assert Factor.PASSWORD in ok.reader_verified
    wrong = online.presentation(*_event(CardNo="AB12", Method=2, DynPWD="0000"))
    assert Factor.PASSWORD not in wrong.reader_verified
    assert wrong.password is not None
    # without DynPWD the reader checked it: trusted unless it reported a wrong password
    trusted = online.presentation(*_event(CardNo="AB12", Method=2))
    assert Factor.PASSWORD in trusted.reader_verified
    refused = online.presentation(*_event(CardNo="AB12", Method=2, ErrorCode=64))
    assert Factor.PASSWORD not in refused.reader_verified
    duress = online.presentation(*_event(UserID="7", Method=21, DynPWD="9999"))
    assert duress.password == "9999"
    # "card or face" methods: the fields tell which was used [GUESS]
    either = online.presentation(*_event(CardNo="AB12", Method=int(OpenMethod.CARD_OR_FACE)))
    assert either.card_no == "AB12"
    exit_ = online.presentation(*_event(CardNo="AB12", Type="Exit", Door=1))
    assert (exit_.direction, exit_.door) == (Direction.EXIT, 1)


def test_site_history_keeps_the_newest_passage() -> None:
    history = SiteHistory()
    history.record("1", Direction.ENTRY, 100.0)
    history.record("1", Direction.EXIT, 50.0)  # an old backfilled record changes nothing
    assert history.last_direction("1") == Direction.ENTRY
    assert history.last_granted_at("1", door=3) == 100.0  # site-wide: any door
    history.door_contact("r", 2, is_open=True)
    assert history.open_doors("r") == frozenset({2})
    history.door_contact("r", 2, is_open=False)
    assert history.open_doors("r") == frozenset()


@pytest.mark.parametrize(("result", "expected"), [
    (None, None),
    (True, PolicyVerdict(True)),
    (PolicyVerdict(False, "x"), PolicyVerdict(False, "x")),
    ({"auth": "false", "message": "Pague"}, PolicyVerdict(False, "Pague")),
    ({"auth": True}, PolicyVerdict(True)),
    ({"message": "no auth key"}, None),
])
def test_policy_results(result: Any, expected: PolicyVerdict | None) -> None:
    assert _verdict(result) == expected


def test_policy_result_of_a_wrong_type_is_an_error() -> None:
    with pytest.raises(TypeError, match="policy hook returned"):
        _verdict(42)  # type: ignore[arg-type]


def test_every_denial_has_a_message_in_both_languages() -> None:
    outcomes = {EventError.NONE} | set(RULE_DENIALS) | set(SCHEDULE_DENIALS) \
        | set(CREDENTIAL_FAILURES)
    for error in outcomes:
        english = display_message(error, "en")
        portuguese = display_message(error, "pt")
        assert english
        assert portuguese
        assert len(portuguese) <= 32, portuguese
    assert display_message(EventError.TIME_SECTION, "pt") == "Fora do horário permitido"
    assert display_message(EventError.NONE, "pt") == "Acesso liberado"
    assert display_message(EventError.ANTI_PASSBACK, "en", direction=Direction.EXIT) == \
        "Anti-passback: already out"
