"""Hub configuration: a TOML file plus ``PORTEIRO_*`` environment variables (pydantic).

Invalid configuration fails at start with a message that names the key and the problem.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
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

__all__ = ["KIND_ALIASES", "ConfigError", "DeviceSettings", "HubConfig", "HubSettings",
           "MqttSinkSettings", "SinkSettings", "TokenSettings", "WebhookSinkSettings",
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

    def url(self) -> str:
        """The database URL (SQLite in ``data_dir`` unless ``database_url`` is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'porteiro.db'}"


class TokenSettings(BaseModel):
    """``[[tokens]]``: API bearer tokens."""

    model_config = ConfigDict(extra="forbid")

    name: str
    token: str | None = Field(default=None, min_length=8)
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
    password: str = ""
    mode: Literal["attach", "push", "online"] = "push"
    utc_offset: str = "-03:00"
    mac: str | None = None
    serial: str | None = None
    https: bool = False
    verify_tls: bool = True
    local_epochs: bool = False
    """Firmware that writes local wall time into ``UTC``/``CreateTime`` (reference §6)."""

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
