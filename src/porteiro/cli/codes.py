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
from porteiro.codes import errors as error_codes
from porteiro.codes import requests as request_codes

_TITLES: dict[str, tuple[str, str]] = {
    "methods": ("Open-door methods (Method)", "Métodos de abertura (Method)"),
    "errors": ("Event error codes (ErrorCode)", "Códigos de erro de eventos (ErrorCode)"),
    "requests": (
        "Request error codes (API replies)",
        "Códigos de erro de requisições (respostas da API)",
    ),
    "events": ("Event types (Code)", "Tipos de evento (Code)"),
    "mask": ("Mask detection (Mask)", "Detecção de máscara (Mask)"),
    "user-types": ("User types (UserType)", "Tipos de usuário (UserType)"),
    "card-types": ("Card types (CardType)", "Tipos de cartão (CardType)"),
    "card-status": ("Card status (CardStatus)", "Situação do cartão (CardStatus)"),
    "authority": ("User authority (Authority)", "Autoridade do usuário (Authority)"),
    "access-results": ("Access result (Status)", "Resultado do acesso (Status)"),
    "directions": ("Direction (Type)", "Sentido (Type)"),
    "door-states": ("Door contact state", "Estado do sensor da porta"),
    "door-modes": ("Door mode (AccessControl[n].State)", "Modo da porta (AccessControl[n].State)"),
    "device-modes": ("Device mode (Intelbras_ModeCfg.DeviceMode)",
                     "Modo do dispositivo (Intelbras_ModeCfg.DeviceMode)"),
}

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


def _groups(member: Any) -> list[str]:
    """Names of the policy sets (module-level frozensets) that contain ``member``."""
    module = error_codes if isinstance(member, error_codes.EventError) else (
        request_codes if isinstance(member, request_codes.RequestError) else None)
    if module is None:
        return []
    return sorted(
        name for name, value in vars(module).items()
        if name.isupper() and isinstance(value, frozenset) and member in value
    )


def _record(table: str, member: Any, lang: Lang) -> dict[str, Any]:
    out: dict[str, Any] = {
        "table": table,
        "code": member.code,
        "name": member.name,
        "text": member.text(lang),
        "en": member.en,
        "pt": member.pt,
        "known": member.known,
    }
    vendor = getattr(member, "vendor_name", None)
    if vendor:
        out["vendor_name"] = vendor
    groups = _groups(member)
    if groups:
        out["groups"] = groups
    return out


def _table_of(name: str) -> str | None:
    low = name.strip().lower()
    if low in TABLES:
        return low
    matches = [key for key in TABLES if key.startswith(low)]
    return matches[0] if len(matches) == 1 else None


def _lookup(table: str, raw: str) -> Any:
    cls: Any = TABLES[table]
    if issubclass(cls, int):
        try:
            return cls(int(raw, 0))
        except ValueError:
            return None
    return cls(raw)


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


def _name_of(member: Any) -> str:
    for name, cls in TABLES.items():
        if isinstance(member, cls):
            return name
    return type(member).__name__


def _title(name: str, lang: Lang) -> str:
    pair = _TITLES.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "pt" else pair[0]


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
