"""Everything an emulated device knows, as plain data that persists to a JSON file.

``State`` is the *what* (identity, configuration, users, cards, faces, the record
log, unsent push events, the clock's drift); :mod:`porteiro.emulator.device` is the
*how*. A state file written by one run is read back by the next, so a restarted
emulator keeps its users and history like a real reader keeps its flash.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import msgspec

from porteiro.access import Card, DoorRule, OpenRequirement, User
from porteiro.codes import DoorMode

__all__ = [
    "DeviceIdentity",
    "ErrorStyle",
    "Limits",
    "State",
    "default_config",
    "door_rules",
]

ErrorStyle = Literal["legacy", "json"]


class DeviceIdentity(msgspec.Struct):
    """What ``magicBox.cgi`` reports."""

    model: str = "SS 3530 MF FACE W"
    serial: str = "8K0A1B2C3D4E5F6"
    mac: str = "c0:39:5a:00:00:01"
    firmware: str = "2.000.00IB005.0.R, Build Date 2024-03-12"
    device_type: str = "SS 3530 MF FACE W"
    hardware: str = "1.00"


class Limits(msgspec.Struct):
    """Capacities and rules of the emulated model (from the reference where known)."""

    max_users: int = 10_000
    max_cards: int = 10_000
    max_faces: int = 6_000
    max_batch: int = 10
    """``insertMulti`` and friends take at most 10 items [OFFICIAL]."""
    max_photo_bytes: int = 384 * 1024
    """A JPEG over about 384 KiB is refused (286064923) [SINGLE: bench-measured]."""
    max_streams: int = 8
    max_logins: int = 16
    """Distinct client addresses active (last 60 s) at once; more get TOO_MANY_CONNECTIONS."""
    max_records: int = 300_000
    max_pending_push: int = 100_000
    max_inserts_per_second: int = 0
    """Items accepted by insert/update calls per second (0: no limit); more get
    EXCEED_MAX_INSERT_RATE, like a device that cannot keep up."""
    max_events_per_post: int = 20
    """Largest batch when draining a push backlog (one event per POST otherwise)."""


def default_config(doors: int, mac: str) -> dict[str, Any]:
    """Factory configuration, in the nested shape of ``configManager`` tables."""
    return {
        "AccessControl": [
            {
                "Name": f"Door{index + 1}",
                "Enable": True,
                "State": "Normal",
                "UnlockHoldInterval": 3000,
                "CloseTimeout": 60,
                "SensorEnable": True,
                # Emulator extensions (the real fields are not documented [GUESS]):
                "OpenMethod": "any",
                "AntiPassback": False,
                "RepeatEnterTime": 0,
            }
            for index in range(doors)
        ],
        "AccessControlGeneral": {"DuressPassword": "", "SensorType": "NC"},
        "NTP": {"Enable": False, "Address": "pool.ntp.org", "Port": 123, "UpdatePeriod": 60},
        "Network": {
            "eth0": {
                "IPAddress": "127.0.0.1",
                "SubnetMask": "255.0.0.0",
                "DefaultGateway": "127.0.0.1",
                "DhcpEnable": False,
                "PhysicalAddress": mac,
            }
        },
        "Intelbras_ModeCfg": {
            "DeviceMode": 0,
            "KeepAlive": {"Enable": False, "Interval": 10, "Path": "/keepalive",
                          "TimeOut": 2000},
            "RemoteCheckTimeout": 5,
        },
        "PictureHttpUpload": {
            "Enable": False,
            "UploadServerList": [
                {"Address": "", "Port": 80, "Uploadpath": "/notification", "HttpsEnable": False}
            ],
        },
    }


class State(msgspec.Struct):
    """The mutable state of one emulated device."""

    identity: DeviceIdentity = msgspec.field(default_factory=DeviceIdentity)
    username: str = "admin"
    password: str = "admin123"  # noqa: S105  # the emulator's documented default login
    error_style: ErrorStyle = "json"
    utc_offset_seconds: int = -3 * 3600
    """The device's time zone (Brasília by default): local text times use it."""
    clock_offset: float = 0.0
    """Seconds the device clock is ahead of the real one (setCurrentTime, drift)."""
    limits: Limits = msgspec.field(default_factory=Limits)
    config: dict[str, Any] = msgspec.field(default_factory=lambda: default_config(1, ""))
    users: dict[str, User] = {}
    cards: dict[str, Card] = {}
    faces: dict[str, int] = {}
    """UserID -> size in bytes of the registered photo (the photo itself is not kept)."""
    records: list[dict[str, Any]] = []
    next_rec_no: int = 1
    pending_push: list[dict[str, Any]] = []
    """Events not yet acknowledged by the push server (offline retransmission)."""

    @classmethod
    def new(cls, *, doors: int = 1, **fields: Any) -> State:
        """A factory-fresh device with ``doors`` doors."""
        identity = fields.pop("identity", None) or DeviceIdentity()
        return cls(identity=identity, config=default_config(doors, identity.mac), **fields)

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename): a crash never leaves half a state."""
        data = msgspec.json.encode(self)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> State:
        """Read a state file written by :meth:`save`."""
        return msgspec.json.decode(path.read_bytes(), type=cls)

    def copy(self) -> State:
        """A deep copy (scenarios and tests start from the same fixture)."""
        return copy.deepcopy(self)


def door_rules(config: dict[str, Any]) -> dict[int, DoorRule]:
    """The engine's view of the ``AccessControl[n]`` tables."""
    rules: dict[int, DoorRule] = {}
    for index, door in enumerate(config.get("AccessControl") or []):
        if not isinstance(door, dict):
            continue
        try:
            requirement = OpenRequirement.parse(str(door.get("OpenMethod", "any")))
        except ValueError:
            requirement = OpenRequirement.parse("any")
        rules[index] = DoorRule(
            index=index,
            name=str(door.get("Name", f"Door{index + 1}")),
            mode=DoorMode(str(door.get("State", "Normal"))),
            requirement=requirement,
            anti_passback=_truthy(door.get("AntiPassback")),
            repeat_entry_seconds=_int(door.get("RepeatEnterTime")),
        )
    return rules


def _truthy(value: object) -> bool:
    return value is True or str(value).strip().lower() in {"true", "1"}


def _int(value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0
