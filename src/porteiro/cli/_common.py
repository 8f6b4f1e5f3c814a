"""Helpers shared by the command modules."""

from __future__ import annotations

import typer

from porteiro.codes import Lang, normalize_lang

__all__ = ["language"]


def language(value: str) -> Lang:
    """Parse ``--lang`` (en, pt, pt-BR...) or fail as a usage error (exit 2)."""
    try:
        return normalize_lang(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
