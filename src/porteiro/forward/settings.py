"""``[[sinks]]`` settings: where the hub forwards events (validated with pydantic).

Every key is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

from pathlib import Path  # noqa: TC003  # pydantic resolves the annotations at runtime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["KIND_ALIASES", "MqttSinkSettings", "SinkBase", "SinkSettings",
           "WebhookSinkSettings"]

KIND_ALIASES = {"access": "access_control", "door": "door_status", "button": "exit_button",
                "exit": "exit_button"}
"""Short names accepted in ``kinds`` filters, next to the kinds themselves."""
_KINDS = {"access_control", "door_status", "alarm", "exit_button", "system", "unknown"}


class SinkBase(BaseModel):
    """What every ``[[sinks]]`` entry has: a name, filters, retention, retry pacing."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    devices: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    granted: bool | None = None
    retention_events: int = Field(default=1_000_000, gt=0)
    retention_days: float | None = Field(default=7.0, gt=0)
    backoff_cap: float = Field(default=60.0, gt=0)
    start: Literal["now", "beginning"] = "now"
    batch: int = Field(default=500, ge=1, le=10_000)
    language: Literal["pt", "en"] | None = None

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        out = []
        for kind in value:
            normal = KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
            if normal not in _KINDS:
                raise ValueError(f"unknown kind {kind!r}; use {', '.join(sorted(_KINDS))} or "
                                 f"{', '.join(sorted(KIND_ALIASES))}")
            out.append(normal)
        return out


class MqttSinkSettings(SinkBase):
    """``[[sinks]] type = "mqtt"``: events to an MQTT broker (QoS 1)."""

    type: Literal["mqtt"]
    url: str = "mqtt://127.0.0.1:1883"
    topic_prefix: str = "porteiro"
    home_assistant: bool = False
    discovery_prefix: str = "homeassistant"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    client_id: str | None = None
    ca_file: Path | None = None
    tls_insecure: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError("use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        return value

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(c in value for c in "#+"):
            raise ValueError("a topic prefix without wildcards, e.g. porteiro")
        return value


class WebhookSinkSettings(SinkBase):
    """``[[sinks]] type = "webhook"``: each event POSTed as JSON to your endpoint."""

    type: Literal["webhook"]
    url: str
    secret: str | None = Field(default=None, min_length=8, repr=False)
    timeout: float = Field(default=10.0, gt=0)
    concurrency: int = Field(default=16, ge=1, le=256)
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("use http(s)://HOST[:PORT]/PATH")
        return value


SinkSettings = Annotated[MqttSinkSettings | WebhookSinkSettings, Field(discriminator="type")]
