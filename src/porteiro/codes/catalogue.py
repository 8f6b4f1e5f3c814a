"""The code tables as JSON-ready records, shared by ``porteiro codes --json`` and the API.

One place decides what an entry looks like (code, name, both texts, vendor name,
policy groups), so the command line and ``GET /api/codes`` never drift apart.
"""

from __future__ import annotations

from typing import Any

from porteiro.codes import TABLES, Lang
from porteiro.codes import errors as error_codes
from porteiro.codes import requests as request_codes

__all__ = ["TITLES", "catalogue", "groups", "lookup", "record", "table_name_of", "table_of",
           "title"]

TITLES: dict[str, tuple[str, str]] = {
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
"""Each table's heading, (English, Portuguese)."""


def groups(member: Any) -> list[str]:
    """Names of the policy sets (module-level frozensets) that contain ``member``."""
    module = error_codes if isinstance(member, error_codes.EventError) else (
        request_codes if isinstance(member, request_codes.RequestError) else None)
    if module is None:
        return []
    return sorted(
        name for name, value in vars(module).items()
        if name.isupper() and isinstance(value, frozenset) and member in value
    )


def record(table: str, member: Any, lang: Lang) -> dict[str, Any]:
    """One entry: table, code, name, text (in ``lang``), en, pt, known, and when they
    apply vendor_name and groups."""
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
    member_groups = groups(member)
    if member_groups:
        out["groups"] = member_groups
    return out


def table_of(name: str) -> str | None:
    """The table called ``name`` or uniquely starting with it (``meth`` -> ``methods``)."""
    low = name.strip().lower()
    if low in TABLES:
        return low
    matches = [key for key in TABLES if key.startswith(low)]
    return matches[0] if len(matches) == 1 else None


def lookup(table: str, raw: str) -> Any:
    """The member of ``table`` for ``raw`` (a pseudo-member when unknown); None when a
    numeric table is given something that is not a number."""
    cls: Any = TABLES[table]
    if issubclass(cls, int):
        try:
            return cls(int(raw, 0))
        except ValueError:
            return None
    return cls(raw)


def table_name_of(member: Any) -> str:
    """The :data:`~porteiro.codes.TABLES` key of ``member``'s table."""
    for name, cls in TABLES.items():
        if isinstance(member, cls):
            return name
    return type(member).__name__


def title(name: str, lang: Lang) -> str:
    """The heading of table ``name`` in ``lang``."""
    pair = TITLES.get(name)
    if pair is None:
        return name
    return pair[1] if lang == "pt" else pair[0]


def catalogue(lang: Lang, table: str | None = None) -> list[dict[str, Any]]:
    """Every table (or just ``table``) with its title and entries."""
    names = [table] if table is not None else list(TABLES)
    return [{"table": name, "title": title(name, lang), "entries": len(TABLES[name]),
             "codes": [record(name, member, lang) for member in TABLES[name]]}
            for name in names]
