"""Helpers shared by the command modules."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from porteiro.api import params as api_params
from porteiro.codes import Lang, normalize_lang

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["language", "parse_when"]


def language(value: str) -> Lang:
    """Parse ``--lang`` (en, pt, pt-BR...) or fail as a usage error (exit 2)."""
    try:
        return normalize_lang(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


_RELATIVE = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, zone: ZoneInfo, *, now: float | None = None) -> float:
    """``--since``/``--until``: what the API accepts (ISO 8601, naive meaning the site's
    time zone, or epoch seconds) or an age such as ``15m``, ``2h``, ``3d`` (before now)."""
    value = text.strip()
    if value[:-1].isdigit() and value[-1:].lower() in _RELATIVE:
        return (time.time() if now is None else now) - int(value[:-1]) * _RELATIVE[
            value[-1].lower()]
    try:
        moment = api_params.parse_when(value, zone)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}, or an age such as 15m, 2h, 3d") from None
    assert moment is not None  # noqa: S101  # only empty text gives None
    return moment
