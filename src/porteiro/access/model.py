"""What the access engine decides on: people, credentials, doors, schedules, a presentation.

All records are frozen; the emulator (and later the hub's Modo Online) own mutable
directories of them and hand the engine a snapshot through :class:`AccessRules`.
Field names follow the device's own (``UserID``, ``TimeSections``, ``ValidFrom``...)
translated to Python style.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date

import msgspec

from porteiro.codes import CardStatus, CardType, Direction, DoorMode, UserType

__all__ = [
    "ALWAYS",
    "ANY",
    "AccessRules",
    "Card",
    "DoorRule",
    "Factor",
    "OpenRequirement",
    "Presentation",
    "Schedule",
    "User",
    "UserStatus",
]

ALWAYS = 255
"""``TimeSections``/``SpecialDaysSchedule`` value meaning "no restriction"."""


class UserStatus(enum.IntEnum):
    """``UserStatus`` of a user: normal or frozen."""

    NORMAL = 0
    FROZEN = 1


class Factor(enum.StrEnum):
    """One thing a person presents at a reader."""

    CARD = "card"
    PASSWORD = "password"  # noqa: S105  # the factor's name, not a secret
    FINGERPRINT = "fingerprint"
    FACE = "face"
    QR = "qr"


class OpenRequirement(msgspec.Struct, frozen=True):
    """What a door accepts: any one of ``alternatives``, each a set of factors.

    Written as text in config: ``card+password`` (both), ``card|face`` (either),
    ``any`` (any single credential). This spelling is the emulator's own: the real
    device's ``AccessControl[n]`` open-method field is not documented [GUESS].
    """

    alternatives: tuple[frozenset[Factor], ...]

    @classmethod
    def parse(cls, text: str) -> OpenRequirement:
        """``card+password|face`` -> ((card, password), (face,)); ``any`` -> each factor."""
        cleaned = text.strip().lower()
        if cleaned in {"", "any"}:
            return ANY
        alternatives = []
        for option in cleaned.split("|"):
            factors = frozenset(Factor(part.strip()) for part in option.split("+") if part.strip())
            if not factors:
                raise ValueError(f"empty alternative in open requirement {text!r}")
            alternatives.append(factors)
        return cls(tuple(alternatives))

    def __str__(self) -> str:
        if self == ANY:
            return "any"
        order = list(Factor)
        return "|".join("+".join(f.value for f in sorted(alt, key=order.index))
                        for alt in self.alternatives)


ANY = OpenRequirement(tuple(frozenset({factor}) for factor in Factor))


class Schedule(msgspec.Struct, frozen=True):
    """A weekly time section: per weekday (Monday first) the allowed ``(start, end)``
    seconds since local midnight, end inclusive."""

    days: tuple[tuple[tuple[int, int], ...], ...]

    def allows(self, weekday: int, second_of_day: int) -> bool:
        """True when the local time falls in one of that weekday's windows."""
        if not 0 <= weekday < len(self.days):
            return False
        return any(start <= second_of_day <= end for start, end in self.days[weekday])

    @classmethod
    def daily(cls, start: str, end: str, weekdays: tuple[int, ...] = tuple(range(7))
              ) -> Schedule:
        """The same window (``"08:00"``-``"18:00"``) on the given weekdays."""
        window = ((_seconds(start), _seconds(end)),)
        return cls(tuple(window if day in weekdays else () for day in range(7)))


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.append(0)
    hours, minutes, seconds = parts[:3]
    return hours * 3600 + minutes * 60 + seconds


class User(msgspec.Struct, frozen=True):
    """A person registered on the device (``AccessUser.cgi``)."""

    user_id: str
    name: str = ""
    user_type: UserType = UserType.GENERAL
    status: UserStatus = UserStatus.NORMAL
    password: str | None = None
    doors: tuple[int, ...] = (0,)
    time_sections: tuple[int, ...] = (ALWAYS,)
    holiday_schedule: int = ALWAYS
    valid_from: float | None = None
    valid_to: float | None = None
    uses_left: int | None = None
    """Guests only: how many more times the user may pass (None = unlimited)."""
    fingerprint: bool = False
    face: bool = False


class Card(msgspec.Struct, frozen=True):
    """A card bound to a user (``AccessCard.cgi``)."""

    card_no: str
    user_id: str
    card_type: CardType = CardType.ORDINARY
    status: CardStatus = CardStatus.NORMAL


class DoorRule(msgspec.Struct, frozen=True):
    """How one door decides (``AccessControl[n]`` plus the emulator's extensions)."""

    index: int = 0
    name: str = ""
    mode: DoorMode = DoorMode.NORMAL
    requirement: OpenRequirement = ANY
    anti_passback: bool = False
    repeat_entry_seconds: int = 0
    interlock_with: tuple[int, ...] = ()
    require_mask: bool = False
    max_temperature: float | None = None


class Presentation(msgspec.Struct, frozen=True):
    """What someone does at a reader.

    ``face``/``fingerprint`` name the user the sensor matched, or ``""`` for a face
    or finger that matched nobody. ``timed_out`` says the person stopped before the
    door's second factor (the device's "timed out" codes).
    """

    door: int = 0
    direction: Direction = Direction.ENTRY
    card_no: str | None = None
    password: str | None = None
    user_id: str | None = None
    face: str | None = None
    fingerprint: str | None = None
    qr: str | None = None
    timed_out: bool = False
    remote: bool = False
    exit_button: bool = False
    temperature: float | None = None
    mask: bool | None = None
    reader_id: str = "1"
    reader_verified: frozenset[Factor] = frozenset()
    """Factors the reader already checked itself (Modo Online: the reader matches a
    typed password or a biometric locally and reports only the outcome); the engine
    counts them as verified for the person the presentation names."""


class AccessRules(msgspec.Struct, frozen=True):
    """A snapshot of everything the engine reads."""

    users: Mapping[str, User]
    cards: Mapping[str, Card]
    doors: Mapping[int, DoorRule]
    schedules: Mapping[int, Schedule] = {}
    holidays: frozenset[date] = frozenset()
    duress_password: str | None = None
    utc_offset_seconds: int = 0
    """The device's offset from UTC: schedules are in device-local time."""
