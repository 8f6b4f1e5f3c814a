"""All sinks of a hub: built from ``[[sinks]]``, started and stopped together.

The hub tells the forwarder when events were committed (:meth:`Forwarder.notify`) and
when a device went online or offline (:meth:`Forwarder.device_status`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from porteiro.forward.metrics import ForwardMetrics
from porteiro.forward.worker import SinkStatus, SinkWorker

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from porteiro.codes import Lang
    from porteiro.forward.base import DoorOpener, Sink
    from porteiro.forward.settings import MqttSinkSettings, WebhookSinkSettings
    from porteiro.store import Store

__all__ = ["Forwarder", "build_sink"]

_LOG = logging.getLogger(__name__)


def build_sink(settings: MqttSinkSettings | WebhookSinkSettings,
               open_door: DoorOpener | None = None) -> Sink:
    """The sink for one ``[[sinks]]`` entry."""
    if settings.type == "webhook":
        from porteiro.forward.webhook import WebhookSink  # noqa: PLC0415  # only if used

        return WebhookSink(settings)
    from porteiro.forward.mqtt import MqttSink  # noqa: PLC0415  # only if used

    return MqttSink(settings, open_door=open_door)


class Forwarder:
    """One worker per sink."""

    def __init__(self, sinks: list[MqttSinkSettings | WebhookSinkSettings], store: Store,
                 registry: CollectorRegistry, *, lang: Lang = "pt",
                 open_door: DoorOpener | None = None) -> None:
        self.metrics = ForwardMetrics(registry)
        self._store = store
        self._lang: Lang = lang
        self._open_door = open_door
        self._settings = {str(s.name): s for s in sinks}
        self.workers = [self._worker(s) for s in sinks]
        self.running: set[str] = set()

    def _worker(self, settings: MqttSinkSettings | WebhookSinkSettings) -> SinkWorker:
        return SinkWorker(build_sink(settings, self._open_door), self._store, self.metrics,
                          lang=self._lang)

    def start(self) -> None:
        """Start every worker (one hub instance)."""
        for worker in self.workers:
            worker.start()
            self.running.add(worker.name)

    async def hold(self, name: str, *, held: bool) -> None:
        """Run sink ``name`` here when this instance holds its lease, else stand by
        (several hub instances: one delivers each sink)."""
        index = next(i for i, w in enumerate(self.workers) if w.name == name)
        worker = self.workers[index]
        if held and name not in self.running:
            if worker.state in ("stopped", "standby"):  # a stopped sink is closed: anew
                worker = self.workers[index] = self._worker(self._settings[name])
            worker.start()
            self.running.add(name)
        elif not held and name in self.running:
            self.running.discard(name)
            await worker.stop()
            worker.state = "standby"
        elif not held:
            worker.state = "standby"

    async def stop(self) -> None:
        """Stop every worker (cursors stay where delivery got to)."""
        await asyncio.gather(*(w.stop() for w in self.workers))

    def notify(self) -> None:
        """Events were committed: wake every worker."""
        for worker in self.workers:
            worker.notify()

    def device_status(self, device: str, *, online: bool) -> None:
        """A device went online or offline."""
        for worker in self.workers:
            try:
                worker.sink.device_status(device, online=online)
            except Exception:  # noqa: BLE001  # one sink's hook must not break the hub
                _LOG.exception("sink %s: device status hook failed", worker.name)

    def status(self) -> list[SinkStatus]:
        """Every sink's state, for ``GET /api/sinks``."""
        return [w.status() for w in self.workers]
