"""Hub configuration: a TOML file plus ``PORTEIRO_*`` environment variables (pydantic).

Invalid configuration fails at start with a message that names the key and the problem.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from porteiro.exceptions import ConfigError
from porteiro.forward.settings import (
    KIND_ALIASES,
    MqttSinkSettings,
    SinkSettings,
    WebhookSinkSettings,
)

__all__ = ["KIND_ALIASES", "AccessSettings", "ConfigError", "DeviceSettings", "DoorSettings",
           "HubConfig", "HubSettings", "MqttSinkSettings", "OnlineSettings", "PeopleSettings",
           "ScheduleSettings", "SinkSettings", "TokenSettings", "WebhookSinkSettings",
           "load_config"]


class HubSettings(BaseModel):
    """``[hub]``."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:8000"
    data_dir: Path = Path("./porteiro-data")
    database_url: str | None = None
    push_path: str = "/notification"
    keepalive_path: str = "/keepalive"
    auto_register: bool = False
    device_networks: list[str] = Field(default_factory=list)
    offline_after: float = Field(default=120.0, gt=0)
    flush_interval: float = Field(default=5.0, gt=0)
    retention_days: float | None = Field(default=None, gt=0)
    snapshot_retention_days: float | None = Field(default=90.0, gt=0)
    max_snapshots: int | None = Field(default=100_000, ge=0)
    online_default: Literal["deny", "allow"] = "deny"
    timezone: str = "America/Sao_Paulo"
    language: Literal["pt", "en"] = "pt"
    instance_id: str | None = Field(default=None, min_length=1, max_length=200)
    """This hub instance's name in the ``leases`` table (several instances on one
    PostgreSQL database); default ``<host name>:<listen>``, the same across restarts,
    so a restarted instance takes its readers back at once."""
    cluster: bool = False
    """Several instances share this (PostgreSQL) database: each publishes every
    instance's events to its live stream and site history, and reloads people changed
    elsewhere (see docs/scaling.md)."""
    lease_seconds: float = Field(default=15.0, ge=1.0, le=600.0)
    """How long an attach reader's collector lease lasts: a dead instance's readers are
    taken over within this plus a third of it."""

    @field_validator("device_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an address or network "
                                 "(e.g. 192.168.1.0/24)") from None
        return value

    @field_validator("push_path", "keepalive_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") == "":
            raise ValueError('use an absolute path such as "/notification"')
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. America/Sao_Paulo)") from None
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("use HOST:PORT, e.g. 127.0.0.1:8000")
        return value

    @model_validator(mode="after")
    def _cluster_needs_postgresql(self) -> HubSettings:
        if self.cluster and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("cluster = true needs a PostgreSQL database_url (instances "
                             "share one database)")
        return self

    def instance(self) -> str:
        """``instance_id``, or ``<host name>:<listen>``."""
        return self.instance_id or f"{socket.gethostname()}:{self.listen}"

    def url(self) -> str:
        """The database URL (SQLite in ``data_dir`` unless ``database_url`` is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'porteiro.db'}"


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleSettings(BaseModel):
    """``[[access.schedules]]``: a weekly time section people refer to by number.

    ``windows`` are ``"HH:MM-HH:MM"`` (end included) for the listed ``days``
    (``mon`` .. ``sun``; default every day). Numbers must match the readers' own
    ``AccessTimeSchedule`` slots when people are synced to readers [GUESS: the hub does
    not write the readers' schedule table]."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1, le=254)
    name: str = ""
    days: list[str] = Field(default_factory=lambda: list(_WEEKDAYS))
    windows: list[str] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        unknown = [d for d in days if d not in _WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {', '.join(unknown)}: use mon, tue, ... sun")
        return days

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for window in value:
            start, sep, end = window.partition("-")
            if not sep or not _TIME.match(start.strip()) or not _TIME.match(end.strip()):
                raise ValueError(f"{window!r} is not a window such as \"08:00-18:00\"")
        return value

    def seconds(self) -> tuple[tuple[int, int], ...]:
        """The windows as (start, end) seconds of the day."""
        out = []
        for window in self.windows:
            start, _, end = window.partition("-")
            out.append((_clock_seconds(start), _clock_seconds(end)))
        return tuple(out)


def _clock_seconds(text: str) -> int:
    match = _TIME.match(text.strip())
    assert match is not None  # noqa: S101  # validated
    return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)


class DoorSettings(BaseModel):
    """``[[devices.doors]]``: how the hub decides for one door of an online reader
    (unset keys take ``[access]``'s values)."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, le=7)
    name: str = ""
    mode: Literal["normal", "always_open", "always_closed"] = "normal"
    open_requirement: str = "any"
    anti_passback: bool | None = None
    repeat_entry_seconds: int | None = Field(default=None, ge=0)
    interlock_with: list[int] = Field(default_factory=list)
    require_mask: bool = False
    max_temperature: float | None = None

    @field_validator("open_requirement")
    @classmethod
    def _requirement(cls, value: str) -> str:
        from porteiro.access import OpenRequirement  # noqa: PLC0415  # config stays light

        try:
            OpenRequirement.parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}; use e.g. \"any\", \"card+password\", "
                             "\"card|face\"") from None
        return value


class AccessSettings(BaseModel):
    """``[access]``: the site's rules for Modo Online decisions."""

    model_config = ConfigDict(extra="forbid")

    anti_passback: bool = False
    """Entry and exit must alternate, across every reader of the site."""
    repeat_entry_seconds: int = Field(default=0, ge=0)
    """A person let in may not pass again (at any reader) for this long."""
    schedules: list[ScheduleSettings] = Field(default_factory=list)
    holidays: list[str] = Field(default_factory=list)
    """Dates (``YYYY-MM-DD``) when people's holiday schedule applies."""
    duress_password: str | None = Field(default=None, repr=False)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[str]) -> list[str]:
        from datetime import date  # noqa: PLC0415

        for text in value:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date such as 2026-12-25") from None
        return value

    @field_validator("schedules")
    @classmethod
    def _unique(cls, value: list[ScheduleSettings]) -> list[ScheduleSettings]:
        numbers = [s.number for s in value]
        duplicated = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicated:
            raise ValueError(f"schedule numbers must be unique: {duplicated}")
        return value


class OnlineSettings(BaseModel):
    """``[online]``: how the hub answers Modo Online requests."""

    model_config = ConfigDict(extra="forbid")

    deadline_ms: int = Field(default=1500, ge=50, le=30_000)
    """The hub always answers within this budget (keep it below every online reader's
    ``remote_check_timeout``)."""
    policy: str | None = Field(default=None, pattern=r"^[\w.]+:[\w.]+$")
    """A Python hook ``package.module:function`` that may override each decision."""
    policy_url: str | None = Field(default=None, pattern=r"^https?://")
    """An HTTP hook: the decision is POSTed as JSON; the reply may override it."""
    policy_timeout_ms: int = Field(default=800, ge=10, le=30_000)
    policy_fallback: Literal["deny", "allow", "engine"] = "deny"
    """What a failed or late hook means: deny, allow, or keep the engine's decision."""
    live_window_seconds: float = Field(default=300.0, gt=0)
    """An access event older than this (by the reader's clock) is history the reader
    decided alone while the hub was away, not a request: stored, answered neutrally."""

    @model_validator(mode="after")
    def _one_hook(self) -> OnlineSettings:
        if self.policy and self.policy_url:
            raise ValueError("give at most one of policy and policy_url")
        if (self.policy or self.policy_url) and self.policy_timeout_ms >= self.deadline_ms:
            raise ValueError(f"policy_timeout_ms ({self.policy_timeout_ms}) must be below "
                             f"deadline_ms ({self.deadline_ms})")
        return self


class PeopleSettings(BaseModel):
    """``[people]``."""

    model_config = ConfigDict(extra="forbid")

    auto_sync: bool = True
    """Push every change to the readers in the background."""
    device_passwords: bool = True
    """Keep people's passwords in clear for the readers (they check typed passwords
    themselves). Off: only a hash is kept and passwords are not sent to readers."""
    sync_modes: list[Literal["attach", "push", "online"]] = Field(
        default=["attach", "push", "online"])
    """Which readers get the people (by their mode); only readers with a password set."""
    max_photo_bytes: int = Field(default=384 * 1024, gt=0)
    remove_unknown: bool = False
    """Also remove from the readers the users the hub never put there (someone
    registered them on the reader). Off: only people the hub synced and then deleted or
    moved are removed, so adding Porteiro to a running site wipes nothing."""


class TokenSettings(BaseModel):
    """``[[tokens]]``: API bearer tokens."""

    model_config = ConfigDict(extra="forbid")

    name: str
    token: str | None = Field(default=None, min_length=8, repr=False)
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    scope: Literal["admin", "read"] = "read"

    @model_validator(mode="after")
    def _one_secret(self) -> TokenSettings:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token and token_sha256")
        return self

    def digest(self) -> str:
        """The SHA-256 (hex) the hub keeps in memory instead of the token."""
        if self.token_sha256 is not None:
            return self.token_sha256.lower()
        assert self.token is not None  # noqa: S101  # validated above
        return hashlib.sha256(self.token.encode("utf-8")).hexdigest()


_OFFSET = re.compile(r"^([+-])(\d{1,2}):(\d{2})$")


class DeviceSettings(BaseModel):
    """``[[devices]]``: one reader."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    host: str
    port: int = Field(default=80, gt=0, lt=65536)
    user: str = "admin"
    password: str = Field(default="", repr=False)
    mode: Literal["attach", "push", "online"] = "push"
    utc_offset: str = "-03:00"
    mac: str | None = None
    serial: str | None = None
    https: bool = False
    verify_tls: bool = True
    local_epochs: bool = False
    """Firmware that writes local wall time into ``UTC``/``CreateTime`` (reference §6)."""
    remote_check_timeout: float = Field(default=5.0, gt=0)
    """The reader's ``Intelbras_ModeCfg.RemoteCheckTimeout`` (s): how long it waits for
    a Modo Online answer."""
    doors: list[DoorSettings] = Field(default_factory=list)

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        match = _OFFSET.match(value.strip())
        if match is None or int(match[2]) > 14 or int(match[3]) >= 60:
            raise ValueError('use "+HH:MM" or "-HH:MM", e.g. "-03:00"')
        return value.strip()

    def utc_offset_timedelta(self) -> timedelta:
        """``utc_offset`` as a timedelta."""
        return timedelta(seconds=self.offset_seconds())

    def offset_seconds(self) -> int:
        """``utc_offset`` in seconds."""
        match = _OFFSET.match(self.utc_offset)
        assert match is not None  # noqa: S101  # validated above
        seconds = int(match[2]) * 3600 + int(match[3]) * 60
        return -seconds if match[1] == "-" else seconds


class HubConfig(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(extra="forbid")

    hub: HubSettings = Field(default_factory=HubSettings)
    tokens: list[TokenSettings] = Field(default_factory=list)
    devices: list[DeviceSettings] = Field(default_factory=list)
    sinks: list[SinkSettings] = Field(default_factory=list)
    access: AccessSettings = Field(default_factory=AccessSettings)
    online: OnlineSettings = Field(default_factory=OnlineSettings)
    people: PeopleSettings = Field(default_factory=PeopleSettings)

    @model_validator(mode="after")
    def _deadline(self) -> HubConfig:
        for device in self.devices:
            if device.mode == "online" and \
                    self.online.deadline_ms >= device.remote_check_timeout * 1000:
                raise ValueError(
                    f"online.deadline_ms ({self.online.deadline_ms}) must be below device "
                    f"{device.name!r}'s remote_check_timeout "
                    f"({device.remote_check_timeout * 1000:.0f} ms)")
        return self

    @field_validator("sinks")
    @classmethod
    def _sink_names(cls, value: list[MqttSinkSettings | WebhookSinkSettings]
                    ) -> list[MqttSinkSettings | WebhookSinkSettings]:
        for index, sink in enumerate(value):
            if sink.name is None:
                sink.name = f"{sink.type}-{index + 1}"
        names = [s.name for s in value]
        duplicated = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"sink names must be unique: {', '.join(duplicated)}")
        return value

    @field_validator("devices")
    @classmethod
    def _unique_names(cls, value: list[DeviceSettings]) -> list[DeviceSettings]:
        names = [d.name for d in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"device names must be unique: {', '.join(duplicated)}")
        return value


_ENV = {"PORTEIRO_LISTEN": "listen", "PORTEIRO_DATA_DIR": "data_dir",
        "PORTEIRO_DATABASE_URL": "database_url", "PORTEIRO_AUTO_REGISTER": "auto_register",
        "PORTEIRO_LANGUAGE": "language", "PORTEIRO_TIMEZONE": "timezone"}


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> HubConfig:
    """Read ``path`` (TOML) and apply ``PORTEIRO_*`` overrides; raise :class:`ConfigError`."""
    environ = os.environ if env is None else env
    raw: dict[str, object] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    hub = dict(raw.get("hub") or {})  # type: ignore[call-overload]
    for variable, key in _ENV.items():
        if environ.get(variable):
            hub[key] = environ[variable]
    raw["hub"] = hub
    try:
        return HubConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}invalid configuration: {problems}") from None
