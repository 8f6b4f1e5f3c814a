"""JSON exactly as the device writes it (the layout of jsoncpp's ``StyledWriter``).

Evidence: the official attach example and the official push capture [OFFICIAL,
OFFICIAL-EX] show keys in sorted order, 3-space indentation, ``"Key" : value``
separators, short arrays of scalars on one line with inner spaces (``[ 0 ]``), other
arrays one element per line, and a trailing newline after the document. Parsing never
depends on this layout; sending it lets the emulator match real devices byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_device"]

_INDENT = "   "
_RIGHT_MARGIN = 74  # jsoncpp's line width for deciding whether an array fits on a line


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def _inline(item: Any) -> str:
    """An array element on one line; non-empty containers force a multi-line array."""
    if isinstance(item, dict):
        return "{}"
    if isinstance(item, list | tuple):
        return "[]"
    return _scalar(item)


def _is_multiline(items: list[Any], rendered: list[str]) -> bool:
    if len(items) * 3 >= _RIGHT_MARGIN:
        return True
    if any(isinstance(item, dict | list) and item for item in items):
        return True
    line = 4 + (len(items) - 1) * 2 + sum(len(text) for text in rendered)
    return line >= _RIGHT_MARGIN


def _write(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + _INDENT
        out.append("{\n")
        for position, key in enumerate(sorted(value, key=str)):
            if position:
                out.append(",\n")
            out.append(f"{inner}{json.dumps(str(key), ensure_ascii=False)} : ")
            _write(value[key], inner, out)
        out.append(f"\n{indent}}}")
    elif isinstance(value, list | tuple):
        items = list(value)
        if not items:
            out.append("[]")
            return
        flat = [_inline(item) for item in items]
        if not _is_multiline(items, flat):
            out.append("[ " + ", ".join(flat) + " ]")
            return
        inner = indent + _INDENT
        out.append("[\n")
        for position, item in enumerate(items):
            if position:
                out.append(",\n")
            out.append(inner)
            _write(item, inner, out)
        out.append(f"\n{indent}]")
    else:
        out.append(_scalar(value))


def dumps_device(value: Any, *, trailing_newline: bool = True) -> str:
    """Serialize like the device: sorted keys, 3-space indent, ``" : "``, inline short arrays."""
    out: list[str] = []
    _write(value, "", out)
    if trailing_newline:
        out.append("\n")
    return "".join(out)
