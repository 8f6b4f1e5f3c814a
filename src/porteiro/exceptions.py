"""Porteiro's exceptions: one root, split by what went wrong.

::

    PorteiroError
    ├── ProtocolError             the bytes do not follow a format Porteiro knows
    │   └── MalformedInputError   one input (event text, reply, push body) cannot be parsed
    ├── DeviceConnectionError     the device could not be reached / the link dropped
    │   └── DeviceTimeoutError    the device did not answer in time
    ├── AuthenticationError       credentials refused, account locked, not logged in
    ├── DeviceError               the device answered with an error code
    │   └── BatchError            a batch call failed for some items (``fail_codes``)
    ├── ConfigError               the hub's configuration is invalid (names the key)
    └── PeopleError               a change to the people database was refused (names the
                                  field; ``status`` is the HTTP status that fits)

Parsers in :mod:`porteiro.wire` raise :class:`MalformedInputError` for a single input
they cannot read; stream parsers never raise for bad parts, they yield a
:class:`porteiro.wire.Malformed` record instead and keep going.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from porteiro.codes import RequestError


class PorteiroError(Exception):
    """Root of every exception Porteiro raises on purpose."""


class ProtocolError(PorteiroError):
    """The peer sent something that does not follow any format Porteiro knows."""


class MalformedInputError(ProtocolError, ValueError):
    """One input could not be parsed. ``raw`` keeps (a bounded prefix of) the bytes."""

    def __init__(self, reason: str, raw: bytes | str = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")


class DeviceConnectionError(PorteiroError):
    """The device could not be reached or the connection dropped."""


class DeviceTimeoutError(DeviceConnectionError):
    """The device did not answer within the configured time."""


class AuthenticationError(PorteiroError):
    """The device refused the credentials (wrong password, locked account...)."""


class DeviceError(PorteiroError):
    """The device answered a request with an error.

    ``code`` is the request error code (a :class:`porteiro.codes.RequestError`,
    possibly an unknown pseudo-member) when the firmware sends one; legacy firmware
    only says ``Bad Request!``, and then ``code`` is None and ``http_status`` tells.
    """

    def __init__(
        self,
        message: str,
        *,
        code: RequestError | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class BatchError(DeviceError):
    """A batch call (``insertMulti``...) failed; ``fail_codes`` holds each item's reason."""

    def __init__(
        self,
        message: str,
        *,
        code: RequestError | None = None,
        http_status: int | None = None,
        fail_codes: tuple[RequestError, ...] = (),
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.fail_codes = fail_codes


class ConfigError(PorteiroError, ValueError):
    """The hub's configuration is invalid; the message names the key and the problem."""


class PeopleError(PorteiroError):
    """A change to the people database was refused. ``field`` names the input field
    (``cards[1]``) when one is to blame; ``status`` is the HTTP status that fits (404
    unknown person, 409 conflict, 413/415 photo, 422 invalid)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422,
                 pt: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.status = status
        self.pt = pt or message
        """The message in Brazilian Portuguese (answers carry both)."""
