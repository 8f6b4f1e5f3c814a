"""Hub configuration: a TOML file plus ``PORTEIRO_*`` environment variables (pydantic).

Invalid configuration fails at start with a message that names the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "DeviceSettings", "HubConfig", "HubSettings", "TokenSettings",
           "load_config"]


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


class HubSettings(BaseModel):
    """``[hub]``."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:8000"
    data_dir: Path = Path("./porteiro-data")
    database_url: str | None = None
    push_path: str = "/notification"
    keepalive_path: str = "/keepalive"
    auto_register: bool = False

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
    token: str = Field(min_length=8)
    scope: Literal["admin", "read"] = "read"


_OFFSET = re.compile(r"^([+-])(\d{1,2}):(\d{2})$")


class DeviceSettings(BaseModel):
    """``[[devices]]``: one reader."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    host: str
    port: int = Field(80, gt=0, lt=65536)
    user: str = "admin"
    password: str = ""
    mode: Literal["attach", "push", "online"] = "push"
    utc_offset: str = "-03:00"

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        match = _OFFSET.match(value.strip())
        if match is None or int(match[2]) > 14 or int(match[3]) >= 60:
            raise ValueError('use "+HH:MM" or "-HH:MM", e.g. "-03:00"')
        return value.strip()

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

    @field_validator("devices")
    @classmethod
    def _unique_names(cls, value: list[DeviceSettings]) -> list[DeviceSettings]:
        names = [d.name for d in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"device names must be unique: {', '.join(duplicated)}")
        return value


_ENV = {"PORTEIRO_LISTEN": "listen", "PORTEIRO_DATA_DIR": "data_dir",
        "PORTEIRO_DATABASE_URL": "database_url"}


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
