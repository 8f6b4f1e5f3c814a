"""The access decision: a presentation at a door, at a time, against the rules.

:func:`decide` is pure: it reads an :class:`AccessRules` snapshot and a
:class:`History` and returns a :class:`Decision` (granted, ``Method``, ``ErrorCode``,
who, and the events a device emits). The caller records the outcome
(:meth:`MemoryHistory.record`) and updates counters such as a guest's uses.

Order of checks. The seed names the outcomes, not the order the firmware tests them
in, so the order below is our reading of how a reader works [GUESS], fixed so that
every outcome is reachable and a test pins each one:

1. exit button (5) and remote open (4): granted unless the door is held closed (23);
2. identify the person from the card, user id, face, fingerprint or QR; an unknown
   credential is ``UNAUTHORIZED`` (16); a lost/cancelled card 17, a frozen card 164;
3. door held closed (23) / held open (granted);
4. the person: frozen (164), blocklisted user or card (16, [GUESS]: the seed has no
   code of its own), outside ``ValidFrom``/``ValidTo`` (20), guest out of uses (165);
5. door permission (18);
6. open mode: the door's required factors. A presented factor the door never takes
   is 19; a wrong second factor is 64/66/68/70/97, a missing one (timed out) is
   65/67/69/71/98;
7. holiday schedule (33), then time sections (32);
8. anti-passback (21), repeat entry (99), interlock (24), mask (102), temperature
   (101), patrol card (25: recorded, not opened);
9. granted, with the Method of the factors used; a duress password or duress card
   opens with Method 13 and raises a Duress event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from porteiro.access.model import (
    ALWAYS,
    AccessRules,
    Card,
    DoorRule,
    Factor,
    Presentation,
    User,
    UserStatus,
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
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Decision", "History", "MemoryHistory", "decide", "factors_of", "method_for"]

E = EventError
M = OpenMethod


class History(Protocol):
    """What the engine needs to know about the past."""

    def last_direction(self, user_id: str) -> Direction | None:
        """Direction of the user's last granted passage (anti-passback)."""

    def last_granted_at(self, user_id: str, door: int) -> float | None:
        """When the user was last let through this door (repeat entry)."""


class MemoryHistory:
    """A :class:`History` in memory, fed with :meth:`record`."""

    __slots__ = ("_directions", "_grants")

    def __init__(self) -> None:
        self._directions: dict[str, Direction] = {}
        self._grants: dict[tuple[str, int], float] = {}

    def last_direction(self, user_id: str) -> Direction | None:
        return self._directions.get(user_id)

    def last_granted_at(self, user_id: str, door: int) -> float | None:
        return self._grants.get((user_id, door))

    def record(self, decision: Decision, presentation: Presentation, now: float) -> None:
        """Remember a granted passage."""
        if decision.granted and decision.user_id:
            self._directions[decision.user_id] = presentation.direction
            self._grants[(decision.user_id, presentation.door)] = now


class Decision(msgspec.Struct, frozen=True):
    """The outcome of one presentation."""

    granted: bool
    method: OpenMethod
    error: EventError = EventError.NONE
    user_id: str | None = None
    user_name: str = ""
    card_no: str | None = None
    card_type: CardType = CardType.ORDINARY
    user_type: UserType = UserType.GENERAL
    duress: bool = False

    def events(self, presentation: Presentation, utc: int, *, door_name: str = ""
               ) -> tuple[RawEvent, ...]:
        """The events a device emits for this decision: the AccessControl event, plus a
        Duress event for a duress opening."""
        data: dict[str, Any] = {
            "CardName": self.user_name,
            # An unknown card is logged with the number that was presented.
            "CardNo": self.card_no or (presentation.card_no or "").upper(),
            "CardType": int(self.card_type),
            "CreateTime": utc,
            "Door": presentation.door,
            "ErrorCode": int(self.error),
            "Method": int(self.method),
            "ReaderID": presentation.reader_id,
            "Status": 1 if self.granted else 0,
            "Type": str(presentation.direction),
            "UTC": utc,
            "UserID": self.user_id or "",
            "UserType": int(self.user_type),
        }
        if presentation.mask is not None:
            data["Mask"] = 2 if presentation.mask else 1
        if presentation.temperature is not None:  # [OFFICIAL] parametros page fields
            data["ManTemperatureInfo"] = {
                "CurrentTemperature": presentation.temperature,
                "IsOverTemperature": self.error == EventError.HIGH_TEMPERATURE}
        events = [RawEvent("AccessControl", "Pulse", 0, data)]
        if self.duress:
            events.append(RawEvent("Duress", "Pulse", presentation.door,
                                   {"Name": door_name or f"Door{presentation.door + 1}",
                                    "UTC": utc, "UserID": self.user_id or ""}))
        return tuple(events)


# Method for each set of factors used (the seed's names for combinations).
_METHODS: dict[frozenset[Factor], OpenMethod] = {
    frozenset({Factor.CARD}): M.CARD,
    frozenset({Factor.PASSWORD}): M.USER_ID_AND_PASSWORD,
    frozenset({Factor.FINGERPRINT}): M.FINGERPRINT,
    frozenset({Factor.FACE}): M.FACE,
    frozenset({Factor.QR}): M.QR_CODE,
    frozenset({Factor.CARD, Factor.PASSWORD}): M.CARD_THEN_PASSWORD,
    frozenset({Factor.CARD, Factor.FINGERPRINT}): M.CARD_FINGERPRINT,
    frozenset({Factor.CARD, Factor.FACE}): M.CARD_AND_FACE,
    frozenset({Factor.FINGERPRINT, Factor.PASSWORD}): M.FINGERPRINT_AND_PASSWORD,
    frozenset({Factor.FACE, Factor.PASSWORD}): M.FACE_AND_PASSWORD,
    frozenset({Factor.FINGERPRINT, Factor.FACE}): M.FINGERPRINT_AND_FACE,
    frozenset({Factor.FINGERPRINT, Factor.FACE, Factor.PASSWORD}): M.FINGERPRINT_FACE_PASSWORD,
    frozenset({Factor.CARD, Factor.FACE, Factor.PASSWORD}): M.CARD_FACE_PASSWORD,
    frozenset({Factor.CARD, Factor.FINGERPRINT, Factor.PASSWORD}): M.CARD_FINGERPRINT_PASSWORD,
    frozenset({Factor.CARD, Factor.FINGERPRINT, Factor.FACE}): M.CARD_FINGERPRINT_FACE,
    frozenset(Factor) - {Factor.QR}: M.CARD_FINGERPRINT_FACE_PASSWORD,
}

# (first factor, missing or wrong second factor) -> (wrong code, timed-out code)
_SECOND_FACTOR: dict[tuple[Factor, Factor], tuple[EventError, EventError]] = {
    (Factor.CARD, Factor.PASSWORD): (E.CARD_OK_PASSWORD_WRONG, E.CARD_OK_PASSWORD_TIMEOUT),
    (Factor.CARD, Factor.FINGERPRINT): (E.CARD_OK_FINGERPRINT_WRONG,
                                        E.CARD_OK_FINGERPRINT_TIMEOUT),
    (Factor.FINGERPRINT, Factor.PASSWORD): (E.FINGERPRINT_OK_PASSWORD_WRONG,
                                            E.FINGERPRINT_OK_PASSWORD_TIMEOUT),
    (Factor.CARD, Factor.FACE): (E.CARD_OK_FACE_WRONG, E.CARD_OK_FACE_TIMEOUT),
}


_FACTORS_OF: dict[OpenMethod, frozenset[Factor]] = {m: f for f, m in _METHODS.items()}
_FACTORS_OF.update({
    M.PASSWORD: frozenset({Factor.PASSWORD}),
    M.USER_ID_AND_PASSWORD: frozenset({Factor.PASSWORD}),
    M.DURESS_PASSWORD: frozenset({Factor.PASSWORD}),
    M.CUSTOM_PASSWORD: frozenset({Factor.PASSWORD}),
    M.TEMPORARY_PASSWORD: frozenset({Factor.PASSWORD}),
    M.PASSWORD_THEN_CARD: frozenset({Factor.CARD, Factor.PASSWORD}),
    M.PASSWORD_FINGERPRINT: frozenset({Factor.FINGERPRINT, Factor.PASSWORD}),
    M.PASSWORD_CARD_FINGERPRINT: frozenset({Factor.CARD, Factor.FINGERPRINT, Factor.PASSWORD}),
    M.FACE_REMOTE: frozenset({Factor.FACE}),
    M.QR_CODE_REMOTE: frozenset({Factor.QR}),
})


def factors_of(method: OpenMethod | int | None) -> frozenset[Factor]:
    """The factors a ``Method`` code says were used (empty when it names none)."""
    if method is None:
        return frozenset()
    try:
        return _FACTORS_OF.get(OpenMethod(int(method)), frozenset())
    except ValueError:
        return frozenset()


def method_for(factors: Iterable[Factor]) -> OpenMethod:
    """The ``Method`` code for a set of verified factors."""
    key = frozenset(factors)
    return _METHODS.get(key, M.CARD if Factor.CARD in key else M.PASSWORD)


class _Identity(msgspec.Struct):
    user: User | None = None
    card: Card | None = None
    verified: set[Factor] = msgspec.field(default_factory=set)
    failed: set[Factor] = msgspec.field(default_factory=set)
    duress: bool = False


def _deny(error: EventError, method: OpenMethod, ident: _Identity) -> Decision:
    return _decision(granted=False, error=error, method=method, ident=ident)


def _decision(*, granted: bool, error: EventError, method: OpenMethod, ident: _Identity
              ) -> Decision:
    user, card = ident.user, ident.card
    return Decision(
        granted=granted,
        method=method,
        error=error,
        user_id=user.user_id if user else (card.user_id if card else None),
        user_name=user.name if user else "",
        card_no=card.card_no if card else None,
        card_type=card.card_type if card else CardType.ORDINARY,
        user_type=user.user_type if user else UserType.GENERAL,
        duress=ident.duress,
    )


def _identify_card(rules: AccessRules, card_no: str, ident: _Identity) -> EventError | None:
    card = rules.cards.get(card_no.upper()) or rules.cards.get(card_no)
    if card is None:
        return E.UNAUTHORIZED
    ident.card = card
    if card.status == CardStatus.CANCELLED:
        return E.CARD_LOST_OR_CANCELLED
    if card.status == CardStatus.FROZEN:
        return E.USER_FROZEN
    ident.verified.add(Factor.CARD)
    if card.card_type == CardType.DURESS:
        ident.duress = True
    return None


def _identify(rules: AccessRules, p: Presentation) -> tuple[_Identity, EventError | None]:
    """Resolve who is presenting and which factors verified; an error if unknown."""
    ident = _Identity()
    claimed: str | None = None
    if p.card_no is not None:
        error = _identify_card(rules, p.card_no, ident)
        if error is not None:
            return ident, error
        claimed = ident.card.user_id if ident.card else None
    if p.qr is not None:
        qr_card = rules.cards.get(p.qr)
        qr_user = qr_card.user_id if qr_card is not None else p.qr
        if qr_user not in rules.users or (claimed is not None and qr_user != claimed):
            return ident, E.UNAUTHORIZED
        claimed = qr_user
        ident.verified.add(Factor.QR)
    if p.user_id is not None:
        if p.user_id not in rules.users or (claimed is not None and p.user_id != claimed):
            return ident, E.UNAUTHORIZED
        claimed = p.user_id
    for factor, matched in ((Factor.FINGERPRINT, p.fingerprint), (Factor.FACE, p.face)):
        if matched is None:
            continue
        if claimed is None:
            if not matched or matched not in rules.users:
                return ident, E.UNAUTHORIZED
            claimed = matched
            ident.verified.add(factor)
        elif matched == claimed:
            ident.verified.add(factor)
        else:
            ident.failed.add(factor)  # the sensor matched someone else, or nobody
    if p.password is not None:
        if rules.duress_password is not None and p.password == rules.duress_password:
            ident.duress = True
            ident.verified.add(Factor.PASSWORD)
        elif claimed is not None and rules.users[claimed].password == p.password:
            ident.verified.add(Factor.PASSWORD)
        elif claimed is not None:
            ident.failed.add(Factor.PASSWORD)
    if claimed is not None:
        ident.verified |= p.reader_verified - ident.failed
    if claimed is None:
        if ident.duress:
            return ident, None  # a bare duress password opens (Method 13)
        return ident, E.UNAUTHORIZED
    ident.user = rules.users.get(claimed)
    if ident.user is None:
        return ident, E.UNAUTHORIZED  # a card bound to a user that no longer exists
    return ident, None


def _check_requirement(rule: DoorRule, ident: _Identity, p: Presentation
                       ) -> EventError | None:
    """The door's open mode against the verified and failed factors."""
    verified = frozenset(ident.verified)
    presented = verified | ident.failed
    if p.user_id is not None:
        presented |= {Factor.PASSWORD}  # a typed user id is the first half of id + password
    if p.user_id is not None and not presented & {Factor.CARD, Factor.QR}:
        first: Factor | None = None  # user id typed: "UserID is correct, ..." codes
    else:
        first = next((f for f in (Factor.CARD, Factor.FINGERPRINT, Factor.FACE, Factor.QR)
                      if f in verified), None)
    for alternative in rule.requirement.alternatives:
        if alternative <= verified:
            return None
    wanted = [alt for alt in rule.requirement.alternatives if presented & alt]
    if not wanted:
        return E.WRONG_OPEN_MODE
    alternative = min(wanted, key=len)
    for factor in alternative - verified:
        if first is None and factor == Factor.PASSWORD:
            wrong, timeout = E.USER_ID_OK_PASSWORD_WRONG, E.USER_ID_OK_PASSWORD_TIMEOUT
        else:
            pair = _SECOND_FACTOR.get((first, factor)) if first is not None else None
            if pair is None:
                return E.WRONG_OPEN_MODE
            wrong, timeout = pair
        return wrong if factor in ident.failed else timeout
    return E.WRONG_OPEN_MODE  # pragma: no cover - alternative - verified is never empty here


def _local(rules: AccessRules, now: float) -> datetime:
    return datetime.fromtimestamp(now + rules.utc_offset_seconds, UTC)


def _schedule_error(rules: AccessRules, user: User, now: float) -> EventError | None:
    local = _local(rules, now)
    second = local.hour * 3600 + local.minute * 60 + local.second
    weekday = local.weekday()
    if local.date() in rules.holidays and user.holiday_schedule != ALWAYS:
        holiday = rules.schedules.get(user.holiday_schedule)
        if holiday is None or not holiday.allows(weekday, second):
            return E.HOLIDAY
        return None
    if ALWAYS in user.time_sections:
        return None
    for section in user.time_sections:
        schedule = rules.schedules.get(section)
        if schedule is not None and schedule.allows(weekday, second):
            return None
    return E.TIME_SECTION


def decide(  # noqa: PLR0911, PLR0912  # one branch per outcome reads best as a list
    rules: AccessRules,
    presentation: Presentation,
    *,
    now: float,
    history: History,
    open_doors: frozenset[int] = frozenset(),
) -> Decision:
    """Decide one presentation. Pure: records nothing (see :class:`MemoryHistory`)."""
    p = presentation
    rule = rules.doors.get(p.door, DoorRule(index=p.door))
    empty = _Identity()
    if p.exit_button or p.remote:
        method = M.EXIT_BUTTON if p.exit_button else M.REMOTE
        if p.remote and p.user_id is not None:
            empty.user = rules.users.get(p.user_id) or User(p.user_id)
        if rule.mode == DoorMode.ALWAYS_CLOSED:
            return _deny(E.DOOR_ALWAYS_CLOSED, method, empty)
        return _decision(granted=True, error=E.NONE, method=method, ident=empty)

    ident, error = _identify(rules, p)
    method = method_for(ident.verified | ident.failed) if ident.verified or ident.failed \
        else _presented_method(p)
    if ident.duress:
        method = M.DURESS_PASSWORD
    if error is not None:
        return _deny(error, method, ident)
    if rule.mode == DoorMode.ALWAYS_CLOSED:
        return _deny(E.DOOR_ALWAYS_CLOSED, method, ident)
    user = ident.user
    if user is None:  # a bare duress password: open, raise the alarm
        return _decision(granted=True, error=E.NONE, method=method, ident=ident)
    if rule.mode == DoorMode.ALWAYS_OPEN:
        return _decision(granted=True, error=E.NONE, method=method, ident=ident)
    if user.status == UserStatus.FROZEN:
        return _deny(E.USER_FROZEN, method, ident)
    if user.user_type == UserType.BLOCKLIST or (
            ident.card is not None and ident.card.card_type == CardType.BLOCKLIST):
        return _deny(E.UNAUTHORIZED, method, ident)
    if (user.valid_from is not None and now < user.valid_from) or (
            user.valid_to is not None and now > user.valid_to):
        return _deny(E.VALIDITY_PERIOD, method, ident)
    if user.user_type == UserType.GUEST and user.uses_left is not None and user.uses_left <= 0:
        return _deny(E.GUEST_USES_EXHAUSTED, method, ident)
    if p.door not in user.doors:
        return _deny(E.NO_DOOR_PERMISSION, method, ident)
    if not ident.duress:
        mode_error = _check_requirement(rule, ident, p)
        if mode_error is not None:
            return _deny(mode_error, method, ident)
    schedule_error = _schedule_error(rules, user, now)
    if schedule_error is not None:
        return _deny(schedule_error, method, ident)
    if rule.anti_passback and history.last_direction(user.user_id) == p.direction:
        return _deny(E.ANTI_PASSBACK, method, ident)
    if rule.repeat_entry_seconds:
        last = history.last_granted_at(user.user_id, p.door)
        if last is not None and now - last < rule.repeat_entry_seconds:
            return _deny(E.REPEAT_ENTRY, method, ident)
    if any(door in open_doors for door in rule.interlock_with):
        return _deny(E.INTERLOCK, method, ident)
    if rule.require_mask and p.mask is False:
        return _deny(E.NO_MASK, method, ident)
    if rule.max_temperature is not None and p.temperature is not None \
            and p.temperature > rule.max_temperature:
        return _deny(E.HIGH_TEMPERATURE, method, ident)
    if ident.card is not None and ident.card.card_type == CardType.PATROL:
        return _deny(E.PATROL_CARD, method, ident)
    return _decision(granted=True, error=E.NONE, method=method, ident=ident)


def _presented_method(p: Presentation) -> OpenMethod:
    factors = set()
    if p.card_no is not None:
        factors.add(Factor.CARD)
    if p.password is not None or p.user_id is not None:
        factors.add(Factor.PASSWORD)
    if p.fingerprint is not None:
        factors.add(Factor.FINGERPRINT)
    if p.face is not None:
        factors.add(Factor.FACE)
    if p.qr is not None:
        factors.add(Factor.QR)
    return method_for(factors) if factors else M.CARD
