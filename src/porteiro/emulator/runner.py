"""Run emulated devices on loopback ports: standalone, or as an async context manager.

::

    async with EmulatorHost.start(devices=3, base_port=0) as host:
        for device, url in host.endpoints:
            ...

Port 0 picks free ports (tests). Every device has its own state, serial and port.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from porteiro.emulator.device import EmulatedDevice
from porteiro.emulator.service import build_app
from porteiro.emulator.state import DeviceIdentity, State
from porteiro.emulator.uplink import Uplink, new_session

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

__all__ = ["EmulatorHost", "make_state"]


def make_state(index: int = 0, *, doors: int = 1, **fields: object) -> State:
    """A fresh device state with a serial and MAC of its own."""
    identity = DeviceIdentity(serial=f"EMU{index:09d}",
                              mac=f"c0:39:5a:{(index >> 16) & 255:02x}:{(index >> 8) & 255:02x}:"
                                  f"{index & 255:02x}")
    return State.new(doors=doors, identity=identity, **fields)


@dataclass
class EmulatorHost:
    """Several emulated devices served from one process."""

    host: str = "127.0.0.1"
    devices: list[EmulatedDevice] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)
    _client: aiohttp.ClientSession | None = None

    @classmethod
    def start(cls, *, devices: int = 1, base_port: int = 0, host: str = "127.0.0.1",
              states: list[State] | None = None, state_dir: Path | None = None,
              state_files: list[Path] | None = None) -> _Starter:
        """An async context manager that starts the devices and stops them on exit.

        ``states`` gives the initial states; ``state_files`` (or ``state_dir``, one
        ``device-N.json`` each) persist them and are read back when they exist.
        """
        if state_files is None and state_dir is not None:
            state_files = [state_dir / f"device-{i}.json" for i in range(devices)]
        return _Starter(cls(host=host), devices, base_port, states, state_files)

    @property
    def endpoints(self) -> list[tuple[EmulatedDevice, str]]:
        """Each device with its base URL."""
        return [(d, f"http://{self.host}:{p}") for d, p in zip(self.devices, self.ports,
                                                              strict=True)]

    async def add(self, device: EmulatedDevice, port: int = 0) -> int:
        """Serve one more device; returns its port."""
        runner = web.AppRunner(build_app(device), handle_signals=False, access_log=None,
                               shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, reuse_address=True)
        await site.start()
        server = site._server  # noqa: SLF001  # aiohttp exposes the bound port only here
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self._runners.append(runner)
        if self._client is None:
            # One HTTP client (and one TLS context) for the whole fleet's uploads.
            self._client = new_session()
        device.uplink = Uplink(device, client=self._client)
        await device.uplink.start()
        self.devices.append(device)
        self.ports.append(bound)
        return int(bound)

    async def close(self) -> None:
        """Stop every device (streams are dropped first so that shutdown is quick)."""
        for device in self.devices:
            device.drop_streams()
            await device.stop_tasks()
            if device.uplink is not None:
                await device.uplink.close()
            with contextlib.suppress(OSError):
                device.flush()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None


class _Starter:
    def __init__(self, host: EmulatorHost, count: int, base_port: int,
                 states: list[State] | None, state_files: list[Path] | None) -> None:
        self._host = host
        self._count = count
        self._base_port = base_port
        self._states = states
        self._state_files = state_files

    async def __aenter__(self) -> EmulatorHost:
        host = self._host
        try:
            for index in range(self._count):
                state_file = self._state_files[index] if self._state_files else None
                if state_file is not None and state_file.exists():
                    state = State.load(state_file)
                elif self._states is not None:
                    state = self._states[index]
                else:
                    state = make_state(index)
                port = self._base_port + index if self._base_port else 0
                await host.add(EmulatedDevice(state, state_file=state_file), port)
        except BaseException:
            await host.close()
            raise
        return host

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._host.close()
