"""The server devices talk to: push receiver, keepalive, Modo Online, collectors.

:class:`Hub` is the running state (store, single writer, devices, live bus, metrics);
:func:`device_router` serves the device-facing paths. The whole application (these
plus the REST API) is assembled by :func:`porteiro.api.create_app`.
"""

from porteiro.hub.config import ConfigError, DeviceSettings, HubConfig, load_config
from porteiro.hub.hub import DeviceRuntime, Hub
from porteiro.hub.online import PolicyRequest, PolicyVerdict
from porteiro.hub.receiver import device_router

__all__ = ["ConfigError", "DeviceRuntime", "DeviceSettings", "Hub", "HubConfig",
           "PolicyRequest", "PolicyVerdict", "device_router", "load_config"]
