"""Make a device's people match a desired list, touching only what differs.

:func:`sync_people` reads the device's users and cards, computes the difference with
the desired :class:`Person` list, and applies only that: run it twice and the second
run changes nothing. Batches of 10; when the device answers busy / too many requests /
max insert rate / warming up (the ``RETRYABLE`` request errors) the batch is retried
after a pause that grows, and later batches keep the slower pace (adaptive pacing).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from porteiro.codes import RETRYABLE
from porteiro.device.client import MAX_BATCH, BatchItemResult, Device

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = ["Person", "SyncReport", "sync_people"]


class Person(msgspec.Struct, frozen=True):
    """Who should be on the device (the people file's row)."""

    user_id: str
    name: str = ""
    cards: tuple[str, ...] = ()
    doors: tuple[int, ...] = (0,)
    password: str | None = None
    user_type: int = 0

    def user_json(self) -> dict[str, Any]:
        """The ``UserList`` item for ``AccessUser.cgi``."""
        item: dict[str, Any] = {"UserID": self.user_id, "UserName": self.name,
                                "UserType": self.user_type, "Doors": list(self.doors),
                                "TimeSections": [255], "UserStatus": 0, "Authority": 2}
        if self.password:
            item["Password"] = self.password
        return item


class SyncReport(msgspec.Struct):
    """What a sync did."""

    users_added: int = 0
    users_updated: int = 0
    users_removed: int = 0
    cards_added: int = 0
    cards_removed: int = 0
    failures: list[BatchItemResult] = msgspec.field(default_factory=list)

    @property
    def changes(self) -> int:
        """Everything the sync changed on the device."""
        return (self.users_added + self.users_updated + self.users_removed
                + self.cards_added + self.cards_removed)


def _differs(person: Person, current: dict[str, Any]) -> bool:
    return (str(current.get("UserName", "")) != person.name
            or [int(d) for d in current.get("Doors", [])] != list(person.doors)
            or int(current.get("UserType", 0)) != person.user_type
            or person.password is not None)


async def sync_people(
    device: Device,
    desired: Sequence[Person],
    *,
    remove_missing: bool = True,
    progress: Callable[[int, int], None] | None = None,
    max_retries: int = 6,
) -> SyncReport:
    """Apply the difference between ``desired`` and the device; return a report."""
    report = SyncReport()
    current_users = {str(u["UserID"]): u for u in await device.list_users()}
    current_cards = {str(c["CardNo"]).upper(): str(c["UserID"])
                     for c in await device.list_cards()}
    wanted = {p.user_id: p for p in desired}
    to_add = [p.user_json() for p in desired if p.user_id not in current_users]
    to_update = [p.user_json() for p in desired
                 if p.user_id in current_users and _differs(p, current_users[p.user_id])]
    to_remove = [u for u in current_users if u not in wanted] if remove_missing else []
    wanted_cards = {card.upper(): p.user_id for p in desired for card in p.cards}
    cards_remove = [c for c, owner in current_cards.items()
                    if (c not in wanted_cards and remove_missing)
                    or (c in wanted_cards and wanted_cards[c] != owner)]
    cards_add = [{"UserID": owner, "CardNo": card} for card, owner in wanted_cards.items()
                 if current_cards.get(card) != owner]
    total = len(to_add) + len(to_update) + len(to_remove) + len(cards_remove) + len(cards_add)
    done = 0
    pace = _Pace(max_retries)

    def tick(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    if cards_remove:
        await device.remove_cards(cards_remove)
        report.cards_removed += len(cards_remove)
        tick(len(cards_remove))
    if to_remove:
        await device.remove_users(to_remove)
        report.users_removed += len(to_remove)
        tick(len(to_remove))
    for items, update in ((to_add, False), (to_update, True)):
        for start in range(0, len(items), MAX_BATCH):
            batch = items[start : start + MAX_BATCH]
            # A retried batch may be half applied: retry as an update (an upsert).
            results = await pace.run(_users_call(device, batch, update=update))
            ok = sum(r.ok for r in results)
            if update:
                report.users_updated += ok
            else:
                report.users_added += ok
            report.failures += [r for r in results if not r.ok]
            tick(len(batch))
    for start in range(0, len(cards_add), MAX_BATCH):
        batch = cards_add[start : start + MAX_BATCH]
        results = await pace.run(_cards_call(device, batch))
        report.cards_added += sum(r.ok for r in results)
        report.failures += [r for r in results if not r.ok]
        tick(len(batch))
    return report


def _users_call(device: Device, batch: list[dict[str, Any]], *, update: bool
                ) -> Callable[[bool], Awaitable[list[BatchItemResult]]]:
    async def call(retry: bool) -> list[BatchItemResult]:  # noqa: FBT001  # one flag, by design
        return await device.add_users(batch, update=update or retry)

    return call


def _cards_call(device: Device, batch: list[dict[str, Any]]
                ) -> Callable[[bool], Awaitable[list[BatchItemResult]]]:
    async def call(retry: bool) -> list[BatchItemResult]:  # noqa: FBT001  # one flag, by design
        return await device.add_cards(batch, update=retry)

    return call


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
