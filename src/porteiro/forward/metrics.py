"""Forwarding metrics, registered in the hub's registry (exposed at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["ForwardMetrics"]


class ForwardMetrics:
    """Per-sink counters and gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.delivered = Counter("porteiro_sink_delivered", "Events delivered, by sink.",
                                 ["sink"], registry=registry)
        self.retried = Counter("porteiro_sink_retried", "Delivery attempts that will be "
                               "retried (receiver down, 5xx, 408, 429...), by sink.", ["sink"],
                               registry=registry)
        self.dead_lettered = Counter("porteiro_sink_dead_lettered", "Events refused for good "
                                     "and dead-lettered, by sink.", ["sink"], registry=registry)
        self.dropped = Counter("porteiro_sink_dropped", "Events dropped undelivered by the "
                               "sink's retention policy, by sink.", ["sink"], registry=registry)
        self.queue = Gauge("porteiro_sink_queue_depth", "Events waiting for the sink.",
                           ["sink"], registry=registry)
        self.lag = Gauge("porteiro_sink_lag_seconds", "Age of the oldest event waiting for "
                         "the sink (0 when it is up to date).", ["sink"], registry=registry)
        self.up = Gauge("porteiro_sink_up", "1 while the sink's last attempt succeeded.",
                        ["sink"], registry=registry)
