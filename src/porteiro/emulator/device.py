"""One emulated reader: its behaviour (events, access decisions, doors) and scenarios.

The HTTP surface lives in :mod:`porteiro.emulator.service`; this module is what
happens behind it, usable directly from Python (tests, benchmarks, the demo)::

    device = EmulatedDevice(State.new())
    decision = device.present(Presentation(card_no="12EA3004"))

Every method that changes something emits the events a real device would, in the
device's own shapes (see :mod:`porteiro.access.engine` for access events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec

from porteiro.access import (
    AccessRules,
    Decision,
    MemoryHistory,
    Presentation,
    User,
    decide,
)
from porteiro.codes import EventCode
from porteiro.emulator.digest import DigestVerifier
from porteiro.emulator.state import State, door_rules
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from porteiro.emulator.uplink import Uplink

__all__ = ["EmulatedDevice", "Faults", "Subscription"]

_LOG = logging.getLogger(__name__)

SAVE_DELAY = 1.0
"""Seconds a change may wait before the state file is written."""

RECORD_FIELDS = ("CardName", "CardNo", "CardType", "Door", "ErrorCode", "Method", "ReaderID",
                 "Status", "Type", "UserID", "UserType")


class Subscription:
    """One attach stream's view of the event flow: a bounded queue and a code filter."""

    __slots__ = ("codes", "dropped", "queue")

    def __init__(self, codes: frozenset[EventCode] | None, size: int = 10_000) -> None:
        self.codes = codes  # None: every event
        self.queue: asyncio.Queue[RawEvent | bytes | None] = asyncio.Queue(size)
        self.dropped = 0

    def wants(self, event: RawEvent) -> bool:
        """Whether the ``codes=`` filter of the stream lets ``event`` through."""
        return self.codes is None or EventCode(event.code) in self.codes

    def offer(self, item: RawEvent | bytes | None) -> None:
        """Queue without blocking; a stalled reader loses the oldest items, counted."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
            self.queue.put_nowait(item)


class Faults:
    """Fault injection switches (scenarios for tests and demos)."""

    __slots__ = ("delay_seconds", "fail_status", "fail_until", "stall_until")

    def __init__(self) -> None:
        self.delay_seconds = 0.0
        self.fail_status = 500
        self.fail_until = 0.0
        self.stall_until = 0.0

    def failing(self) -> bool:
        """True while replies should be HTTP errors."""
        return time.monotonic() < self.fail_until

    def stalled(self) -> bool:
        """True while streams should stay open but silent."""
        return time.monotonic() < self.stall_until


def parse_attach_codes(text: str | None) -> frozenset[EventCode] | None:
    """``[All]``, ``[AccessControl,DoorStatus]``, ``AccessControl`` -> a filter (None = all)."""
    if text is None:
        return None
    names = [n.strip() for n in text.strip().strip("[]").split(",") if n.strip()]
    if not names or any(n.lower() == "all" for n in names):
        return None
    return frozenset(EventCode(name) for name in names)


class EmulatedDevice:
    """A virtual Intelbras reader (state + behaviour)."""

    def __init__(self, state: State, *, state_file: Path | None = None) -> None:
        self.state = state
        self.state_file = state_file
        self.verifier = DigestVerifier(state.username, state.password)
        self.history = MemoryHistory()
        self.faults = Faults()
        self.subscriptions: set[Subscription] = set()
        self.door_contact_open: set[int] = set()
        self.unlocked_until: dict[int, float] = {}
        self.online_messages: list[str] = []
        self.uplink: Uplink | None = None
        self.sessions: dict[str, float] = {}
        """Client address -> last request time (the device's concurrent-login limit)."""
        self._close_timers: dict[int, asyncio.TimerHandle] = {}
        self._held_open: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._insert_window: list[float] = [0.0, 0]
        self._save_handle: asyncio.TimerHandle | None = None

    # -- clock -------------------------------------------------------------------------

    def now(self) -> float:
        """The device clock (UTC epoch seconds), drift included."""
        return time.time() + self.state.clock_offset

    def set_clock(self, epoch: float) -> None:
        """Set the device clock (``setCurrentTime``); emits TimeChange."""
        before = self.now()
        self.state.clock_offset = epoch - time.time()
        self.emit(RawEvent("TimeChange", "Pulse", 0, {
            "BeforeModifyTime": self.local_text(before),
            "ModifiedTime": self.local_text(epoch), "UTC": int(epoch)}))

    def drift(self, seconds: float) -> None:
        """Let the clock drift (no event: a real clock drifts silently)."""
        self.state.clock_offset += seconds

    def local_text(self, epoch: float | None = None) -> str:
        """Device-local ``YYYY-MM-DD HH:MM:SS`` (what ``getCurrentTime`` answers)."""
        when = self.now() if epoch is None else epoch
        return time.strftime("%Y-%m-%d %H:%M:%S",
                             time.gmtime(when + self.state.utc_offset_seconds))

    # -- events ------------------------------------------------------------------------

    def subscribe(self, codes: frozenset[EventCode] | None) -> Subscription:
        """Open an attach stream's subscription (the caller must :meth:`unsubscribe`)."""
        sub = Subscription(codes)
        self.subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Close a subscription."""
        self.subscriptions.discard(sub)

    def emit(self, event: RawEvent, *, upload: bool = True) -> RawEvent:
        """Publish an event: record log (access events), attach streams, upload queue.

        ``upload=False`` for an access event the Modo Online server already saw as the
        request itself.
        """
        if event.code == "AccessControl":
            self._record(event)
        for sub in self.subscriptions:
            if sub.wants(event):
                sub.offer(event)
        if upload and self.device_mode() in (1, 2, 3):
            pending = self.state.pending_push
            pending.append({"Code": event.code, "Action": event.action, "Index": event.index,
                            "Data": event.data})
            if len(pending) > self.state.limits.max_pending_push:
                del pending[0]
            if self.uplink is not None:
                self.uplink.notify()
        return event

    def device_mode(self) -> int:
        """``Intelbras_ModeCfg.DeviceMode`` (0 stand-alone, 1 push, 2 Modo Online)."""
        return _int((self.state.config.get("Intelbras_ModeCfg") or {}).get("DeviceMode"))

    def _record(self, event: RawEvent) -> None:
        data = event.data
        record = {"RecNo": self.state.next_rec_no, "CreateTime": data.get("CreateTime")}
        record.update({key: data[key] for key in RECORD_FIELDS if key in data})
        self.state.next_rec_no += 1
        records = self.state.records
        records.append(record)
        if len(records) > self.state.limits.max_records:
            del records[: len(records) - self.state.limits.max_records]

    def find_records(self, start: float | None, end: float | None, count: int,
                     offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Records with ``start <= CreateTime <= end``, oldest first; also the total."""
        matched = [r for r in self.state.records
                   if (start is None or (r.get("CreateTime") or 0) >= start)
                   and (end is None or (r.get("CreateTime") or 0) <= end)]
        return matched[offset : offset + count], len(matched)

    # -- access ------------------------------------------------------------------------

    def rules(self) -> AccessRules:
        """The engine's snapshot of this device's directory and configuration."""
        general = self.state.config.get("AccessControlGeneral") or {}
        duress = str(general.get("DuressPassword") or "") or None
        return AccessRules(users=self.state.users, cards=self.state.cards,
                           doors=door_rules(self.state.config), duress_password=duress,
                           utc_offset_seconds=self.state.utc_offset_seconds)

    def decide(self, presentation: Presentation) -> Decision:
        """The local decision for ``presentation`` (nothing emitted)."""
        return decide(self.rules(), presentation, now=self.now(), history=self.history,
                      open_doors=frozenset(self.door_contact_open))

    def present(self, presentation: Presentation, *, presented: float | None = None
                ) -> Decision:
        """Someone presents credentials at a reader: decide, emit, unlock if granted.
        ``presented`` is the device time of the presentation (now when not given)."""
        decision = self.decide(presentation)
        self._apply(decision, presentation, self.now() if presented is None else presented)
        return decision

    async def present_async(self, presentation: Presentation, *,
                            presented: float | None = None) -> Decision:
        """Like :meth:`present`, but in Modo Online the server decides (see uplink).
        ``presented`` is the device time of the presentation (now when not given; a
        caller that runs this as a task passes the time it was presented, which a busy
        event loop may otherwise push into a later second)."""
        if (self.device_mode() != 2 or self.uplink is None or self.uplink.server() is None
                or presentation.exit_button or presentation.remote):
            return self.present(presentation, presented=presented)
        local = self.decide(presentation)
        presented = self.now() if presented is None else presented
        decision, message = await self.uplink.ask_server(presentation, local, presented)
        if message is not None:
            self.online_messages.append(message)
        # Offline decisions are queued and sent later; online ones were the request. The
        # record bears the time of the presentation, as the request did, not the time
        # the wait for the server ended [GUESS: no source says which time a reader logs].
        self._apply(decision, presentation, presented, upload=message is None)
        return decision

    def _apply(self, decision: Decision, presentation: Presentation, now: float, *,
               upload: bool = True) -> None:
        self.history.record(decision, presentation, now)
        door = self.rules().doors.get(presentation.door)
        for event in decision.events(presentation, int(now),
                                     door_name=door.name if door else ""):
            self.emit(event, upload=upload or event.code != "AccessControl")
        if decision.granted:
            self._unlock(presentation.door)
            user = self.state.users.get(decision.user_id or "")
            if user is not None and user.uses_left is not None:
                self.state.users[user.user_id] = _with(user, uses_left=max(0, user.uses_left - 1))

    def _unlock(self, door: int) -> None:
        doors = self.state.config.get("AccessControl") or []
        hold = _int(doors[door].get("UnlockHoldInterval")) if door < len(doors) else 3000
        self.unlocked_until[door] = time.monotonic() + max(hold, 0) / 1000

    def open_door(self, door: int, user_id: str | None = None) -> Decision:
        """``accessControl.cgi?action=openDoor``: a remote unlock, with its access event."""
        return self.present(Presentation(door=door, remote=True, user_id=user_id))

    def press_exit_button(self, door: int = 0) -> Decision:
        """The exit button: an AccessControl event (Method 5) and a ButtonExit event."""
        decision = self.present(Presentation(door=door, exit_button=True))
        self.emit(RawEvent("_Button_", "Pulse", door,
                           {"Local": True, "ReaderID": str(door + 1), "Type": "Button"}))
        return decision

    def set_door_contact(self, door: int, *, is_open: bool) -> None:
        """The door sensor: DoorStatus, and BreakIn when opened while locked."""
        utc = int(self.now())
        name = self._door_name(door)
        was_open = door in self.door_contact_open
        if is_open == was_open:
            return
        if is_open:
            self.door_contact_open.add(door)
            self.emit(RawEvent("DoorStatus", "Pulse", door,
                               {"Door": door, "Name": name, "Status": "Open", "UTC": utc}))
            if time.monotonic() > self.unlocked_until.get(door, 0.0):
                self.emit(RawEvent("BreakIn", "Pulse", door, {"Name": name, "UTC": utc}))
            self._arm_close_timeout(door)
        else:
            self.door_contact_open.discard(door)
            timer = self._close_timers.pop(door, None)
            if timer is not None:
                timer.cancel()
            self.emit(RawEvent("DoorStatus", "Pulse", door,
                               {"Door": door, "Name": name, "Status": "Close", "UTC": utc}))
            if door in self._held_open:
                self._held_open.discard(door)
                self.door_held_open(door, started=False)

    def _arm_close_timeout(self, door: int) -> None:
        """Raise DoorNotClosed when the door stays open past ``CloseTimeout`` seconds."""
        doors = self.state.config.get("AccessControl") or []
        timeout = _int(doors[door].get("CloseTimeout")) if door < len(doors) else 0
        if timeout <= 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (plain Python use): held-open is then manual
        self._close_timers[door] = loop.call_later(timeout, self._close_timeout_expired, door)

    def _close_timeout_expired(self, door: int) -> None:
        self._close_timers.pop(door, None)
        if door in self.door_contact_open and door not in self._held_open:
            self._held_open.add(door)
            self.door_held_open(door, started=True)

    def door_held_open(self, door: int, *, started: bool = True) -> None:
        """DoorNotClosed Start/Stop (the device raises it after ``CloseTimeout``)."""
        self.emit(RawEvent("DoorNotClosed", "Start" if started else "Stop", door,
                           {"Name": self._door_name(door), "UTC": int(self.now())}))

    def tamper(self) -> None:
        """The device is pulled off the wall."""
        self.emit(RawEvent("ChassisIntruded", "Pulse", 0, {"UTC": int(self.now())}))

    def local_alarm(self, *, started: bool = True) -> None:
        """The local alarm input fires."""
        self.emit(RawEvent("AlarmLocal", "Start" if started else "Stop", 0,
                           {"UTC": int(self.now())}))

    def reboot(self) -> None:
        """Drop every stream, keep the records, come back with a Reboot event."""
        self.drop_streams()
        for timer in self._close_timers.values():
            timer.cancel()
        self._close_timers.clear()
        self._held_open.clear()
        self.sessions.clear()
        self.history = MemoryHistory()
        self.door_contact_open.clear()
        self.unlocked_until.clear()
        self.emit(RawEvent("Reboot", "Pulse", 0, {"UTC": int(self.now())}))
        self.flush()

    def _door_name(self, door: int) -> str:
        doors = self.state.config.get("AccessControl") or []
        if door < len(doors) and isinstance(doors[door], dict):
            return str(doors[door].get("Name", f"Door{door + 1}"))
        return f"Door{door + 1}"

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep a background task (generated traffic...) until it ends or we stop."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_tasks(self) -> None:
        """Cancel and await the tracked tasks and pending timers."""
        for timer in self._close_timers.values():
            timer.cancel()
        self._close_timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def take_insert_slot(self) -> bool:
        """Rate-limit inserts (``Limits.max_inserts_per_second``); False when over."""
        limit = self.state.limits.max_inserts_per_second
        if limit <= 0:
            return True
        now = time.monotonic()
        if now - self._insert_window[0] >= 1.0:
            self._insert_window = [now, 0]
        if self._insert_window[1] >= limit:
            return False
        self._insert_window[1] += 1
        return True

    def admit(self, client: str, *, window: float = 60.0) -> bool:
        """Count a login from ``client``; False when ``max_logins`` others are active."""
        now = time.monotonic()
        for peer, seen in list(self.sessions.items()):
            if now - seen > window:
                del self.sessions[peer]
        if client not in self.sessions and len(self.sessions) >= self.state.limits.max_logins:
            return False
        self.sessions[client] = now
        return True

    # -- faults ------------------------------------------------------------------------

    def drop_streams(self) -> None:
        """Close every attach stream now (a reboot or a network cut)."""
        for sub in list(self.subscriptions):
            sub.offer(None)
        self.subscriptions.clear()

    def stall_streams(self, seconds: float) -> None:
        """Keep streams open but send nothing, heartbeats included."""
        self.faults.stall_until = time.monotonic() + seconds

    def delay_replies(self, seconds: float) -> None:
        """Answer every request ``seconds`` late."""
        self.faults.delay_seconds = max(0.0, seconds)

    def fail_replies(self, seconds: float, status: int = 500) -> None:
        """Answer HTTP ``status`` to everything for ``seconds``."""
        self.faults.fail_status = status
        self.faults.fail_until = time.monotonic() + seconds

    def garbage_into_streams(self, garbage: bytes) -> None:
        """Write raw bytes into every open stream (parsers must survive them)."""
        for sub in self.subscriptions:
            sub.offer(garbage)

    # -- persistence -------------------------------------------------------------------

    def save(self) -> None:
        """Persist the state soon (coalesced: at most one write per ``SAVE_DELAY``).

        Writing the whole state after every API call would make a large directory cost
        O(n) per call; like a device's flash writes, saves are batched. :meth:`flush`
        writes now (stop, reboot). Without a running event loop it writes at once.
        """
        if self.state_file is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._save_handle is None:
            self._save_handle = loop.call_later(SAVE_DELAY, self.flush)

    def flush(self) -> None:
        """Write the state file now (when one was given)."""
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        if self.state_file is not None:
            self.state.save(self.state_file)

    def upsert_users(self, users: Iterable[User]) -> None:
        """Replace or add users (used by scenarios and fixtures)."""
        for user in users:
            self.state.users[user.user_id] = user


def _with(user: User, **changes: Any) -> User:
    return msgspec.structs.replace(user, **changes)


def _int(value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0
