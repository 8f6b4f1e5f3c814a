"""An async client for one device (httpx + Digest), with a self-healing event stream.

::

    async with Device("192.168.1.201", password="...") as dev:
        print(await dev.info())
        async with dev.events() as stream:
            async for item in stream:
                ...
"""

from porteiro.device.client import (
    BatchItemResult,
    Device,
    DeviceInfo,
    DoorConfig,
    NetworkConfig,
    SyncDevice,
    redact,
)
from porteiro.device.stream import (
    Connected,
    Disconnected,
    EventStream,
    StreamItem,
    StreamState,
)

__all__ = [
    "BatchItemResult",
    "Connected",
    "Device",
    "DeviceInfo",
    "Disconnected",
    "DoorConfig",
    "EventStream",
    "NetworkConfig",
    "StreamItem",
    "StreamState",
    "SyncDevice",
    "redact",
]
