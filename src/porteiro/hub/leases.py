"""Which hub instance collects which attach-mode reader, and delivers which sink:
leases in the database.

Several ``porteiro serve`` instances may share one PostgreSQL database behind a load
balancer: push, Modo Online and API requests need no coordination (any instance
answers; the store keeps every event once), but an attach-mode reader must be
collected by exactly one instance at a time, or its stream would be read twice and
its record log backfilled twice. Each instance therefore holds a lease
(``collector:<device>``, table ``leases``) for every reader it collects and renews it
every ``lease_seconds / 3``; a reader whose lease expired (its instance died or lost
the database) is taken over by another instance within ``lease_seconds`` plus one
renewal. An instance that cannot renew (database unreachable) stops its collectors
when its own lease runs out, so two instances never collect one reader at once,
provided their clocks agree to well within ``lease_seconds`` (NTP).

Sinks are leased the same way (``sink:<name>``): one instance delivers each sink; the
others stand by and take over from the sink's cursor (at least once: a batch in flight
when an instance dies may be delivered again).

With one instance (and with SQLite) the leases are simply always held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from porteiro.hub.collector import Collector

if TYPE_CHECKING:
    from porteiro.hub.hub import Hub

__all__ = ["LeaseKeeper"]

_LOG = logging.getLogger(__name__)


def collector_lease(device: str) -> str:
    """The lease name of a reader's collector."""
    return f"collector:{device}"


def sink_lease(sink: str) -> str:
    """The lease name of a sink's delivery."""
    return f"sink:{sink}"


class LeaseKeeper:
    """Takes, renews and gives back this instance's collector leases."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.owner = hub.config.hub.instance()
        self.ttl = hub.config.hub.lease_seconds
        self.held_until: dict[str, float] = {}
        """Lease -> when ours runs out (by our clock)."""

    async def round(self) -> None:
        """One pass: take or renew a lease for every attach reader and every sink (one
        transaction for all); run the collectors and sinks held, stop the others."""
        readers = [r.settings.name for r in list(self.hub.devices.values())
                   if r.settings.mode == "attach"]
        sinks = [w.name for w in list(self.hub.forwarder.workers)]
        wanted = [collector_lease(n) for n in readers] + [sink_lease(n) for n in sinks]
        held = await self._take(wanted)
        for name in readers:
            state = held.get(collector_lease(name))
            if state is True:
                self._start(name)
            elif state is False:
                await self._stop(name)
        for name in sinks:
            state = held.get(sink_lease(name))
            if state is not None:
                await self.hub.forwarder.hold(name, held=state)

    async def _take(self, wanted: list[str]) -> dict[str, bool | None]:
        """Take or renew the leases: held or not; None to change nothing (the database
        is away and our lease has not run out yet)."""
        started = time.time()
        try:
            got = await asyncio.to_thread(self.hub.store.acquire_leases, wanted,
                                          self.owner, self.ttl, started)
        except Exception as exc:  # noqa: BLE001  # the database may be away
            _LOG.warning("leases not renewed (%s); keeping those still running", exc)
            now = time.time()
            return {lease: None if self.held_until.get(lease, 0.0) > now else False
                    for lease in wanted}
        out: dict[str, bool | None] = {}
        for lease in wanted:
            if lease in got:
                if lease not in self.held_until:
                    _LOG.info("instance %s now holds %s", self.owner, lease)
                self.held_until[lease] = started + self.ttl
                out[lease] = True
            else:
                if self.held_until.pop(lease, None) is not None:
                    _LOG.info("instance %s no longer holds %s", self.owner, lease)
                out[lease] = False
        return out

    def _start(self, name: str) -> None:
        if name in self.hub.collectors:
            return
        runtime = self.hub.devices[name]
        collector = Collector(runtime.settings, runtime.id, self.hub)
        collector.start()
        self.hub.collectors[name] = collector

    async def _stop(self, name: str) -> None:
        collector = self.hub.collectors.pop(name, None)
        if collector is not None:
            await collector.close()

    async def run(self) -> None:
        """Renew forever (a tracked task of the hub)."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.round()
            except Exception:  # noqa: BLE001  # keep renewing whatever happened
                _LOG.exception("lease round failed; retrying")

    async def release(self) -> None:
        """Stop every collector and sink held and give the leases back (a clean shutdown
        hands them over at once instead of after ``lease_seconds``)."""
        for lease in list(self.held_until):
            kind, _, name = lease.partition(":")
            if kind == "collector":
                await self._stop(name)
            elif kind == "sink":
                await self.hub.forwarder.hold(name, held=False)
            self.held_until.pop(lease, None)
            try:
                await asyncio.to_thread(self.hub.store.release_lease, lease, self.owner)
            except Exception as exc:  # noqa: BLE001  # it expires by itself anyway
                _LOG.warning("could not release %s: %s", lease, exc)
