"""``porteiro events``: query the hub's store from the shell.

Reads the database the configuration names (SQLite in ``data_dir`` or
``database_url``) directly, so it works whether or not the hub is running; SQLite's
WAL lets it read while the hub writes.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path  # noqa: TC003  # typer reads the annotations at runtime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.cli._common import parse_when
from porteiro.cli.serve import load_settings
from porteiro.store import Store
from porteiro.store.serialize import event_json
from porteiro.store.store import EventQuery

if TYPE_CHECKING:
    from porteiro.codes import Lang

__all__ = ["events"]

_TEXT = {
    "none": ("No events match.", "Nenhum evento corresponde."),
    "no_db": ("No database at {url}: run `porteiro db upgrade` or start the hub first.",
              "Não há banco de dados em {url}: rode `porteiro db upgrade` ou inicie o hub."),
    "db_error": ("Cannot read the database: {error}", "Não foi possível ler o banco: {error}"),
    "more": ("(showing the newest {count}; use --limit or narrow with --since)",
             "(mostrando os {count} mais recentes; use --limit ou restrinja com --since)"),
    "time": ("Time", "Hora"), "device": ("Device", "Dispositivo"), "event": ("Event", "Evento"),
}


def _t(key: str, lang: Lang, **fields: object) -> str:
    en, pt = _TEXT[key]
    return (pt if lang == "pt" else en).format(**fields)


def events(
    config: Path | None = typer.Option(None, "--config", "-c", exists=True, dir_okay=False,
                                       help="porteiro.toml (else PORTEIRO_* variables)."),
    since: str | None = typer.Option(None, "--since", help="ISO 8601 (site time if no zone), "
                                     "epoch, or an age: 15m, 2h, 3d."),
    until: str | None = typer.Option(None, "--until", help="Same forms as --since."),
    device: list[str] | None = typer.Option(None, "--device", "-d", help="Device name "
                                            "(repeatable)."),
    kind: list[str] | None = typer.Option(None, "--kind", "-k", help="access_control, "
                                          "door_status, alarm, exit_button, system, unknown."),
    user: str | None = typer.Option(None, "--user", help="User id."),
    card: str | None = typer.Option(None, "--card", help="Card number."),
    granted: bool | None = typer.Option(None, "--granted/--denied", help="Only granted, or "
                                        "only denied, accesses."),
    error: int | None = typer.Option(None, "--error", help="Event error code (ErrorCode)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=100_000),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    lang: str = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG", help="en or pt."),
) -> None:
    """Stored events, oldest first within the newest --limit that match."""
    language = lang_of(lang)
    settings = load_settings(config)
    zone = ZoneInfo(settings.hub.timezone)
    query = EventQuery(
        devices=tuple(device or ()), kinds=tuple(kind or ()), user_id=user, card_no=card,
        granted=granted, error=error, limit=limit,
        since=parse_when(since, zone) if since else None,
        until=parse_when(until, zone) if until else None)
    err = Console(stderr=True, highlight=False)
    url = settings.hub.url()
    if settings.hub.database_url is None and not (settings.hub.data_dir / "porteiro.db").exists():
        err.print(_t("no_db", language, url=url), style="red")
        raise typer.Exit(1)
    store = Store(url)
    try:
        rows = store.query_events(query)
    except sa.exc.SQLAlchemyError as exc:
        err.print(_t("db_error", language, error=str(exc).splitlines()[0]), style="red")
        raise typer.Exit(1) from None
    finally:
        store.close()
    rows.reverse()  # newest page, printed oldest first like a log
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(event_json(row, language), ensure_ascii=False) + "\n")
        return
    console = Console(highlight=False)
    if not rows:
        err.print(_t("none", language))
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("time", "device", "event"):
        table.add_column(_t(column, language))
    for row in rows:
        summary = event_json(row, language)["summary"]
        stamp = row["ts"] if row["ts"] is not None else row["received_at"]
        when = datetime.fromtimestamp(stamp, zone).strftime("%Y-%m-%d %H:%M:%S")
        style = ("red" if row["granted"] is False or row["kind"] == "alarm" else "")
        table.add_row(when, escape(row["device"]), escape(summary), style=style)
    console.print(table)
    if len(rows) == limit:
        err.print(_t("more", language, count=limit))
