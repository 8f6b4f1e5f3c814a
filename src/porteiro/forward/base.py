"""What a sink is, and what a delivery attempt can come to.

A sink gets events in id order (the order they were stored) as the JSON the API
serves, and answers, per event, :class:`Delivered`, :class:`Dead` (refused for good:
dead-lettered with the reason, never retried) or :class:`Retry` (try again later).
An event the sink does not answer for counts as Retry. A sink may deliver events of
different devices concurrently, but never an event of a device before an earlier
event of the same device has been delivered or dead-lettered: that is the per-device
order the forwarding guarantees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from porteiro.forward.settings import SinkBase

__all__ = ["Dead", "Delivered", "DoorOpener", "DoorResult", "Outcome", "Retry", "Sink",
           "SinkUnavailableError"]


class Delivered(msgspec.Struct, frozen=True):
    """The receiver has the event."""


class Dead(msgspec.Struct, frozen=True):
    """Refused for good (e.g. HTTP 400): dead-lettered with ``reason``."""

    reason: str


class Retry(msgspec.Struct, frozen=True):
    """Not delivered this time (``reason``): the event and its device's later events
    wait for the next attempt."""

    reason: str


Outcome = Delivered | Dead | Retry

DoorOutcome = Literal["opened", "refused", "unreachable", "unknown_device", "no_credentials"]


class DoorResult(msgspec.Struct, frozen=True):
    """What came of a remote opening (``Hub.open_door``).

    ``door`` is 0-based. ``outcome``: ``opened``; ``refused`` (the device answered with
    an error: ``error_code`` is its request error code when the firmware sends one,
    ``http_status`` otherwise; ``error`` says it in words); ``unreachable`` (no answer);
    ``unknown_device``; ``no_credentials`` (no password configured for the device).
    ``str()`` of a result is its short ``text`` (what the MQTT sink publishes).
    """

    device: str
    door: int
    outcome: DoorOutcome
    text: str
    error_code: int | None = None
    http_status: int | None = None
    error: str | None = None
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when the device opened the door."""
        return self.outcome == "opened"

    def __str__(self) -> str:
        return self.text


DoorOpener = Callable[[str, int, str], Awaitable[DoorResult | str]]
"""``open_door(device, door, who) -> result``: given to sinks that can command a door
(the MQTT sink's Home Assistant button); it goes through the hub, which audits. The
result is a :class:`DoorResult` (or, from a custom opener, a text); ``str(result)`` is
the short answer."""


class SinkUnavailableError(Exception):
    """The sink cannot take anything now (broker down, connection refused)."""


class Sink(Protocol):
    """One destination. Implementations: :mod:`porteiro.forward.webhook`,
    :mod:`porteiro.forward.mqtt`."""

    name: str

    @property
    def settings(self) -> SinkBase:
        """The sink's ``[[sinks]]`` entry (filters, retention, pacing)."""

    async def open(self) -> None:
        """Connect (or prepare to); may raise :class:`SinkUnavailableError`."""

    async def close(self) -> None:
        """Disconnect and release everything."""

    async def deliver(self, events: Sequence[dict[str, Any]]) -> dict[int, Outcome]:
        """Deliver ``events`` (id order); the outcome per event id. Raising
        :class:`SinkUnavailableError` means Retry for all of them."""

    def device_status(self, device: str, *, online: bool) -> None:
        """A device went online or offline (sinks that publish status use it)."""

