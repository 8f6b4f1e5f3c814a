"""The site's people: one record per person, valid on every reader of the site.

A :class:`Person` is what an integrator manages once (name, type, status, validity,
allowed doors per device, time sections, holidays, guest use limit, cards, password,
face, external id). :class:`Directory` indexes the people of a site in memory and
hands the access engine a per-device view (:meth:`Directory.rules_for`): the engine
reads users and cards through mappings that build a device's :class:`~porteiro.access.User`
from the site's :class:`Person` only when asked, so a decision costs the same with
100 or 100,000 people.

Passwords. Readers check a typed password themselves (``AccessUser`` ``Password``),
so a password that must work on the readers has to be sent to them **in clear**; the
hub keeps that clear copy (``device_password``) only when
``[people] device_passwords = true`` (the default) and never returns it through the
API. For its own checks (a Modo Online request that carries the typed password,
``DynPWD``) the hub keeps only a salted hash (``password_hash``).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import msgspec

from porteiro.access.model import ALWAYS, AccessRules, Card, DoorRule, Schedule, User, UserStatus
from porteiro.codes import CardStatus, CardType, UserType

if TYPE_CHECKING:
    from datetime import date

__all__ = [
    "ALL_DEVICES",
    "CardState",
    "Directory",
    "Person",
    "PersonStatus",
    "PersonType",
    "SiteCard",
    "hash_password",
    "verify_password",
]

ALL_DEVICES = "*"
"""The key of :attr:`Person.doors` that applies to every device not named."""


class PersonType(enum.StrEnum):
    """What kind of person (the reader's ``UserType``)."""

    GENERAL = "general"
    GUEST = "guest"
    VIP = "vip"
    PATROL = "patrol"
    BLOCKLIST = "blocklist"

    @property
    def user_type(self) -> UserType:
        """The device's ``UserType`` code."""
        return _USER_TYPES[self]


_USER_TYPES = {PersonType.GENERAL: UserType.GENERAL, PersonType.GUEST: UserType.GUEST,
               PersonType.VIP: UserType.VIP, PersonType.PATROL: UserType.PATROL,
               PersonType.BLOCKLIST: UserType.BLOCKLIST}


class PersonStatus(enum.StrEnum):
    """Active, or frozen (every reader refuses them, ErrorCode 164)."""

    ACTIVE = "active"
    FROZEN = "frozen"


class CardState(enum.StrEnum):
    """A card's state (the reader's ``CardStatus``)."""

    NORMAL = "normal"
    LOST = "lost"
    FROZEN = "frozen"

    @property
    def card_status(self) -> CardStatus:
        """The device's ``CardStatus`` code."""
        return {CardState.NORMAL: CardStatus.NORMAL, CardState.LOST: CardStatus.CANCELLED,
                CardState.FROZEN: CardStatus.FROZEN}[self]


class SiteCard(msgspec.Struct, frozen=True):
    """A card of a person. ``card_no`` is kept upper case (readers report hex upper)."""

    card_no: str
    card_type: CardType = CardType.ORDINARY
    status: CardState = CardState.NORMAL


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """One person of the site."""

    user_id: str
    name: str = ""
    type: PersonType = PersonType.GENERAL
    status: PersonStatus = PersonStatus.ACTIVE
    valid_from: float | None = None
    valid_to: float | None = None
    doors: Mapping[str, tuple[int, ...]] = msgspec.field(
        default_factory=lambda: {ALL_DEVICES: (0,)})
    """Allowed doors (0-based) per device name; ``"*"`` for every other device. A
    device with no doors for the person does not get the person at all."""
    time_sections: tuple[int, ...] = (ALWAYS,)
    """Weekly schedules (``[access.schedules]`` numbers) when the person may pass;
    255 = always."""
    holiday_schedule: int = ALWAYS
    """The schedule that applies on holidays; 255 = holidays are ordinary days."""
    guest_uses: int | None = None
    """Guests: how many passages in all (None = unlimited)."""
    uses: int = 0
    """Passages counted so far (against ``guest_uses``)."""
    external_id: str | None = None
    password_hash: str | None = None
    device_password: str | None = None
    face_sha256: str | None = None
    cards: tuple[SiteCard, ...] = ()
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def doors_on(self, device: str) -> tuple[int, ...]:
        """The doors the person may use on ``device`` (empty: not on that device)."""
        doors = self.doors.get(device)
        if doors is None:
            doors = self.doors.get(ALL_DEVICES, ())
        return doors

    @property
    def has_password(self) -> bool:
        """Whether a password is set."""
        return self.password_hash is not None

    def uses_left(self) -> int | None:
        """Guests: passages left (None = unlimited or not a guest)."""
        if self.type != PersonType.GUEST or self.guest_uses is None:
            return None
        return max(0, self.guest_uses - self.uses)

    def to_user(self, device: str) -> User:
        """The person as the access engine (and a reader) sees them on ``device``."""
        return User(
            user_id=self.user_id, name=self.name, user_type=self.type.user_type,
            status=UserStatus.FROZEN if self.status == PersonStatus.FROZEN
            else UserStatus.NORMAL,
            password=self.device_password, doors=self.doors_on(device),
            time_sections=self.time_sections, holiday_schedule=self.holiday_schedule,
            valid_from=self.valid_from, valid_to=self.valid_to, uses_left=self.uses_left(),
            face=self.face_sha256 is not None)


# -- passwords ---------------------------------------------------------------------------

_PBKDF2_ITERATIONS = 20_000
"""Reader passwords are short PINs, which no hash makes strong; the hash keeps them out
of backups and API answers and must stay cheap enough for a Modo Online decision."""


def hash_password(password: str) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (base64)."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _PBKDF2_ITERATIONS)
    return "$".join(("pbkdf2_sha256", str(_PBKDF2_ITERATIONS),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches a :func:`hash_password` result."""
    if not stored:
        return False
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"),
                                       base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


# -- the directory -----------------------------------------------------------------------


class _DeviceUsers(Mapping[str, User]):
    """The people allowed on one device, as engine users, built when looked up."""

    __slots__ = ("_device", "_people")

    def __init__(self, people: Mapping[str, Person], device: str) -> None:
        self._people = people
        self._device = device

    def __getitem__(self, user_id: str) -> User:
        person = self._people[user_id]
        return person.to_user(self._device)

    def get(self, user_id: str, default: User | None = None) -> User | None:  # type: ignore[override]
        person = self._people.get(user_id)
        return default if person is None else person.to_user(self._device)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._people

    def __iter__(self) -> Iterator[str]:
        return iter(self._people)

    def __len__(self) -> int:
        return len(self._people)


class _Cards(Mapping[str, Card]):
    """Every card of the site by number, as engine cards."""

    __slots__ = ("_cards",)

    def __init__(self, cards: Mapping[str, tuple[SiteCard, str]]) -> None:
        self._cards = cards

    def __getitem__(self, card_no: str) -> Card:
        card, owner = self._cards[card_no]
        return Card(card.card_no, owner, card.card_type, card.status.card_status)

    def get(self, card_no: str, default: Card | None = None) -> Card | None:  # type: ignore[override]
        found = self._cards.get(card_no)
        if found is None:
            return default
        card, owner = found
        return Card(card.card_no, owner, card.card_type, card.status.card_status)

    def __contains__(self, card_no: object) -> bool:
        return card_no in self._cards

    def __iter__(self) -> Iterator[str]:
        return iter(self._cards)

    def __len__(self) -> int:
        return len(self._cards)


class Directory:
    """The site's people in memory, indexed by id, card number and external id.

    Changed only through :meth:`put` and :meth:`remove` (the hub calls them after the
    store committed), read by Modo Online decisions.
    """

    def __init__(self, people: Mapping[str, Person] | None = None) -> None:
        self.people: dict[str, Person] = {}
        self._cards: dict[str, tuple[SiteCard, str]] = {}
        self._external: dict[str, str] = {}
        for person in (people or {}).values():
            self.put(person)

    def __len__(self) -> int:
        return len(self.people)

    def get(self, user_id: str) -> Person | None:
        """A person by id."""
        return self.people.get(user_id)

    def by_card(self, card_no: str) -> Person | None:
        """The owner of a card (any case)."""
        found = self._cards.get(card_no.upper())
        return self.people.get(found[1]) if found is not None else None

    def by_external_id(self, external_id: str) -> Person | None:
        """A person by the integrator's id."""
        user_id = self._external.get(external_id)
        return self.people.get(user_id) if user_id is not None else None

    def card_owner(self, card_no: str) -> str | None:
        """Who holds ``card_no`` now (None: nobody)."""
        found = self._cards.get(card_no.upper())
        return found[1] if found is not None else None

    def put(self, person: Person) -> None:
        """Add or replace a person (with their cards)."""
        self.remove(person.user_id)
        self.people[person.user_id] = person
        for card in person.cards:
            self._cards[card.card_no.upper()] = (card, person.user_id)
        if person.external_id:
            self._external[person.external_id] = person.user_id

    def remove(self, user_id: str) -> Person | None:
        """Forget a person (and their cards)."""
        old = self.people.pop(user_id, None)
        if old is not None:
            for card in old.cards:
                if self._cards.get(card.card_no.upper(), (None, None))[1] == user_id:
                    del self._cards[card.card_no.upper()]
            if old.external_id and self._external.get(old.external_id) == user_id:
                del self._external[old.external_id]
        return old

    def count_use(self, user_id: str) -> Person | None:
        """One more passage of a guest with a use limit; returns the updated person."""
        person = self.people.get(user_id)
        if person is None or person.type != PersonType.GUEST or person.guest_uses is None:
            return None
        updated = msgspec.structs.replace(person, uses=person.uses + 1)
        self.people[user_id] = updated
        return updated

    def rules_for(self, device: str, *, doors: Mapping[int, DoorRule],
                  schedules: Mapping[int, Schedule], holidays: frozenset[date],
                  utc_offset_seconds: int, duress_password: str | None = None) -> AccessRules:
        """The engine's view of the site from ``device`` (no copy of the people)."""
        return AccessRules(users=_DeviceUsers(self.people, device), cards=_Cards(self._cards),
                           doors=doors, schedules=schedules, holidays=holidays,
                           duress_password=duress_password,
                           utc_offset_seconds=utc_offset_seconds)
