"""Modo Online: the hub decides each access request of an online reader.

A reader in Modo Online (DeviceMode=2) POSTs each access attempt to the hub and waits
up to its ``RemoteCheckTimeout`` for ``{"message", "code": "200", "auth"}``
[OFFICIAL-EX]. :class:`OnlineDecider` answers it:

1. **Request or history.** A POST holding exactly one ``AccessControl`` event whose
   time is within ``[online] live_window_seconds`` of now is a request, unless the
   reader opened by itself (exit button, remote opening: Method 5 or 4). Anything else
   (door status, alarms, records the reader decided alone while the hub was away
   [SINGLE]) is stored and answered neutrally (``auth: "false"``, empty message)
   [OFFICIAL-EX].
2. **Presentation.** The event says what the reader saw: ``CardNo`` for cards; for a
   face or fingerprint the reader matched someone locally and reports ``UserID``; a
   typed password arrives as ``DynPWD`` (checked against the person's hash) or, when
   absent, the reader checked it itself (``Method`` names the factors) [GUESS: how
   readers report each factor in Modo Online is not documented beyond these fields].
3. **Decision.** :func:`porteiro.access.decide` against the site's people
   (:class:`~porteiro.access.Directory`) and the **site's** history
   (:class:`SiteHistory`): anti-passback and repeat entry hold across every reader, and
   passages reported by push and attach readers count too. Requests of one person are
   decided one at a time, so two readers cannot both let the same person in.
4. **Policy hook.** ``[online] policy`` (a Python callable) or ``policy_url`` (an HTTP
   callback) may override the decision, within ``policy_timeout_ms``; a failure or a
   late answer falls back to ``policy_fallback`` and is logged.
5. **Deadline.** The reply leaves within ``[online] deadline_ms`` (kept below the
   reader's ``remote_check_timeout`` by the configuration's validation): if storing the
   decision is slower, the reply goes first and the event is stored when the database
   catches up. If the decision itself fails, ``[hub] online_default`` answers.
6. **Record.** The decision is stored as the access event, with the hub's verdict in
   ``Status``/``ErrorCode`` and ``data.PorteiroDecision`` holding the reason, who
   decided (engine, policy, fallback), the display message, the reader's own verdict
   and the time taken, under the presentation's key (not the verdict's).
7. **Unanswered decisions.** A reader that got no answer in time decides alone and
   later sends its own record of the presentation. The hub recognises it (the decision
   was in flight, answered late, refused because it could not be stored, decided
   before a restart or by another instance) and stores the passage once, or keeps the
   record as an event of its own when the door did otherwise (logged). A decision that
   cannot be stored before the deadline is refused (503), so the reader keeps its
   record; one already answered is retried until the database takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import inspect
import logging
import random
import time
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec

from porteiro.access import (
    AccessRules,
    Decision,
    DoorRule,
    Factor,
    OpenRequirement,
    Presentation,
    Schedule,
    decide,
    factors_of,
)
from porteiro.access.messages import display_message
from porteiro.access.people import PersonType, verify_password
from porteiro.codes import Direction, DoorMode, EventError, EventKind, OpenMethod
from porteiro.events import AccessControlEvent, build_event
from porteiro.exceptions import ConfigError, PorteiroError
from porteiro.store import Occurrences
from porteiro.store.identity import PresentationOccurrences, presentation_key
from porteiro.wire.push import format_online_reply
from porteiro.wire.records import RawEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from porteiro.access.people import Person
    from porteiro.events import Event
    from porteiro.hub.hub import DeviceRuntime, Hub

__all__ = ["NEUTRAL_REPLY", "OnlineDecider", "PolicyRequest", "PolicyVerdict", "SiteHistory"]

_LOG = logging.getLogger(__name__)

NEUTRAL_REPLY = format_online_reply(granted=False, message="")
"""The answer to a POST that is not an access request [OFFICIAL-EX]."""

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MODES = {"normal": DoorMode.NORMAL, "always_open": DoorMode.ALWAYS_OPEN,
          "always_closed": DoorMode.ALWAYS_CLOSED}
_NOT_ASKED = frozenset({OpenMethod.EXIT_BUTTON, OpenMethod.REMOTE})
"""Access events a reader reports without asking: its exit button, a remote opening."""
_NO_MATCH = "\x00"
"""A presented password that matches nobody (the hub saw a wrong one)."""
_PASSWORD_WRONG = frozenset({EventError.CARD_OK_PASSWORD_WRONG,
                             EventError.FINGERPRINT_OK_PASSWORD_WRONG,
                             EventError.USER_ID_OK_PASSWORD_WRONG})


class PolicyRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a policy hook is asked about (also the JSON the HTTP hook receives)."""

    device: str
    door: int
    direction: str | None
    user_id: str | None
    card_no: str | None
    person: dict[str, Any] | None
    """name, type, status, external_id of the person (None: unknown credential)."""
    granted: bool
    """The engine's verdict."""
    error: int
    reason: str
    """The engine's reason in English (``Outside the allowed hours``)."""
    time: float


class PolicyVerdict(msgspec.Struct, frozen=True):
    """A hook's answer: grant or deny, with an optional display message."""

    granted: bool
    message: str | None = None


_Verdict = PolicyVerdict | bool | dict[str, Any] | None
"""What a Python hook may return: a verdict, a bool, ``{"auth", "message"}``, or None
(keep the engine's decision)."""


class SiteHistory:
    """Who passed where, for the whole site (the engine's :class:`History`).

    Fed by the hub's own decisions at once and by every committed access event of any
    reader (push, attach, online), so anti-passback and repeat entry are site-wide.
    """

    def __init__(self) -> None:
        self._directions: dict[str, Direction] = {}
        self._grants: dict[str, float] = {}
        self._doors: dict[str, dict[int, bool]] = {}

    def last_direction(self, user_id: str) -> Direction | None:
        return self._directions.get(user_id)

    def last_granted_at(self, user_id: str, door: int) -> float | None:
        del door  # repeat entry is site-wide: any reader, any door
        return self._grants.get(user_id)

    def record(self, user_id: str, direction: Direction | None, when: float) -> None:
        """A granted passage (newer ones win; an old backfilled record changes nothing)."""
        if when >= self._grants.get(user_id, float("-inf")):
            self._grants[user_id] = when
            if direction is not None and direction.known:
                self._directions[user_id] = direction

    def open_doors(self, device: str) -> frozenset[int]:
        """Doors of ``device`` whose contact reports open (interlock)."""
        return frozenset(d for d, is_open in self._doors.get(device, {}).items() if is_open)

    def door_states(self, device: str) -> dict[int, bool]:
        """The last contact state reported for each door of ``device`` (True: open)."""
        return dict(self._doors.get(device, {}))

    def door_contact(self, device: str, door: int, *, is_open: bool) -> None:
        """A DoorStatus event."""
        self._doors.setdefault(device, {})[door] = is_open


class OnlineDecider:
    """Answers Modo Online requests (see the module docs)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.history = SiteHistory()
        config = hub.config
        self._lang = config.hub.language
        self._settings = config.online
        self._schedules = {s.number: _schedule(s.days, s.seconds())
                           for s in config.access.schedules}
        self._holidays = frozenset(date.fromisoformat(d) for d in config.access.holidays)
        self._doors: dict[str, dict[int, DoorRule]] = {}
        self._user_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._unconfirmed: dict[str, tuple[float, bool | None]] = {}
        """Presentation key -> (when, granted) of the recent decisions whose answer may
        not have reached the reader: refused (granted None) or late ones of this
        instance, those of an earlier run of it and, in a cluster, the other
        instances' (one of them may have died before answering). A request with one of
        these keys is the reader's own record of that presentation, not a new one."""
        self._numbering = PresentationOccurrences()
        """Keys of this instance's decisions: a second identical presentation (same
        second, card, door) answered by this instance is a decision of its own."""
        self._in_flight: dict[str, tuple[float, bool | None]] = {}
        """Presentation key -> (when, granted) of the decisions not answered yet: the
        same presentation coming meanwhile is the reader's record (it gave up waiting)."""
        self._own: dict[str, float] = {}
        """In a cluster: the keys of this instance's decisions (not unconfirmed)."""
        self._policy: Callable[[PolicyRequest], Any] | None = None
        self._http: httpx.AsyncClient | None = None
        self.decisions = 0

    # -- lifecycle -----------------------------------------------------------------------

    def load(self) -> None:
        """Read the last passage of each person and the last state of each door from the
        store (blocking, at start)."""
        for user_id, direction, ts in self.hub.store.last_passages():
            self.history.record(user_id, _direction(direction), ts or 0.0)
        for device, door, data in self.hub.store.last_door_states():
            status = str(msgspec.json.decode(data).get("Status", "")).lower()
            self.history.door_contact(device, door, is_open=status.startswith("open"))
        since = time.time() - self._settings.live_window_seconds
        for key, received, granted in self.hub.store.recent_keys("online", since):
            self._unconfirmed[key] = (received, bool(granted))

    async def start(self) -> None:
        """Load the policy hook (a bad entry point fails the start, naming it)."""
        settings = self._settings
        if settings.policy:
            self._policy = _load_hook(settings.policy)
        if settings.policy_url:
            self._http = httpx.AsyncClient(timeout=settings.policy_timeout_ms / 1000)

    async def close(self) -> None:
        """Close the HTTP hook's client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- the site's history from every reader --------------------------------------------

    def observe(self, rows: list[dict[str, Any]]) -> None:
        """Writer listener: passages and door contacts of every reader."""
        for row in rows:
            kind = row["kind"]
            if kind == EventKind.ACCESS_CONTROL and row["source"] == "online" \
                    and self.hub.cluster is not None and row["event_key"] not in self._own:
                self._unconfirm(row["event_key"], row["received_at"],
                                granted=bool(row["granted"]))
            if kind == EventKind.ACCESS_CONTROL and row["granted"] and row["user_id"]:
                self.history.record(row["user_id"], _direction(row["direction"]),
                                    row["ts"] or row["received_at"])
                if row["source"] != "online":  # the hub counted its own grants already
                    self._count_use(row["user_id"])
            elif kind == EventKind.DOOR_STATUS and row["door"] is not None:
                status = str(msgspec.json.decode(row["data"]).get("Status", "")).lower()
                self.history.door_contact(row["device"], int(row["door"]),
                                          is_open=status.startswith("open"))

    def _unconfirm(self, key: str, when: float, *, granted: bool | None) -> None:
        self._unconfirmed.pop(key, None)  # re-inserted last: the dict stays in time order
        self._unconfirmed[key] = (when, granted)
        _forget_before(self._unconfirmed, time.time() - self._settings.live_window_seconds)

    def _count_use(self, user_id: str) -> None:
        person = self.hub.people.directory.get(user_id)
        if person is None or person.type != PersonType.GUEST or person.guest_uses is None:
            return
        self.hub.people.directory.count_use(user_id)
        self.hub.spawn(asyncio.to_thread(self.hub.store.people.add_uses, user_id),
                       "guest-use")

    # -- rules -------------------------------------------------------------------------

    def door_rules(self, device: DeviceRuntime) -> dict[int, DoorRule]:
        """The door rules of an online reader: its ``doors`` over ``[access]``."""
        name = device.settings.name
        rules = self._doors.get(name)
        if rules is None:
            access = self.hub.config.access
            rules = {index: DoorRule(index=index, anti_passback=access.anti_passback,
                                     repeat_entry_seconds=access.repeat_entry_seconds)
                     for index in range(8)}
            for door in device.settings.doors:
                rules[door.index] = DoorRule(
                    index=door.index, name=door.name, mode=_MODES[door.mode],
                    requirement=OpenRequirement.parse(door.open_requirement),
                    anti_passback=access.anti_passback if door.anti_passback is None
                    else door.anti_passback,
                    repeat_entry_seconds=access.repeat_entry_seconds
                    if door.repeat_entry_seconds is None else door.repeat_entry_seconds,
                    interlock_with=tuple(door.interlock_with),
                    require_mask=door.require_mask, max_temperature=door.max_temperature)
            self._doors[name] = rules
        return rules

    def rules(self, device: DeviceRuntime) -> AccessRules:
        """The engine's view of the site from ``device``."""
        return self.hub.people.directory.rules_for(
            device.settings.name, doors=self.door_rules(device), schedules=self._schedules,
            holidays=self._holidays, utc_offset_seconds=device.settings.offset_seconds(),
            duress_password=self.hub.config.access.duress_password)

    def presentation(self, raw: RawEvent, event: AccessControlEvent) -> Presentation:
        """What the reader saw, from its request event (see the module docs, 2)."""
        data = raw.data
        factors = factors_of(event.method)
        card_no = event.card_no or None
        user_id = event.user_id or None
        if not factors:  # "card or face" style methods: the fields tell [GUESS]
            factors = frozenset({Factor.CARD}) if card_no else (
                frozenset({Factor.FACE}) if user_id else frozenset())
        typed = data.get("DynPWD")
        password: str | None = None
        verified: set[Factor] = set()
        if Factor.PASSWORD in factors:
            owner = user_id or (self.hub.people.directory.card_owner(card_no)
                                if card_no else None)
            person = self.hub.people.directory.get(owner) if owner else None
            duress = self.hub.config.access.duress_password
            if typed not in (None, "") and duress is not None and str(typed) == duress:
                password = duress  # the engine opens and raises the duress alarm
            elif typed not in (None, ""):
                if person is not None and verify_password(str(typed), person.password_hash):
                    verified.add(Factor.PASSWORD)
                else:
                    password = _NO_MATCH  # a failed second factor
            elif event.error not in _PASSWORD_WRONG:
                verified.add(Factor.PASSWORD)  # the reader checked it
            else:
                password = _NO_MATCH
        biometric = factors & {Factor.FACE, Factor.FINGERPRINT}
        return Presentation(
            door=event.door or 0,
            direction=event.direction if event.direction is not None and event.direction.known
            else Direction.ENTRY,
            card_no=card_no if Factor.CARD in factors else None,
            password=password,
            user_id=user_id if factors == {Factor.PASSWORD} else None,
            face=(user_id or "") if Factor.FACE in biometric else None,
            fingerprint=(user_id or "") if Factor.FINGERPRINT in biometric else None,
            qr=(card_no or user_id) if Factor.QR in factors else None,
            temperature=event.temperature,
            mask=None if event.mask is None or int(event.mask) == 0 else int(event.mask) == 2,
            reader_id=event.reader_id or "1",
            reader_verified=frozenset(verified))

    # -- answering ---------------------------------------------------------------------

    def request_index(self, events: Sequence[Event], now: float) -> int | None:
        """The position of the live access request in a POST, or None."""
        found = [i for i, e in enumerate(events) if isinstance(e, AccessControlEvent)]
        if len(found) != 1:
            return None
        event = events[found[0]]
        assert isinstance(event, AccessControlEvent)  # noqa: S101  # filtered above
        if event.method in _NOT_ASKED:
            return None  # the reader opened by itself and reports it: nothing to decide
        stamp = events[found[0]].timestamp
        window = self._settings.live_window_seconds
        if stamp is not None and abs(now - stamp) > window:
            _LOG.info("access event %.0f s from now treated as history (live_window_seconds"
                      "=%.0f): check the reader's clock if this repeats", now - stamp, window)
            return None
        return found[0]

    async def answer(self, device: DeviceRuntime, raws: Sequence[RawEvent],
                     events: list[Event], images: list[bytes | None]) -> bytes:
        """Decide (when the POST is a request), store, and return the reply body."""
        started = time.perf_counter()
        budget = self._settings.deadline_ms / 1000
        index = self.request_index(events, time.time())
        metrics = self.hub.metrics
        name = device.settings.name
        base = ""
        occurrences: Occurrences = PresentationOccurrences(live=True)
        if index is not None:
            request = events[index]
            assert isinstance(request, AccessControlEvent)  # noqa: S101  # request_index checks
            base = presentation_key(name, request)
            unconfirmed = self._unconfirmed.get(base) or self._in_flight.get(base)
            if unconfirmed is not None:
                if not self._replayed(device, request, unconfirmed):
                    occurrences = Occurrences(live=True)  # a fact of its own: kept
                index = None
        if index is None:
            # As for a push: events without a time are keyed by arrival (two presses of
            # a button in two posts are two events); access events by the presentation,
            # so the reader's own record of a decided presentation is not stored again.
            await self.hub.ingest(device, events, source="push", images=images,
                                  occurrences=occurrences)
            metrics.online_requests.labels(name, "neutral").inc()
            return NEUTRAL_REPLY
        request = events[index]
        assert isinstance(request, AccessControlEvent)  # noqa: S101  # request_index checks
        try:
            async with asyncio.timeout(budget * 0.8):
                async with self._person_lock(request, device):
                    decision_event, granted, message = await self._decide(
                        device, raws[index], request, started)
        except Exception:  # noqa: BLE001  # the reader must get an answer whatever happens
            _LOG.exception("Modo Online decision for %s failed: answering with "
                           "[hub] online_default", device.settings.name)
            granted, message = self._default()
            decision_event = request
        key = self._numbering.key(name, request)
        writes = [_Write([decision_event], [images[index]], "online", {id(decision_event): key})]
        others = [e for i, e in enumerate(events) if i != index]
        if others:  # door status, alarms in the same POST: keyed now, so a retry is a resend
            numbering = PresentationOccurrences(live=True)
            writes.append(_Write(others, [None] * len(others), "push",
                                 {id(e): numbering.key(name, e) for e in others}))
        if self.hub.cluster is not None:
            self._own[key] = time.time()
            _forget_before(self._own, time.time() - self._settings.live_window_seconds)
        self._in_flight[base] = (time.time(), granted)
        try:
            return await self._reply(device, writes, base=base, granted=granted,
                                     message=message, started=started)
        finally:
            self._in_flight.pop(base, None)

    async def _reply(self, device: DeviceRuntime, writes: list[_Write], *, base: str,
                     granted: bool, message: str, started: float) -> bytes:
        """Store the decision (within the deadline if the database allows) and answer."""
        name = device.settings.name
        metrics = self.hub.metrics
        budget = self._settings.deadline_ms / 1000
        first_try: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        store = self.hub.spawn(self._store(device, writes, first_try), "online-store")
        remaining = budget - (time.perf_counter() - started)
        try:
            await asyncio.wait_for(asyncio.shield(first_try), max(0.0, remaining))
        except TimeoutError:
            _LOG.warning("Modo Online: the decision for %s answered before it was stored "
                         "(the database is slow); it is stored when the writer catches up",
                         name)
        except Exception as exc:
            # Not stored, not answered: refused, so the reader decides alone, keeps its
            # own record and sends it when the hub answers again (nothing is lost).
            store.cancel()
            self._unconfirm(base, time.time(), granted=None)  # its record comes back
            metrics.online_requests.labels(name, "unstored").inc()
            raise DecisionNotStoredError(name, exc) from exc
        elapsed = time.perf_counter() - started
        if elapsed >= device.settings.remote_check_timeout:
            # The reader gave up waiting: it decides alone and sends its own record.
            self._unconfirm(base, time.time(), granted=granted)
        metrics.online_requests.labels(device.settings.name,
                                       "granted" if granted else "denied").inc()
        metrics.online_decision_seconds.observe(elapsed)
        self.decisions += 1
        return format_online_reply(granted=granted, message=message)

    async def _store(self, device: DeviceRuntime, writes: list[_Write],
                     first_try: asyncio.Future[None]) -> None:
        """Store a decision (and the other events of its POST); ``first_try`` tells
        :meth:`answer` how the first attempt went. A decision already answered is
        retried until the database takes it (the reader will not send it again); one
        refused is cancelled here by the caller."""
        delay = 0.5
        warned = False
        pending = list(writes)
        while True:
            try:
                while pending:
                    write = pending[0]
                    await self.hub.ingest(device, write.events, source=write.source,
                                          images=write.images,
                                          occurrences=_Keyed(write.keys))
                    pending.pop(0)
                    if not first_try.done():  # the decision (first) is stored: answer
                        first_try.set_result(None)
            except Exception as exc:  # noqa: BLE001  # whatever the database says, retried
                if not first_try.done():
                    # answer() refuses the request (and cancels this), or has answered
                    # already and said the write is late: nothing more to say yet.
                    first_try.set_exception(exc)
                    first_try.exception()  # retrieved: answer() may have stopped waiting
                elif not warned:  # once per request, not once per attempt
                    warned = True
                    _LOG.warning("Modo Online: storing the events of an answered request "
                                 "of %s failed (%s); retried until the database takes them",
                                 device.settings.name, exc)
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311  # jitter
                delay = min(delay * 2, 30.0)
                continue
            if not first_try.done():
                first_try.set_result(None)
            elif warned:
                _LOG.info("Modo Online: the events of a request of %s are stored after "
                          "all", device.settings.name)
            return

    def _replayed(self, device: DeviceRuntime, record: AccessControlEvent,
                  decided: tuple[float, bool | None]) -> bool:
        """The reader sent a presentation the hub already decided: its own record, after
        the hub's reply failed to reach it in time (so it decided alone). True when the
        reader applied the hub's verdict anyway, or the hub's decision was never stored
        (one event); False when the door did otherwise, which is stored as an event of
        its own (what the door did is evidence, next to what the hub decided)."""
        when, granted = decided
        ago = time.time() - when
        name = device.settings.name
        if granted is None:
            _LOG.info("%s sent its own record of a request the hub refused %.1f s earlier "
                      "(the decision could not be stored): stored now", name, ago)
            return True
        if record.granted is None or record.granted == granted:
            _LOG.info("%s sent its own record of a presentation the hub decided %.1f s "
                      "earlier, with the same verdict: stored once", name, ago)
            return True
        _LOG.warning("%s %s a presentation the hub %s %.1f s earlier: the hub's reply did "
                     "not reach it in time and it decided alone; both are stored", name,
                     "granted" if record.granted else "denied",
                     "granted" if granted else "denied", ago)
        return False

    def _default(self) -> tuple[bool, str]:
        allow = self.hub.config.hub.online_default == "allow"
        return allow, self._plain(granted=allow)

    def _plain(self, *, granted: bool) -> str:
        """``Acesso liberado`` / ``Acesso negado`` (no reason to give)."""
        if granted:
            return display_message(EventError.NONE, self._lang)
        return "Acesso negado" if self._lang == "pt" else "Access denied"

    @contextlib.asynccontextmanager
    async def _person_lock(self, request: AccessControlEvent, device: DeviceRuntime
                           ) -> AsyncIterator[None]:
        """One decision at a time per person (by user id, else card number)."""
        key = request.user_id or (request.card_no or "").upper()
        owner = self.hub.people.directory.card_owner(key) if not request.user_id else None
        key = owner or key or f"device:{device.settings.name}"
        lock, users = self._user_locks.get(key, (asyncio.Lock(), 0))
        self._user_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._user_locks[key]
            if users <= 1:
                del self._user_locks[key]
            else:
                self._user_locks[key] = (lock, users - 1)

    async def _decide(self, device: DeviceRuntime, raw: RawEvent,
                      request: AccessControlEvent, started: float
                      ) -> tuple[Event, bool, str]:
        now = time.time()
        presentation = self.presentation(raw, request)
        rules = self.rules(device)
        decision = decide(rules, presentation, now=now, history=self.history,
                          open_doors=self.history.open_doors(device.settings.name))
        person = self.hub.people.directory.get(decision.user_id) if decision.user_id else None
        blocklisted = person is not None and person.type == PersonType.BLOCKLIST
        granted = decision.granted
        message = display_message(decision.error, self._lang, direction=presentation.direction,
                                  blocklisted=blocklisted and not granted)
        decided_by: Literal["engine", "policy", "fallback"] = "engine"
        note: str | None = None
        if self._policy is not None or self._http is not None:
            verdict, note = await self._ask_policy(device, presentation, decision, person, now)
            if verdict is None and note is not None:  # the hook failed or was late
                decided_by = "fallback"
                fallback = self._settings.policy_fallback
                if fallback != "engine":
                    granted = fallback == "allow"
                    message = self._plain(granted=granted)
            elif verdict is not None:
                decided_by = "policy"
                if verdict.granted != granted or verdict.message:
                    granted = verdict.granted
                    message = verdict.message or self._plain(granted=granted)
        user_id = decision.user_id
        if granted and user_id:
            self.history.record(user_id, presentation.direction, now)
            self._count_use(user_id)
        error = decision.error if not granted else EventError.NONE
        if not granted and decision.granted:  # the hook or the fallback refused
            error = EventError.UNAUTHORIZED
        stored = self._decision_event(raw, request, device, decision, granted=granted,
                                      error=error, message=message, decided_by=decided_by,
                                      note=note, started=started)
        _LOG.info("Modo Online %s at %s door %d: %s (%s, %s)", "granted" if granted
                  else "denied", device.settings.name, presentation.door + 1,
                  user_id or "unknown credential", decision.error.text("en"), decided_by)
        return stored, granted, message

    def _decision_event(self, raw: RawEvent, request: AccessControlEvent,
                        device: DeviceRuntime, decision: Decision, *, granted: bool,
                        error: EventError, message: str, decided_by: str, note: str | None,
                        started: float) -> Event:
        data = dict(raw.data)
        data["PorteiroDecision"] = {
            "auth": granted, "message": message, "decided_by": decided_by,
            "reason_code": int(decision.error), "reason": decision.error.text("en"),
            "reason_pt": decision.error.text("pt"), "engine_granted": decision.granted,
            "policy_note": note, "reader_status": data.get("Status"),
            "reader_error": data.get("ErrorCode"),
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        data["Status"] = 1 if granted else 0
        data["ErrorCode"] = int(error)
        if decision.user_id and not data.get("UserID"):
            data["UserID"] = decision.user_id
        if decision.user_name and not data.get("CardName"):
            data["CardName"] = decision.user_name
        if request.method is None and decision.method is not None:
            data["Method"] = int(decision.method)
        settings = device.settings
        offset = settings.utc_offset_timedelta() if settings.local_epochs else None
        return build_event(RawEvent(raw.code, raw.action, raw.index, data, raw.extras),
                           utc_offset=offset)

    # -- the policy hook -------------------------------------------------------------------

    async def _ask_policy(self, device: DeviceRuntime, presentation: Presentation,
                          decision: Decision, person: Person | None, now: float
                          ) -> tuple[PolicyVerdict | None, str | None]:
        """(verdict, None) from a hook that answered; (None, None) when it kept the
        engine's decision; (None, why) when it failed or was late."""
        request = PolicyRequest(
            device=device.settings.name, door=presentation.door,
            direction=str(presentation.direction), user_id=decision.user_id,
            card_no=decision.card_no or presentation.card_no,
            person=None if person is None else {
                "name": person.name, "type": str(person.type), "status": str(person.status),
                "external_id": person.external_id},
            granted=decision.granted, error=int(decision.error),
            reason=decision.error.text("en"), time=now)
        timeout = self._settings.policy_timeout_ms / 1000
        what = self._settings.policy or self._settings.policy_url
        try:
            if self._policy is not None:
                result = await asyncio.wait_for(self._call_python(request), timeout)
            else:
                result = await asyncio.wait_for(self._call_http(request), timeout)
            verdict = _verdict(result)
        except TimeoutError:
            note = f"policy hook {what} did not answer within {timeout * 1000:.0f} ms"
        except Exception as exc:  # noqa: BLE001  # any hook failure falls back, logged
            note = f"policy hook {what} failed: {type(exc).__name__}: {exc}"
        else:
            return verdict, None
        _LOG.warning("%s; falling back to %s", note, self._settings.policy_fallback)
        self.hub.metrics.online_policy_failures.inc()
        return None, note

    async def _call_python(self, request: PolicyRequest) -> _Verdict:
        assert self._policy is not None  # noqa: S101  # checked by the caller
        if inspect.iscoroutinefunction(self._policy):
            result: _Verdict = await self._policy(request)
            return result
        # A blocking hook (a database lookup, say) must not stall every other reader.
        outcome: _Verdict = await asyncio.to_thread(self._policy, request)
        return outcome

    async def _call_http(self, request: PolicyRequest) -> _Verdict:
        assert self._http is not None  # noqa: S101  # checked by the caller
        assert self._settings.policy_url is not None  # noqa: S101  # set with the client
        reply = await self._http.post(self._settings.policy_url,
                                      content=msgspec.json.encode(request),
                                      headers={"content-type": "application/json"})
        reply.raise_for_status()
        if reply.status_code == 204 or not reply.content.strip():
            return None
        payload = reply.json()
        if not isinstance(payload, dict):
            raise TypeError("the policy reply is not a JSON object")
        return payload


class DecisionNotStoredError(PorteiroError):
    """A Modo Online decision could not be stored in time, so it was not answered: the
    reader decides alone and sends its own record later (the device-facing endpoint
    answers 503)."""

    def __init__(self, device: str, cause: BaseException) -> None:
        super().__init__(f"the decision for {device} could not be stored: {cause}")
        self.device = device


@dataclasses.dataclass(frozen=True, slots=True)
class _Write:
    """Events of a Modo Online POST to store, with their keys fixed in advance."""

    events: list[Event]
    images: list[bytes | None]
    source: str
    keys: dict[int, str]
    """``id(event)`` -> key."""


class _Keyed(Occurrences):
    """Keys fixed in advance: a decision's is computed from the request as the reader
    sent it (the stored event carries the hub's verdict and may name the user the reader
    did not), and a retried write must not key events without a time anew."""

    def __init__(self, keys: dict[int, str]) -> None:
        super().__init__(limit=0)
        self._keys = keys

    def key(self, device: str, event: Event) -> str:  # noqa: ARG002  # fixed
        return self._keys[id(event)]


def _forget_before(recent: dict[str, Any], horizon: float) -> None:
    """Drop the entries (oldest first, by insertion) noted before ``horizon``."""
    while recent:
        oldest = next(iter(recent))
        noted = recent[oldest]
        if (noted[0] if isinstance(noted, tuple) else noted) >= horizon:
            return
        del recent[oldest]


def _verdict(result: _Verdict) -> PolicyVerdict | None:
    if result is None or isinstance(result, PolicyVerdict):
        return result
    if isinstance(result, bool):
        return PolicyVerdict(result)
    if isinstance(result, dict):
        if result.get("auth") is None:
            return None
        auth = result["auth"]
        granted = auth.strip().lower() == "true" if isinstance(auth, str) else bool(auth)
        message = result.get("message")
        return PolicyVerdict(granted, str(message) if message else None)
    raise TypeError(f"a policy hook returned {type(result).__name__}; expected "
                    "PolicyVerdict, bool, dict or None")


def _load_hook(spec: str) -> Callable[[PolicyRequest], Any]:
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"online.policy: cannot load {spec!r} ({exc})") from exc
    if not callable(target):
        raise ConfigError(f"online.policy: {spec!r} is not callable")
    hook: Callable[[PolicyRequest], Any] = target
    return hook


def _schedule(days: Sequence[str], windows: tuple[tuple[int, int], ...]) -> Schedule:
    return Schedule(tuple(windows if day in days else () for day in _WEEKDAYS))


def _direction(value: object) -> Direction | None:
    if value is None:
        return None
    try:
        return Direction(str(value))
    except ValueError:
        return None

