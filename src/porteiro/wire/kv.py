"""``key=value`` replies: info, door status, time, record listings, config tables.

What devices send (reference §2, §5) [MULTI]:

* ``OK`` (Dahua writes ``OK\\r\\n``) for a successful set/action;
* ``key=value`` lines separated by ``\\r\\n`` or ``\\n``: ``Info.status=Close``,
  ``result=2024-01-02 10:00:00``, ``sn=...``, ``version=...``. Values may contain
  ``=``, so a line splits at the first one only;
* ``found=N`` + ``records[i].Field=value`` (plus ``totalCount=`` on some firmware);
* config dumps ``table.AccessControl[0].Name=Door1`` (the ``table.`` prefix is what
  Dahua writes; [GUESS] for Intelbras, so it is optional here).

Parsers are lenient (blank lines, stray spaces, CRLF/LF, BOM); serializers write CRLF
and the device's spellings (``true``/``false``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from porteiro.exceptions import MalformedInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "OK_BODY",
    "RecordPage",
    "format_kv",
    "format_records",
    "format_table",
    "get_path",
    "is_ok",
    "parse_kv",
    "parse_records",
    "parse_table",
    "set_path",
]

OK_BODY = b"OK\r\n"

# At most 9 digits: int() refuses more than 4300 (a bare ValueError), and no device
# lists a billion records.
_RECORD_KEY = re.compile(r"records\[(\d{1,9})\]\.(.+)")
_PATH_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_MAX_INDEX = 100_000  # a sparse index beyond this is an attack, not a device
_MAX_DEPTH = 32  # "a.a.a...." or "a[0][0]...": real tables nest 3 or 4 levels
_MAX_SLOTS = 1 << 20
"""List slots one :func:`parse_table` may create: ``a[0][99999]`` lines each pad a list
of 100,000, so a 1 MB body could otherwise ask for gigabytes."""


def _text(body: bytes | str) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return body.removeprefix("\ufeff")


def is_ok(body: bytes | str) -> bool:
    """True for the bare ``OK`` success reply (any surrounding whitespace)."""
    return _text(body).strip() == "OK"


def parse_kv(body: bytes | str) -> dict[str, str]:
    """``key=value`` lines into an ordered dict (a repeated key keeps the last value).

    A bare ``OK`` parses to ``{}``. A non-blank line without ``=`` raises
    :class:`MalformedInputError` naming the line.
    """
    out: dict[str, str] = {}
    for number, line in enumerate(_text(body).splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped == "OK":
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise MalformedInputError(f"line {number} is not key=value: {stripped[:80]!r}",
                                      line)
        out[key.strip()] = value.strip()
    return out


class RecordPage(msgspec.Struct, frozen=True):
    """A ``recordFinder`` reply: ``found``, optional ``totalCount``, the records.

    Each record is a dict of the device's text values in index order; nested fields
    (``records[0].A.B=``) keep their dotted key ``A.B``.
    """

    found: int
    records: tuple[dict[str, str], ...] = ()
    total_count: int | None = None


def parse_records(body: bytes | str) -> RecordPage:
    """Parse ``found=N`` + ``records[i].Field=value`` (gaps and disorder tolerated)."""
    pairs = parse_kv(body)
    found_text = pairs.get("found")
    by_index: dict[int, dict[str, str]] = {}
    for key, value in pairs.items():
        match = _RECORD_KEY.fullmatch(key)
        if match is not None:
            by_index.setdefault(int(match[1]), {})[match[2]] = value
    if found_text is None:
        if not by_index:
            raise MalformedInputError("not a record listing: no found= line", _text(body)[:4096])
        found = len(by_index)
    else:
        try:
            found = int(found_text)
        except ValueError:
            raise MalformedInputError(f"found={found_text!r} is not a number",
                                      _text(body)[:4096]) from None
    total = pairs.get("totalCount")
    total = total.strip() if total is not None else None
    total_count = int(total) if total and total.isascii() and total.isdigit() \
        and len(total) <= 18 else None
    records = tuple(by_index[i] for i in sorted(by_index))
    return RecordPage(found, records, total_count)


def _split_path(key: str) -> list[str | int]:
    """``AccessControl[0].Name`` -> ``["AccessControl", 0, "Name"]``."""
    path: list[str | int] = []
    for segment in key.split("."):
        match = _PATH_PART.fullmatch(segment)
        if match is None:
            path.append(segment)
            continue
        path.append(match[1])
        for index in _INDEX.findall(match[2]):
            if len(index) > 9:  # int() would refuse > 4300 digits with a bare ValueError
                raise MalformedInputError(f"{key[:80]}: index [{index[:12]}...] is too large",
                                          key)
            path.append(int(index))
    if len(path) > _MAX_DEPTH:
        # Consumers (format_table, json, repr) recurse over the nesting.
        raise MalformedInputError(f"{key[:80]}...: nested deeper than {_MAX_DEPTH} levels", key)
    return path


def _ensure(container: Any, step: str | int, nxt: str | int | None, key: str,
            budget: list[int] | None = None) -> Any:
    """The child of ``container`` at ``step``, created as a dict/list when missing.

    ``budget`` (one int, decremented) bounds the list slots created across calls."""
    fresh: Any = [] if isinstance(nxt, int) else {}
    if isinstance(step, int):
        if not isinstance(container, list):
            raise MalformedInputError(f"{key}: index [{step}] on a non-list", key)
        if step > _MAX_INDEX:
            raise MalformedInputError(f"{key}: index [{step}] is too large", key)
        if budget is not None and step >= len(container):
            budget[0] -= step + 1 - len(container)
            if budget[0] < 0:
                raise MalformedInputError(f"{key}: the table's lists grow past {_MAX_SLOTS}"
                                          " slots", key)
        while len(container) <= step:
            container.append(None)
        if nxt is None:
            return container
        if container[step] is None:
            container[step] = fresh
        return container[step]
    if not isinstance(container, dict):
        raise MalformedInputError(f"{key}: field {step!r} on a list", key)
    if nxt is None:
        return container
    child = container.get(step)
    if child is None:
        container[step] = fresh
    elif not isinstance(child, dict | list):
        # "A=1" and "A.B=2" both present: keep the scalar under "" in the table.
        container[step] = {"": child} if not isinstance(nxt, int) else fresh
    return container[step]


def set_path(root: dict[str, Any], key: str, value: object, *,
             budget: list[int] | None = None) -> None:
    """Set ``AccessControl[0].State``-style ``key`` in a nested table (``setConfig``).

    Creates missing tables and list slots; a value set on a name that is already a
    table goes under that table's ``""`` key. Raises :class:`MalformedInputError` when
    the key's shape conflicts with what is there (an index on a table...), nests deeper
    than 32 levels, or (with ``budget``, a one-item list) would create more list slots
    than the budget has left.
    """
    path = _split_path(key.removeprefix("table."))
    node: Any = root
    for position, step in enumerate(path):
        nxt = path[position + 1] if position + 1 < len(path) else None
        node = _ensure(node, step, nxt, key, budget)
        if nxt is None:
            if not isinstance(step, int) and isinstance(node.get(step), dict):
                node[step][""] = value
            else:
                node[step] = value


def get_path(root: dict[str, Any], key: str) -> Any:
    """The value or sub-table at ``key`` (``getConfig&name=``), or None."""
    node: Any = root
    for step in _split_path(key.removeprefix("table.")):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return None
            node = node[step]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return None
    return node


def parse_table(body: bytes | str) -> dict[str, Any]:
    """A config dump (``table.X[0].Y=v`` lines) as nested dicts and lists.

    Indexed names become lists; an index that was skipped holds None. When a key is
    both a value and a table (``A=1`` and ``A.B=2``) the value is kept under the
    key ``""`` of the table. Values stay text.
    """
    root: dict[str, Any] = {}
    budget = [_MAX_SLOTS]
    for key, value in parse_kv(body).items():
        set_path(root, key, value, budget=budget)
    return root


# -- serializers ---------------------------------------------------------------------


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def format_kv(pairs: Mapping[str, object]) -> bytes:
    """``key=value`` CRLF lines (booleans as ``true``/``false``)."""
    return "".join(f"{key}={_value(value)}\r\n" for key, value in pairs.items()).encode()


def format_records(
    records: Sequence[Mapping[str, object]], *, total_count: int | None = None
) -> bytes:
    """A ``recordFinder`` reply: ``found=N`` then ``records[i].Field=value`` lines."""
    lines = [f"found={len(records)}\r\n"]
    if total_count is not None:
        lines.append(f"totalCount={total_count}\r\n")
    for index, record in enumerate(records):
        lines.extend(f"records[{index}].{key}={_value(value)}\r\n" for key, value in record.items())
    return "".join(lines).encode()


def _flatten(prefix: str, value: object, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "":
                out.append(f"{prefix}={_value(child)}\r\n")
            else:
                _flatten(f"{prefix}.{key}", child, out)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            if child is not None:
                _flatten(f"{prefix}[{index}]", child, out)
    else:
        out.append(f"{prefix}={_value(value)}\r\n")


def format_table(name: str, value: object, *, prefix: str = "table.") -> bytes:
    """A config dump of ``value`` under ``name`` (the inverse of :func:`parse_table`)."""
    out: list[str] = []
    _flatten(prefix + name, value, out)
    return "".join(out).encode()
