"""The hub's Prometheus metrics, one registry per hub (tests run many hubs at once).

Exposed at ``GET /metrics`` by :mod:`porteiro.api`. Labels are bounded: device names
come from the configuration (or auto-registration), kinds from :class:`EventKind`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["HubMetrics"]


class HubMetrics:
    """Counters, gauges and histograms of one hub."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_ingested = Counter(
            "porteiro_events_ingested", "Events stored (new, not duplicates), by device, kind "
            "and source.", ["device", "kind", "source"], registry=r)
        self.duplicates = Counter(
            "porteiro_events_duplicate", "Events received again and dropped (resends, live "
            "and backfill overlap), by device.", ["device"], registry=r)
        self.backfilled = Counter(
            "porteiro_events_backfilled", "Events stored from a device's record log that the "
            "live link had missed, by device.", ["device"], registry=r)
        self.decode_errors = Counter(
            "porteiro_decode_errors", "Malformed parts or bodies received from devices, by "
            "device and channel (push, attach).", ["device", "channel"], registry=r)
        self.rejected = Counter(
            "porteiro_device_requests_rejected", "Device-facing requests refused, by reason.",
            ["reason"], registry=r)
        self.device_online = Gauge(
            "porteiro_device_online", "1 when the device is online.", ["device"], registry=r)
        self.push_ack_seconds = Histogram(
            "porteiro_push_ack_seconds", "Time from receiving a push body to answering it "
            "(after the commit).", registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.writer_queue = Gauge(
            "porteiro_writer_queue_depth", "Write jobs waiting for the writer.", registry=r)
        self.stream_subscribers = Gauge(
            "porteiro_stream_subscribers", "Live-stream (SSE) clients connected.", registry=r)
        self.online_requests = Counter(
            "porteiro_online_requests", "Modo Online access requests answered, by device and "
            "answer.", ["device", "answer"], registry=r)
        self.online_decision_seconds = Histogram(
            "porteiro_online_decision_seconds", "Time from receiving a Modo Online request "
            "to answering it (decision, policy hook, storage).", registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.online_policy_failures = Counter(
            "porteiro_online_policy_failures", "Policy hook calls that failed or answered "
            "late (the fallback decided).", registry=r)
