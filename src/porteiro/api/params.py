"""Query parameters the API shares: times, page cursors, local midnight.

Errors are raised as ``ValueError`` inside pydantic validators, so FastAPI answers 422
with the parameter's name in ``loc`` and the reason in ``msg``.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

__all__ = ["Cursor", "decode_cursor", "encode_cursor", "local_midnight", "parse_when"]


def parse_when(value: object, tz: ZoneInfo | None = None) -> float | None:
    """Epoch seconds from epoch seconds or ISO 8601 (``2026-09-30T08:00:00-03:00``,
    ``...Z``, or a date); a time without an offset is in ``tz`` (UTC when None)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{value!r} is neither ISO 8601 (2026-09-30T08:00:00Z) "
                                 "nor epoch seconds") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=tz or ZoneInfo("UTC"))
            return when.timestamp()
    else:
        raise ValueError("expected ISO 8601 or epoch seconds")  # noqa: TRY004  # pydantic wants ValueError
    if not math.isfinite(number):
        raise ValueError("expected a finite number of seconds")
    return number


_PREFIX = "v1:"


def encode_cursor(before_id: int) -> str:
    """The opaque ``next_cursor``: where the next (older) page starts."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(value: object) -> int | None:
    """The id a cursor stands for; ValueError when it is not one of ours."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a cursor")  # noqa: TRY004  # pydantic reports ValueError
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor returned by this API (next_cursor)") from None
    number = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not number.isascii() or not number.isdigit() \
            or len(number) > 18:
        raise ValueError("not a cursor returned by this API (next_cursor)")
    return int(number)


Cursor = Annotated[int | None, BeforeValidator(decode_cursor)]


def local_midnight(tz: ZoneInfo, now: float) -> float:
    """Epoch seconds of the start of the day containing ``now`` in ``tz``."""
    local = datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
