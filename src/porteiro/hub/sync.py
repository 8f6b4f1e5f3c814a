"""Pushing the site's people to the readers, in the background.

:class:`SyncManager` keeps every reader's people equal to the hub's (with
:func:`porteiro.device.sync.sync_people`). Which readers: the configured devices whose
mode is in ``[people] sync_modes`` and that have a password (the others are reported
as skipped, with the reason).

* :meth:`SyncManager.schedule` asks for a sync and returns at once. Each device has one
  worker task: its runs never overlap, requests arriving while it runs cause exactly
  one more run, and a burst of requests collapses into one.
* :meth:`SyncManager.run` syncs now and returns the results (tests, the CLI's future).
* Per device and person, the outcome is kept in the store's ``sync_status`` table:
  ``pending`` when a run starts for a person whose data differs from what was last
  applied (or who must be removed), then ``applied``, or ``failed`` with the device's
  decoded error. The fingerprint of what the device holds is kept there too, so a
  re-run sends nothing (passwords and photos cannot be read back from a reader).
* A reader that cannot be reached keeps its people pending; it is synced again when it
  comes back (:meth:`SyncManager.device_online`, called by :meth:`Hub.contact` when a
  device comes online: a push, a keepalive, or an attach collector connecting), and
  retried with a growing delay meanwhile.
* With ``[people] auto_sync`` every committed change of the people database schedules a
  sync of every reader.

Logs never show passwords or photos, and card numbers only redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from porteiro.access.people import PersonStatus
from porteiro.device import Device
from porteiro.device.sync import DeviceCard, SyncReport, fingerprint, sync_people
from porteiro.device.sync import Person as DevicePerson
from porteiro.exceptions import AuthenticationError, DeviceConnectionError, PorteiroError
from porteiro.store.people import SyncRow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from porteiro.access.people import Person
    from porteiro.device.sync import PersonResult
    from porteiro.hub.hub import DeviceRuntime, Hub

__all__ = ["DeviceSyncResult", "SyncManager", "device_person"]

_LOG = logging.getLogger(__name__)

SyncState = Literal["idle", "queued", "running", "offline", "error", "skipped"]
_RETRY_DELAYS = (30.0, 60.0, 120.0, 300.0, 600.0)
_LOGGED_FAILURES = 20


def device_person(person: Person, device: str, *, passwords: bool = True
                  ) -> DevicePerson | None:
    """What reader ``device`` should hold of ``person`` (None: the person has no doors
    there and must not be on it). ``passwords`` false: no password is sent."""
    doors = person.doors_on(device)
    if not doors:
        return None
    return DevicePerson(
        user_id=person.user_id, name=person.name,
        cards=tuple(DeviceCard(c.card_no.upper(), int(c.card_type), int(c.status.card_status))
                    for c in person.cards),
        doors=tuple(doors), password=person.device_password if passwords else None,
        user_type=int(person.type.user_type),
        status=1 if person.status == PersonStatus.FROZEN else 0,
        valid_from=person.valid_from, valid_to=person.valid_to,
        time_sections=tuple(person.time_sections), holiday_schedule=person.holiday_schedule,
        use_time=person.uses_left(), face_sha256=person.face_sha256)


class DeviceSyncResult(msgspec.Struct):
    """One device's run: ``state`` is ``idle`` (done; people may still have failed),
    ``offline``, ``error`` or ``skipped``, with the reason for the last three."""

    device: str
    state: SyncState
    reason: str | None = None
    report: SyncReport | None = None

    def counts(self) -> dict[str, int]:
        """The run's counts (people applied/unchanged/failed/removed, items changed)."""
        report = self.report
        if report is None:
            return {}
        return {"applied": report.count("applied"), "unchanged": report.count("unchanged"),
                "failed": report.count("failed"), "removed": report.count("removed"),
                "users_added": report.users_added, "users_updated": report.users_updated,
                "users_removed": report.users_removed, "cards_added": report.cards_added,
                "cards_updated": report.cards_updated, "cards_removed": report.cards_removed,
                "faces_added": report.faces_added, "faces_removed": report.faces_removed}


class _DeviceSync:
    """One device's sync bookkeeping (in memory)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: SyncState = "idle"
        self.reason: str | None = None
        self.last_run: float | None = None
        self.last_finished: float | None = None
        self.last_counts: dict[str, int] | None = None
        self.pending = False
        """People may differ from the device (a run is owed when it comes back)."""
        self.failures = 0
        self.retry_at: float | None = None
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None


class SyncManager:
    """Background people sync to every eligible reader of a hub."""

    debounce = 0.2
    """Seconds a worker waits after being woken, so that a burst of changes is one run."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._devices: dict[str, _DeviceSync] = {}
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Register on people changes (``auto_sync``) and resume devices left pending
        by an earlier run of the hub."""
        self._started = True
        if self.hub.config.people.auto_sync:
            self.hub.people.on_change.append(self._changed)
        counts = await asyncio.to_thread(self.hub.store.people.sync_counts)
        owed = [name for name, runtime in self.hub.devices.items()
                if counts.get(runtime.id, {}).get("pending")
                or counts.get(runtime.id, {}).get("failed")]
        if owed:
            self.schedule(owed)

    async def stop(self) -> None:
        """Stop the workers (a run in progress is cancelled; its people stay pending)."""
        self._started = False
        with contextlib.suppress(ValueError):
            self.hub.people.on_change.remove(self._changed)
        tasks = [s.task for s in self._devices.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- which devices -------------------------------------------------------------------

    def skip_reason(self, name: str) -> str | None:
        """Why device ``name`` does not get people (None: it does)."""
        runtime = self.hub.devices.get(name)
        if runtime is None:
            return "unknown device"
        settings = runtime.settings
        if settings.mode not in self.hub.config.people.sync_modes:
            return f"mode {settings.mode} is not in [people] sync_modes"
        if not settings.password:
            return "no password configured for this device"
        return None

    def _state(self, name: str) -> _DeviceSync:
        state = self._devices.get(name)
        if state is None:
            state = self._devices[name] = _DeviceSync(name)
        return state

    # -- asking for syncs ----------------------------------------------------------------

    def schedule(self, devices: Sequence[str] | None = None) -> dict[str, str | None]:
        """Sync ``devices`` (default: every device) in the background; returns each
        device with None when scheduled, or the reason it is skipped."""
        names = list(self.hub.devices) if devices is None else list(dict.fromkeys(devices))
        out: dict[str, str | None] = {}
        for name in names:
            reason = self.skip_reason(name)
            out[name] = reason
            if reason is not None:
                continue
            state = self._state(name)
            state.pending = True
            state.wake.set()
            if state.state != "running":
                state.state = "queued"
            self._ensure_worker(state)
        return out

    def _ensure_worker(self, state: _DeviceSync) -> None:
        if self._started and (state.task is None or state.task.done()):
            state.task = self.hub.spawn(self._worker(state), f"people-sync-{state.name}")

    async def run(self, devices: Sequence[str] | None = None) -> dict[str, DeviceSyncResult]:
        """Sync ``devices`` (default: every device) now; returns each device's result
        (runs of different devices go in parallel; a device's runs never overlap)."""
        names = list(self.hub.devices) if devices is None else list(dict.fromkeys(devices))
        results: dict[str, DeviceSyncResult] = {}
        eligible = []
        for name in names:
            reason = self.skip_reason(name)
            if reason is not None:
                results[name] = DeviceSyncResult(name, "skipped", reason)
            else:
                eligible.append(name)
        done = await asyncio.gather(*(self._run_one(self._state(n)) for n in eligible))
        results.update(zip(eligible, done, strict=True))
        return results

    def _changed(self, user_ids: Sequence[str]) -> None:
        """``PeopleService.on_change``: people changed; every reader needs a run."""
        if user_ids and self._started:
            self.schedule([n for n in self.hub.devices if self.skip_reason(n) is None])

    def device_online(self, runtime: DeviceRuntime) -> None:
        """A device just came online: sync it if it owes a run."""
        state = self._devices.get(runtime.settings.name)
        if self._started and state is not None and state.pending and (
                self.skip_reason(runtime.settings.name) is None):
            _LOG.info("people sync: device %s is back; syncing", runtime.settings.name)
            self.schedule([runtime.settings.name])

    # -- the work ------------------------------------------------------------------------

    async def _worker(self, state: _DeviceSync) -> None:
        while True:
            timeout = None if state.retry_at is None else max(
                0.0, state.retry_at - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.wake.wait(), timeout)
            if not state.wake.is_set() and (state.retry_at is None
                                            or state.retry_at > time.monotonic()):
                continue  # the retry was made moot by a run in between
            if self.debounce:
                await asyncio.sleep(self.debounce)
            try:
                await self._run_one(state)
            except Exception:  # noqa: BLE001  # a worker must survive anything, and say so
                _LOG.exception("people sync of %s crashed", state.name)
                state.state, state.reason = "error", "internal error (see the hub's log)"
                state.retry_at = time.monotonic() + _RETRY_DELAYS[-1]

    async def _run_one(self, state: _DeviceSync) -> DeviceSyncResult:
        async with state.lock:
            state.wake.clear()  # this run covers every request made so far
            runtime = self.hub.devices.get(state.name)
            reason = self.skip_reason(state.name)
            if runtime is None or reason is not None:
                state.state, state.reason = "skipped", reason
                return DeviceSyncResult(state.name, "skipped", reason)
            state.state, state.reason = "running", None
            state.last_run = time.time()
            try:
                result = await self._sync(runtime)
            except BaseException:
                state.state = "queued" if state.wake.is_set() else "idle"
                raise
            state.last_finished = time.time()
            if result.report is not None:
                state.last_counts = result.counts()
            if result.state == "idle":
                state.pending = False
                state.failures = 0
                state.retry_at = None
            else:  # owed: retried later, and when the device comes back
                state.pending = True
                delay = _RETRY_DELAYS[min(state.failures, len(_RETRY_DELAYS) - 1)]
                state.failures += 1
                state.retry_at = time.monotonic() + delay
                self._ensure_worker(state)
            state.state, state.reason = result.state, result.reason
            if state.wake.is_set():
                state.state = "queued"
            return result

    async def _sync(self, runtime: DeviceRuntime) -> DeviceSyncResult:
        settings = runtime.settings
        name = settings.name
        store = self.hub.store.people
        offset = settings.utc_offset_timedelta()
        passwords = self.hub.config.people.device_passwords
        people = list(self.hub.people.directory.people.values())  # a snapshot
        desired = [d for d in (device_person(p, name, passwords=passwords) for p in people)
                   if d is not None]
        prints = {d.user_id: fingerprint(d, offset) for d in desired}
        rows = await asyncio.to_thread(store.sync_states, runtime.id)
        owed = [SyncRow(uid, "pending", row.fingerprint if row is not None else None)
                for uid, fp in prints.items()
                if (row := rows.get(uid)) is None or (row.state == "applied"
                                                     and row.fingerprint != fp)]
        owed += [SyncRow(uid, "pending", row.fingerprint) for uid, row in rows.items()
                 if uid not in prints and row.state != "pending"]
        await asyncio.to_thread(store.set_sync, runtime.id, owed)
        known = {uid: row.fingerprint for uid, row in rows.items() if row.fingerprint}

        remove_unknown = self.hub.config.people.remove_unknown

        def removable(user_id: str) -> bool:
            # Users the hub never put on this reader stay unless remove_unknown: adding
            # Porteiro to a running site must not wipe the readers' existing people.
            return remove_unknown or user_id in rows

        async def load_face(user_id: str) -> bytes | None:
            return await asyncio.to_thread(store.get_face, user_id)

        try:
            async with Device(f"{settings.host}:{settings.port}", user=settings.user,
                              password=settings.password, https=settings.https,
                              verify=settings.verify_tls, utc_offset=offset) as device:
                report = await sync_people(device, desired, known=known, utc_offset=offset,
                                           load_face=load_face, removable=removable)
        except DeviceConnectionError as exc:
            _LOG.warning("people sync of %s: device unreachable (%s); its people stay "
                         "pending", name, exc)
            return DeviceSyncResult(name, "offline", f"unreachable: {exc}")
        except AuthenticationError as exc:
            _LOG.error("people sync of %s: credentials refused (%s)", name, exc)
            return DeviceSyncResult(name, "error", f"credentials refused: {exc}")
        except PorteiroError as exc:
            _LOG.warning("people sync of %s failed: %s", name, exc)
            return DeviceSyncResult(name, "error", str(exc))
        await asyncio.to_thread(self._record, runtime.id, rows, prints, report)
        self._log(name, report)
        return DeviceSyncResult(name, "idle", None, report)

    def _record(self, device_id: int, rows: dict[str, SyncRow], prints: dict[str, str],
                report: SyncReport) -> None:
        """Persist the run's outcome per person (blocking)."""
        store = self.hub.store.people
        updates: list[SyncRow] = []
        forget: list[str] = []
        for user_id, result in report.people.items():
            if result.state == "removed":
                forget.append(user_id)
                continue
            row = rows.get(user_id)
            if result.state == "failed":
                updates.append(SyncRow(user_id, "failed", result.fingerprint,
                                       int(result.error) if result.error is not None else None,
                                       _error_text(result)))
            elif row is None or row.state != "applied" or row.fingerprint != result.fingerprint:
                updates.append(SyncRow(user_id, "applied", result.fingerprint))
        # Rows of people neither wanted on the device nor found on it.
        forget += [uid for uid in rows if uid not in prints and uid not in report.people]
        store.set_sync(device_id, updates)
        if forget:
            store.forget_sync(device_id, forget)

    @staticmethod
    def _log(name: str, report: SyncReport) -> None:
        failed = [r for r in report.people.values() if r.state == "failed"]
        if report.changes or failed:
            _LOG.info("people sync of %s: %d applied, %d unchanged, %d removed, %d failed "
                      "(%d change(s) on the device)", name, report.count("applied"),
                      report.count("unchanged"), report.count("removed"), len(failed),
                      report.changes)
        for result in failed[:_LOGGED_FAILURES]:
            _LOG.warning("people sync of %s: person %s refused: %s", name, result.user_id,
                         _error_text(result))
        if len(failed) > _LOGGED_FAILURES:
            _LOG.warning("people sync of %s: ... and %d more failure(s) (GET /api/sync)", name,
                         len(failed) - _LOGGED_FAILURES)

    # -- state -----------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Every device's sync state (``idle``, ``queued``, ``running``, ``offline``,
        ``error``, ``skipped``), reason, last run and its counts."""
        out = []
        for name, runtime in self.hub.devices.items():
            reason = self.skip_reason(name)
            state = self._devices.get(name)
            entry: dict[str, Any] = {
                "device": name, "device_id": runtime.id, "mode": runtime.settings.mode,
                "online": runtime.online, "state": "skipped" if reason else "idle",
                "reason": reason, "last_run": None, "last_finished": None,
                "last_result": None}
            if state is not None and reason is None:
                entry.update(state=state.state, reason=state.reason, last_run=state.last_run,
                             last_finished=state.last_finished, last_result=state.last_counts)
            out.append(entry)
        return out

    def busy(self) -> bool:
        """Whether any device's sync is queued or running."""
        return any(s.state in ("queued", "running") for s in self._devices.values())


def _error_text(result: PersonResult) -> str:
    """``face: The photo is too large`` (English; the API adds pt-BR from the code)."""
    return result.describe("en")
