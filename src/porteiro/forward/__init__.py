"""Forwarding: every stored event delivered to webhooks and MQTT, at least once, in
order per device, through a durable outbox (the event log plus a cursor per sink).

See :mod:`porteiro.forward.worker` for the guarantees and how they are kept.
"""

from porteiro.forward.base import (
           Dead,
           Delivered,
           DoorOpener,
           DoorResult,
           Outcome,
           Retry,
           Sink,
           SinkUnavailableError,
)
from porteiro.forward.forwarder import Forwarder, build_sink
from porteiro.forward.settings import MqttSinkSettings, SinkSettings, WebhookSinkSettings
from porteiro.forward.worker import SinkStatus, SinkWorker

__all__ = ["Dead", "Delivered", "DoorOpener", "DoorResult", "Forwarder", "MqttSinkSettings",
           "Outcome", "Retry", "Sink", "SinkSettings", "SinkStatus", "SinkUnavailableError",
           "SinkWorker", "WebhookSinkSettings", "build_sink"]
