"""The device's vocabulary: every code table of the vendor's reference, in en and pt-BR.

Tables (each an enum whose unknown values become pseudo-members keeping the raw code):

* :class:`OpenMethod` (``Method``), :class:`EventError` (``ErrorCode``),
  :class:`RequestError` (API error replies), :class:`EventCode` (event ``Code``);
* field tables: :class:`Mask`, :class:`UserType`, :class:`CardType`,
  :class:`CardStatus`, :class:`Authority`, :class:`AccessResult`, :class:`Direction`,
  :class:`DoorState`, :class:`DoorMode`, :class:`DeviceMode`.

Every member has ``code``, ``name``, ``en``, ``pt``, ``text(lang)``, ``describe(lang)``
and ``known``. Groupings (credential failures, rule denials, retryable request
errors...) are frozensets in :mod:`porteiro.codes.errors` and
:mod:`porteiro.codes.requests`. This package imports nothing else of Porteiro's.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType
from typing import TYPE_CHECKING

from porteiro.codes._base import LANGS, IntCode, Lang, StrCode, normalize_lang
from porteiro.codes.errors import (
    CREDENTIAL_FAILURES,
    CREDENTIAL_TIMEOUTS,
    PENDING,
    RULE_DENIALS,
    SCHEDULE_DENIALS,
    EventError,
    category,
)
from porteiro.codes.event_types import (
    ATTACH_FILTER_NAMES,
    KIND_OF,
    EventCode,
    EventKind,
    kind_of,
)
from porteiro.codes.fields import (
    AccessResult,
    Authority,
    CardStatus,
    CardType,
    DeviceMode,
    Direction,
    DoorMode,
    DoorState,
    Mask,
    UserType,
)
from porteiro.codes.methods import OpenMethod
from porteiro.codes.requests import (
    ALREADY_EXISTS,
    AUTHENTICATION,
    CAPACITY,
    NOT_FOUND,
    RETRYABLE,
    RequestError,
    from_vendor_name,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ALREADY_EXISTS",
    "ATTACH_FILTER_NAMES",
    "AUTHENTICATION",
    "CAPACITY",
    "CREDENTIAL_FAILURES",
    "CREDENTIAL_TIMEOUTS",
    "KIND_OF",
    "LANGS",
    "NOT_FOUND",
    "PENDING",
    "RETRYABLE",
    "RULE_DENIALS",
    "SCHEDULE_DENIALS",
    "TABLES",
    "AccessResult",
    "Authority",
    "CardStatus",
    "CardType",
    "DeviceMode",
    "Direction",
    "DoorMode",
    "DoorState",
    "EventCode",
    "EventError",
    "EventKind",
    "IntCode",
    "Lang",
    "Mask",
    "OpenMethod",
    "RequestError",
    "StrCode",
    "UserType",
    "category",
    "from_vendor_name",
    "kind_of",
    "normalize_lang",
    "search",
]

TABLES: Mapping[str, type[IntCode] | type[StrCode]] = MappingProxyType({
    "methods": OpenMethod,
    "errors": EventError,
    "requests": RequestError,
    "events": EventCode,
    "mask": Mask,
    "user-types": UserType,
    "card-types": CardType,
    "card-status": CardStatus,
    "authority": Authority,
    "access-results": AccessResult,
    "directions": Direction,
    "door-states": DoorState,
    "door-modes": DoorMode,
    "device-modes": DeviceMode,
})
"""Every table by its CLI name."""


def _fold(text: str) -> str:
    """Lower case without accents: "Cartão" -> "cartao"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search(
    text: str, *, lang: Lang | None = None, table: str | None = None,
) -> list[IntCode | StrCode]:
    """Members whose code, name, vendor name or text contains ``text``.

    Accents, case and underscores are ignored (``cartao`` finds "cartão", ``exit button``
    finds ``EXIT_BUTTON``). ``lang`` limits the texts searched to one language (both by
    default); ``table`` (a :data:`TABLES` key) limits the search to one table. Results
    come in table order, then member order.
    """
    needle = _fold(text.strip())
    if not needle:
        return []
    tables = [TABLES[table]] if table is not None else list(TABLES.values())
    langs = LANGS if lang is None else (lang,)
    hits: list[IntCode | StrCode] = []
    for cls in tables:
        for member in cls:
            haystack = [str(member.code), member.name, getattr(member, "vendor_name", "") or ""]
            haystack += [member.text(one) for one in langs]
            if any(needle in _fold(item) or needle in _fold(item).replace("_", " ")
                   for item in haystack):
                hits.append(member)
    return hits
