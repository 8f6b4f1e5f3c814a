"""The hub's HTTP application: device-facing paths plus the REST API.

:func:`create_app` builds the FastAPI application for a configuration: the device
routes of :mod:`porteiro.hub.receiver` and the API (events, live stream, devices,
codes, health, metrics) with bearer-token authentication. OpenAPI at ``/docs``.
"""

from porteiro.api.app import create_app

__all__ = ["create_app"]
