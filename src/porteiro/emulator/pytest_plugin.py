"""A pytest plugin: ``emulated_device`` and ``emulator_host`` fixtures.

Installed with Porteiro (entry point ``pytest11``), so any project's tests can do::

    async def test_my_integration(emulated_device):
        device, url = emulated_device
        ...  # talk HTTP to url (admin / admin123), or drive `device` directly

Each test gets a fresh device on a free loopback port; it is stopped afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio

from porteiro.emulator.runner import EmulatorHost

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from porteiro.emulator.device import EmulatedDevice

__all__ = ["emulated_device", "emulator_host"]


@pytest_asyncio.fixture
async def emulator_host() -> AsyncIterator[EmulatorHost]:
    """A host with one emulated device (add more with ``await host.add(...)``)."""
    async with EmulatorHost.start(devices=1) as host:
        yield host


@pytest_asyncio.fixture
async def emulated_device(emulator_host: EmulatorHost) -> tuple[EmulatedDevice, str]:
    """``(device, base_url)`` of a fresh emulated reader."""
    return emulator_host.endpoints[0]
