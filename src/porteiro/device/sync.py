"""Make a device's people match a desired list, touching only what differs.

:func:`sync_people` reads the device's users, cards and faces, computes the difference
with the desired :class:`Person` list, and applies only that: run it twice and the
second run changes nothing. A person carries everything a reader keeps of them: name,
user type, status (frozen), validity (sent as device-local ``YYYY-MM-DD HH:MM:SS``),
doors, time sections, holiday schedule (``SpecialDaysSchedule``), guest uses
(``UseTime``), password, cards with their type and status, and a face photo.

What the device cannot report back (passwords, photo contents, ``UseTime`` which the
reader itself counts down) is tracked by a **fingerprint** per person: a hash of
everything sent, in three parts (``user.cards.face``). The caller keeps the
fingerprints of earlier runs and passes them as ``known``; a person is sent when what
the device lists differs from what is wanted, or when their fingerprint differs from
the known one. Each :class:`PersonResult` carries the fingerprint of what is now on the
device (a part that failed is ``x``, so only that part is retried next time).

Batches of 10; when the device answers busy / too many requests / max insert rate /
warming up (the ``RETRYABLE`` request errors) the batch is retried after a pause that
grows, and later batches keep the slower pace (adaptive pacing). The device reports a
batch's failures without saying which items failed; a batch with failures is resent
one item at a time, so each person's result names their own error. One person's
refused photo never stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from porteiro.codes import ALREADY_EXISTS, RETRYABLE, RequestError
from porteiro.device.client import MAX_BATCH, MAX_PHOTO_BYTES, BatchItemResult, Device
from porteiro.exceptions import AuthenticationError, DeviceError, ProtocolError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from porteiro.codes import Lang

    class _BatchCall(Protocol):
        def __call__(self, items: Sequence[Any], /, *, update: bool
                     ) -> Awaitable[list[BatchItemResult]]: ...

__all__ = [
    "OPEN_FROM",
    "OPEN_TO",
    "DeviceCard",
    "Person",
    "PersonResult",
    "SyncReport",
    "fingerprint",
    "sync_people",
]

OPEN_FROM = "2000-01-01 00:00:00"
"""``ValidFrom`` sent for a person with no start of validity."""
OPEN_TO = "2037-12-31 23:59:59"
"""``ValidTo`` sent for a person with no end of validity (readers keep 32-bit times)."""
_DEFAULT_OFFSET = timedelta(hours=-3)
_LOCAL = "%Y-%m-%d %H:%M:%S"
_NONE = "-"
_FAILED = "x"

PartName = Literal["user", "cards", "face"]


class DeviceCard(msgspec.Struct, frozen=True):
    """A card as a reader keeps it (``CardType`` and ``CardStatus`` codes)."""

    card_no: str
    card_type: int = 0
    status: int = 0
    """0 normal, 1 cancelled (lost), 2 frozen."""

    def card_json(self, user_id: str) -> dict[str, Any]:
        """The ``CardList`` item for ``AccessCard.cgi``."""
        return {"UserID": user_id, "CardNo": self.card_no.upper(),
                "CardType": self.card_type, "CardStatus": self.status}


class Person(msgspec.Struct, frozen=True):
    """Who should be on the device, and how.

    ``cards`` takes card numbers or :class:`DeviceCard` (with type and status). The
    face is either given (``face``, JPEG bytes) or named by its SHA-256
    (``face_sha256``) and loaded by :func:`sync_people`'s ``load_face`` only when it
    must be sent.
    """

    user_id: str
    name: str = ""
    cards: tuple[str | DeviceCard, ...] = ()
    doors: tuple[int, ...] = (0,)
    password: str | None = None
    user_type: int = 0
    status: int = 0
    """``UserStatus``: 0 normal, 1 frozen."""
    valid_from: float | None = None
    valid_to: float | None = None
    time_sections: tuple[int, ...] = (255,)
    holiday_schedule: int = 255
    use_time: int | None = None
    """Guests: passages left (``UseTime``); None = not limited."""
    face: bytes | None = None
    face_sha256: str | None = None

    def card_list(self) -> list[DeviceCard]:
        """The cards as :class:`DeviceCard` (numbers upper case)."""
        return [DeviceCard(c.upper()) if isinstance(c, str)
                else msgspec.structs.replace(c, card_no=c.card_no.upper())
                for c in self.cards]

    @property
    def has_face(self) -> bool:
        """Whether the person should have a face photo on the device."""
        return self.face is not None or self.face_sha256 is not None

    def face_digest(self) -> str | None:
        """The photo's SHA-256 (hex), or None."""
        if self.face_sha256 is not None:
            return self.face_sha256
        return hashlib.sha256(self.face).hexdigest() if self.face is not None else None

    def user_json(self, utc_offset: timedelta = _DEFAULT_OFFSET) -> dict[str, Any]:
        """The ``UserList`` item for ``AccessUser.cgi`` (validity in the device's local
        time, ``utc_offset`` from UTC)."""
        item: dict[str, Any] = {
            "UserID": self.user_id, "UserName": self.name, "UserType": self.user_type,
            "Authority": 2, "Doors": list(self.doors),
            "TimeSections": list(self.time_sections),
            "SpecialDaysSchedule": [self.holiday_schedule], "UserStatus": self.status,
            "ValidFrom": _local(self.valid_from, utc_offset, OPEN_FROM),
            "ValidTo": _local(self.valid_to, utc_offset, OPEN_TO),
        }
        if self.use_time is not None:
            item["UseTime"] = self.use_time
        if self.password:
            item["Password"] = self.password
        return item


def _local(epoch: float | None, offset: timedelta, default: str) -> str:
    if epoch is None:
        return default
    return (datetime.fromtimestamp(epoch, UTC) + offset).strftime(_LOCAL)


def _digest(value: object) -> str:
    return hashlib.sha256(msgspec.json.encode(value)).hexdigest()[:16]


def _parts(person: Person, utc_offset: timedelta) -> tuple[str, str, str]:
    user = _digest(person.user_json(utc_offset))
    cards = _digest(sorted((c.card_no, c.card_type, c.status) for c in person.card_list()))
    face = person.face_digest()
    return user, cards, face[:16] if face else _NONE


def fingerprint(person: Person, utc_offset: timedelta = _DEFAULT_OFFSET) -> str:
    """``user.cards.face``: hashes of everything :func:`sync_people` sends for
    ``person`` (the password and the photo's SHA-256 included; nothing reversible)."""
    return ".".join(_parts(person, utc_offset))


class PersonResult(msgspec.Struct, frozen=True):
    """What a sync did for one person on one device."""

    user_id: str
    state: Literal["applied", "unchanged", "failed", "removed"]
    fingerprint: str | None = None
    """What is now on the device (a failed part is ``x``); None once removed."""
    error: RequestError | None = None
    """The device's decoded refusal (None: not a device code, see ``message``)."""
    part: PartName | None = None
    """What failed: the user record, a card, or the face photo."""
    message: str | None = None

    def describe(self, lang: Lang = "en") -> str:
        """One line on the failure (empty when it did not fail)."""
        if self.state != "failed":
            return ""
        what = self.error.text(lang) if self.error is not None else (self.message or "?")
        return f"{self.part or 'user'}: {what}"


class SyncReport(msgspec.Struct):
    """What a sync did: counts, failed items, and a result per person."""

    users_added: int = 0
    users_updated: int = 0
    users_removed: int = 0
    cards_added: int = 0
    cards_updated: int = 0
    cards_removed: int = 0
    faces_added: int = 0
    faces_removed: int = 0
    failures: list[BatchItemResult] = msgspec.field(default_factory=list)
    """Every refused item (``key``: the user id, or the card number for a card)."""
    people: dict[str, PersonResult] = msgspec.field(default_factory=dict)
    """Every desired person and every person removed, by user id."""

    @property
    def changes(self) -> int:
        """Everything the sync changed on the device."""
        return (self.users_added + self.users_updated + self.users_removed
                + self.cards_added + self.cards_updated + self.cards_removed
                + self.faces_added + self.faces_removed)

    def count(self, state: str) -> int:
        """How many people ended in ``state`` (applied, unchanged, failed, removed)."""
        return sum(r.state == state for r in self.people.values())


# -- reading the device -----------------------------------------------------------------


def _ints(value: object) -> list[int] | None:
    if not isinstance(value, list):
        return None
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return None


def _validity(value: object, default: str) -> str:
    text = str(value or "").strip().replace("T", " ")
    return text or default


def _readable_differs(item: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether what the device lists differs from ``item`` (keys it does not list are
    left to the fingerprint)."""
    if str(current.get("UserName", "")) != item["UserName"]:
        return True
    for key in ("UserType", "UserStatus"):
        if key in current:
            try:
                if int(current[key]) != item[key]:
                    return True
            except (TypeError, ValueError):
                return True
    for key in ("Doors", "TimeSections", "SpecialDaysSchedule"):
        if key in current and _ints(current[key]) != item[key]:
            return True
    return any(key in current and _validity(current[key], default) != item[key]
               for key, default in (("ValidFrom", OPEN_FROM), ("ValidTo", OPEN_TO)))


def _card_differs(card: DeviceCard, current: Mapping[str, Any]) -> bool:
    for key, wanted in (("CardType", card.card_type), ("CardStatus", card.status)):
        if key in current:
            try:
                if int(current[key]) != wanted:
                    return True
            except (TypeError, ValueError):
                return True
    return False


# -- the plan --------------------------------------------------------------------------


class _Plan(msgspec.Struct):
    person: Person
    parts: tuple[str, str, str]
    new: bool
    send_user: bool
    cards: list[DeviceCard]
    """Cards to add or update."""
    face: bool
    face_update: bool
    remove_face: bool
    was: tuple[str, str, str] | None = None
    """The known fingerprint's parts."""
    failed: PersonResult | None = None
    face_sent: str | None = None
    """The SHA-256 prefix of the photo actually sent."""

    @property
    def user_id(self) -> str:
        return self.person.user_id

    def fail(self, part: PartName, error: RequestError | None, message: str | None = None
             ) -> None:
        if self.failed is None:  # the first failure is the one reported
            self.failed = PersonResult(self.user_id, "failed", error=error, part=part,
                                       message=message)

    def result(self, failed_parts: set[str]) -> PersonResult:
        user, cards, face = self.parts
        if self.face_sent is not None:
            face = self.face_sent
        if "user" in failed_parts:
            # The device took nothing new of this person: what it had is still there.
            was = self.was or (_FAILED, _FAILED, _FAILED)
            return msgspec.structs.replace(
                self.failed or PersonResult(self.user_id, "failed", part="user"),
                fingerprint=None if self.new else f"{_FAILED}.{was[1]}.{was[2]}")
        print_ = ".".join((user, _FAILED if "cards" in failed_parts else cards,
                           _FAILED if "face" in failed_parts else face))
        if self.failed is not None:
            return msgspec.structs.replace(self.failed, fingerprint=print_)
        changed = self.send_user or self.cards or self.face or self.remove_face
        return PersonResult(self.user_id, "applied" if changed else "unchanged",
                            fingerprint=print_)


def _split(known: str | None) -> tuple[str, str, str] | None:
    if known is None:
        return None
    parts = known.split(".")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def _plan(person: Person, *, utc_offset: timedelta, current: Mapping[str, Any] | None,
          current_cards: Mapping[str, Mapping[str, Any]], faces: set[str] | None,
          known: Mapping[str, str] | None) -> _Plan:
    parts = _parts(person, utc_offset)
    item = person.user_json(utc_offset)
    was = _split(known.get(person.user_id)) if known is not None else None
    new = current is None
    if current is None:
        send_user = True
    elif known is None:  # no memory of earlier runs: secrets cannot be compared
        send_user = bool(person.password) or _readable_differs(item, current)
    else:
        send_user = was is None or was[0] != parts[0] or _readable_differs(item, current)
    cards = [c for c in person.card_list()
             if (mine := current_cards.get(c.card_no)) is None
             or str(mine.get("UserID", "")) != person.user_id or _card_differs(c, mine)]
    on_device = (not new) and (person.user_id in faces if faces is not None else None)
    if not person.has_face:
        face = False
        remove_face = bool(on_device) or (
            on_device is None and not new and was is not None and was[2] not in (_NONE,))
    else:
        remove_face = False
        if new or on_device is False:
            face = True
        elif known is None:
            face = on_device is None  # listed: assume it is this photo
        else:
            face = was is None or was[2] != parts[2]
    return _Plan(person=person, parts=parts, new=new, send_user=send_user, cards=cards,
                 face=face, face_update=on_device is not False and not new,
                 remove_face=remove_face, was=was)


# -- applying --------------------------------------------------------------------------


async def _guarded(call: _BatchCall, items: list[Any], key: Callable[[Any], str], *,
                   update: bool) -> list[BatchItemResult]:
    """A batch call whose refusal as a whole (legacy firmware's ``Bad Request``) becomes
    a failed result per item."""
    try:
        return await call(items, update=update)
    except AuthenticationError:
        raise
    except DeviceError as exc:
        return [BatchItemResult(key(item), ok=False, error=exc.code) for item in items]


async def _apply(pace: _Pace, call: _BatchCall, items: list[Any], key: Callable[[Any], str],
                 *, update: bool, tick: Callable[[int], None]) -> dict[str, BatchItemResult]:
    """Send ``items`` in batches; a batch with failures is resent item by item (the
    device does not say which items failed). Returns the result per key."""
    out: dict[str, BatchItemResult] = {}

    def sender(chunk: list[Any]) -> Callable[[bool], Awaitable[list[BatchItemResult]]]:
        async def send(retry: bool) -> list[BatchItemResult]:  # noqa: FBT001  # one flag
            # A retried batch may be half applied: retry as an update (an upsert).
            return await _guarded(call, chunk, key, update=update or retry)
        return send

    for start in range(0, len(items), MAX_BATCH):
        batch = items[start:start + MAX_BATCH]
        results = await pace.run(sender(batch))
        if len(batch) > 1 and any(not r.ok for r in results) and not all(
                r.ok or r.error in RETRYABLE for r in results):
            results = []
            for item in batch:
                (alone,) = await pace.run(sender([item]))
                if not alone.ok and not update and alone.error in ALREADY_EXISTS:
                    # Inserted by the batch (it was not there when listed).
                    alone = BatchItemResult(alone.key, ok=True)
                results.append(alone)
        for item, result in zip(batch, results, strict=True):
            out[key(item)] = result
        tick(len(batch))
    return out


async def sync_people(
    device: Device,
    desired: Sequence[Person],
    *,
    remove_missing: bool = True,
    progress: Callable[[int, int], None] | None = None,
    max_retries: int = 6,
    known: Mapping[str, str] | None = None,
    utc_offset: timedelta | None = None,
    load_face: Callable[[str], Awaitable[bytes | None]] | None = None,
    removable: Callable[[str], bool] | None = None,
) -> SyncReport:
    """Apply the difference between ``desired`` and the device; return a report.

    ``known`` maps user ids to the fingerprints of an earlier run (from the
    :class:`PersonResult` s): without it, people with a password are always resent
    (the device cannot show a password) and a listed face is assumed current.
    ``utc_offset`` is the device's offset from UTC (default: the client's).
    ``load_face(user_id)`` returns a photo named only by ``face_sha256``. Raises only
    when the device cannot be used at all (unreachable, credentials refused); item
    failures are in the report. ``removable(user_id)`` limits ``remove_missing`` to the
    users it accepts (and their cards), so users someone else registered can stay.
    """
    offset = device.utc_offset if utc_offset is None else utc_offset
    report = SyncReport()
    current_users = {str(u["UserID"]): u for u in await device.list_users()}
    current_cards = {str(c["CardNo"]).upper(): c for c in await device.list_cards()}
    faces = await _list_faces(device)
    wanted = {p.user_id: p for p in desired}
    plans = [_plan(p, utc_offset=offset, current=current_users.get(p.user_id),
                   current_cards=current_cards, faces=faces, known=known) for p in desired]
    def may_remove(user_id: str) -> bool:
        return remove_missing and (removable is None or removable(user_id))

    to_remove = [u for u in current_users if u not in wanted and may_remove(u)]
    wanted_cards = {c.card_no: p.user_id for p in desired for c in p.card_list()}
    cards_remove = {c for c, mine in current_cards.items()
                    if (c not in wanted_cards and may_remove(str(mine.get("UserID", ""))))
                    or (c in wanted_cards and wanted_cards[c] != str(mine.get("UserID", "")))}
    add_users = [p for p in plans if p.send_user and p.new]
    update_users = [p for p in plans if p.send_user and not p.new]
    total = (len(to_remove) + len(cards_remove) + len(add_users) + len(update_users)
             + sum(len(p.cards) for p in plans) + sum(p.face or p.remove_face for p in plans))
    done = 0
    pace = _Pace(max_retries)

    def tick(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    if cards_remove:
        await device.remove_cards(sorted(cards_remove))
        report.cards_removed += len(cards_remove)
        tick(len(cards_remove))
    if to_remove:
        await device.remove_users(to_remove)
        report.users_removed += len(to_remove)
        for user_id in to_remove:
            report.people[user_id] = PersonResult(user_id, "removed")
        tick(len(to_remove))

    failed: dict[str, set[str]] = {p.user_id: set() for p in plans}
    by_id = {p.user_id: p for p in plans}
    for group, update in ((add_users, False), (update_users, True)):
        results = await _apply(pace, device.add_users,
                               [p.person.user_json(offset) for p in group],
                               lambda item: str(item["UserID"]), update=update, tick=tick)
        for plan in group:
            result = results[plan.user_id]
            if result.ok:
                if update:
                    report.users_updated += 1
                else:
                    report.users_added += 1
            else:
                report.failures.append(result)
                plan.fail("user", result.error)
                failed[plan.user_id].add("user")

    ready = [p for p in plans if "user" not in failed[p.user_id]]
    skipped = sum(len(p.cards) + (p.face or p.remove_face) for p in plans
                  if "user" in failed[p.user_id])
    if skipped:
        tick(skipped)
    card_items = [(p.user_id, c, c.card_no in current_cards and c.card_no not in cards_remove)
                  for p in ready for c in p.cards]
    for update in (False, True):
        pairs = [(owner, card) for owner, card, exists in card_items if exists is update]
        results = await _apply(pace, device.add_cards,
                               [card.card_json(owner) for owner, card in pairs],
                               lambda item: str(item["CardNo"]), update=update, tick=tick)
        for owner, card in pairs:
            result = results[card.card_no]
            if result.ok:
                if update:
                    report.cards_updated += 1
                else:
                    report.cards_added += 1
            else:
                report.failures.append(result)
                by_id[owner].fail("cards", result.error)
                failed[owner].add("cards")

    await _faces(device, pace, [p for p in ready if p.face], report, failed=failed,
                 load_face=load_face, tick=tick)
    await _remove_faces(device, [p for p in ready if p.remove_face], report, failed=failed,
                        tick=tick)
    for plan in plans:
        report.people[plan.user_id] = plan.result(failed[plan.user_id])
    return report


async def _remove_faces(device: Device, plans: list[_Plan], report: SyncReport, *,
                        failed: dict[str, set[str]], tick: Callable[[int], None]) -> None:
    """Remove the photos of people who should have none."""
    if not plans:
        return
    try:
        await device.remove_faces([p.user_id for p in plans])
        report.faces_removed += len(plans)
    except DeviceError as exc:
        for plan in plans:
            plan.fail("face", exc.code, str(exc))
            failed[plan.user_id].add("face")
    tick(len(plans))


async def _list_faces(device: Device) -> set[str] | None:
    """Who has a face on the device; None when the firmware cannot list faces."""
    try:
        return {str(f.get("UserID", "")) for f in await device.list_faces()}
    except AuthenticationError:
        raise
    except (DeviceError, ProtocolError):
        return None


async def _faces(device: Device, pace: _Pace, plans: list[_Plan], report: SyncReport, *,
                 failed: dict[str, set[str]],
                 load_face: Callable[[str], Awaitable[bytes | None]] | None,
                 tick: Callable[[int], None]) -> None:
    """Send photos, at most ten loaded at a time; a photo the device would refuse for
    its format or size fails here with the code the device would give."""
    for update in (False, True):
        group = [p for p in plans if p.face_update is update]
        for start in range(0, len(group), MAX_BATCH):
            chunk = group[start:start + MAX_BATCH]
            items: list[tuple[str, bytes]] = []
            for plan in chunk:
                photo = plan.person.face
                if photo is None and load_face is not None:
                    photo = await load_face(plan.user_id)
                problem = _photo_problem(photo)
                if problem is not None:
                    plan.fail("face", problem[0], problem[1])
                    failed[plan.user_id].add("face")
                    continue
                assert photo is not None  # noqa: S101  # checked above
                plan.face_sent = hashlib.sha256(photo).hexdigest()[:16]
                items.append((plan.user_id, photo))
            tick(len(chunk) - len(items))
            if not items:
                continue
            results = await _apply(pace, device.add_faces, items, lambda item: str(item[0]),
                                   update=update, tick=tick)
            for user_id, _photo in items:
                result = results[user_id]
                plan = next(p for p in chunk if p.user_id == user_id)
                if result.ok:
                    report.faces_added += 1
                else:
                    report.failures.append(result)
                    plan.fail("face", result.error)
                    failed[user_id].add("face")


def _photo_problem(photo: bytes | None) -> tuple[RequestError | None, str] | None:
    if photo is None:
        return None, "no photo stored"
    if photo[:3] != b"\xff\xd8\xff":
        return RequestError.INVALID_PHOTO_FORMAT, "the photo is not a JPEG"
    if len(photo) > MAX_PHOTO_BYTES:
        return (RequestError.MAX_PHOTO_FILE_SIZE_EXCEEDED,
                f"the photo has {len(photo)} bytes (readers take at most {MAX_PHOTO_BYTES})")
    return None


class _Pace:
    """Retry a batch on RETRYABLE answers, slowing down for the rest of the sync."""

    def __init__(self, max_retries: int) -> None:
        self.delay = 0.0
        self.max_retries = max_retries

    async def run(self, call: Callable[[bool], Awaitable[list[BatchItemResult]]]
                  ) -> list[BatchItemResult]:
        attempt = 0
        while True:
            if self.delay:
                await asyncio.sleep(self.delay)
            results = await call(attempt > 0)
            busy = [r for r in results if not r.ok and r.error in RETRYABLE]
            if not busy or attempt >= self.max_retries:
                if not busy:
                    self.delay = max(0.0, self.delay * 0.8 - 0.01)  # speed up again slowly
                return results
            attempt += 1
            self.delay = min(max(self.delay * 2, 0.1), 5.0)
