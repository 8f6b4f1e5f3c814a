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
        self.workers = [SinkWorker(build_sink(s, open_door), store, self.metrics, lang=lang)
                        for s in sinks]

    def start(self) -> None:
        """Start every worker."""
        for worker in self.workers:
            worker.start()

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
