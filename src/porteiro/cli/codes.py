"""``porteiro codes``: look up what the device's numbers and names mean."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.codes import TABLES, Lang, search
from porteiro.codes.catalogue import lookup as _lookup
from porteiro.codes.catalogue import record as _record
from porteiro.codes.catalogue import table_name_of as _name_of
from porteiro.codes.catalogue import table_of as _table_of
from porteiro.codes.catalogue import title as _title

_WORDS: dict[str, tuple[str, str]] = {
    "table": ("Table", "Tabela"),
    "code": ("Code", "Código"),
    "name": ("Name", "Nome"),
    "text": ("Meaning", "Significado"),
    "count": ("Entries", "Entradas"),
    "unknown_table": (
        "unknown table {name!r}; choose one of: {choices}",
        "tabela desconhecida {name!r}; escolha uma de: {choices}",
    ),
    "not_found": ("{table}: code {code} is not in the table: {text}",
                  "{table}: o código {code} não está na tabela: {text}"),
    "no_match": ("nothing matches {text!r}", "nada corresponde a {text!r}"),
    "groups": ("Groups", "Grupos"),
    "vendor": ("Vendor name", "Nome do fabricante"),
}


def _w(key: str, lang: Lang, **fields: Any) -> str:
    en, pt = _WORDS[key]
    return (pt if lang == "pt" else en).format(**fields)


def codes(
    table: str | None = typer.Argument(
        None,
        help="methods, errors, requests or events (also: mask, user-types, card-types, "
        "card-status, authority, directions, door-states, door-modes, device-modes). "
        "A bare number looks it up in every table.",
        show_default=False,
    ),
    code: str | None = typer.Argument(None, help="One code to explain.", show_default=False),
    search_text: str | None = typer.Option(
        None, "--search", "-s", help="Find entries whose name or text contains this "
        "(accents and case ignored; English and Portuguese)."
    ),
    lang: str = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG",
                             help="Language of texts: en or pt."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Explain the device's codes: open methods, event errors, request errors, event types.

    Examples:

      porteiro codes errors 21

      porteiro codes methods --lang pt

      porteiro codes requests 286064923

      porteiro codes --search antipassback

      porteiro codes 15
    """
    language = lang_of(lang)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    rows: list[dict[str, Any]]
    if table is not None and _table_of(table) is None:
        if code is None and table.strip().lstrip("-").isdigit():
            # `porteiro codes 21`: the number in every numeric table.
            rows = [
                _record(name, member, language)
                for name, cls in TABLES.items()
                if issubclass(cls, int) and (member := _lookup(name, table)) is not None
                and member.known
            ]
            if not rows:
                err.print(_w("no_match", language, text=table), style="red")
                raise typer.Exit(1)
            _print(rows, language, out, as_json=as_json)
            return
        err.print(_w("unknown_table", language, name=table, choices=", ".join(TABLES)),
                  style="red")
        raise typer.Exit(2)
    name = _table_of(table) if table is not None else None
    if name is not None and code is not None:
        member = _lookup(name, code)
        if member is None:
            err.print(_w("no_match", language, text=code), style="red")
            raise typer.Exit(1)
        rows = [_record(name, member, language)]
        _print(rows, language, out, as_json=as_json, detail=True)
        if not member.known:
            err.print(_w("not_found", language, table=name, code=code,
                         text=member.text(language)), style="yellow")
            raise typer.Exit(1)
        return
    if search_text is not None:
        hits = search(search_text, lang=None, table=name) if name else search(search_text)
        rows = [_record(_name_of(member), member, language) for member in hits]
        if not rows:
            err.print(_w("no_match", language, text=search_text), style="red")
            raise typer.Exit(1)
        _print(rows, language, out, as_json=as_json)
        return
    if name is None:
        _print_tables(language, out, as_json=as_json)
        return
    rows = [_record(name, member, language) for member in TABLES[name]]
    _print(rows, language, out, as_json=as_json, title=_title(name, language))


def _print_tables(lang: Lang, out: Console, *, as_json: bool) -> None:
    if as_json:
        out.file.write(json.dumps(
            [{"table": name, "entries": len(cls), "title": _title(name, lang)}
             for name, cls in TABLES.items()], ensure_ascii=False, indent=2) + "\n")
        return
    grid = Table(title=None)
    grid.add_column(_w("table", lang))
    grid.add_column(_w("count", lang), justify="right")
    grid.add_column(_w("text", lang))
    for name, cls in TABLES.items():
        grid.add_row(name, str(len(cls)), escape(_title(name, lang)))
    out.print(grid)


def _print(rows: list[dict[str, Any]], lang: Lang, out: Console, *, as_json: bool,
           detail: bool = False, title: str | None = None) -> None:
    if as_json:
        body: Any = rows[0] if detail and len(rows) == 1 else rows
        out.file.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    if detail and len(rows) == 1:
        row = rows[0]
        out.print(f"[bold]{escape(str(row['code']))}[/]  {escape(row['name'])}  ({row['table']})")
        out.print(f"  en: {escape(row['en'])}")
        out.print(f"  pt: {escape(row['pt'])}")
        if "vendor_name" in row:
            out.print(f"  {_w('vendor', lang)}: {escape(row['vendor_name'])}")
        if "groups" in row:
            out.print(f"  {_w('groups', lang)}: {', '.join(row['groups'])}")
        return
    grid = Table(title=escape(title) if title else None)
    show_table = len({row["table"] for row in rows}) > 1
    if show_table:
        grid.add_column(_w("table", lang))
    grid.add_column(_w("code", lang), justify="right", no_wrap=True)
    grid.add_column(_w("name", lang), no_wrap=True)
    grid.add_column(_w("text", lang))
    for row in rows:
        cells = [escape(str(row["code"])), escape(row["name"]), escape(row["text"])]
        grid.add_row(*([row["table"], *cells] if show_table else cells))
    out.print(grid)
