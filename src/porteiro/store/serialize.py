"""One stored event row to the JSON the API serves, the live stream sends and the sinks
forward (and the CSV export).

The row keeps the device's raw ``data``; the event is rebuilt from it with
:func:`~porteiro.events.build_event`, so stored events always describe themselves with
the current code tables and texts. Only the time is taken from the row (``ts``): the
device offset applied at ingest (``local_epochs`` firmware) is not in the raw data.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from porteiro.events import build_event
from porteiro.wire import RawEvent

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from porteiro.codes import Lang

__all__ = ["CSV_COLUMNS", "csv_lines", "csv_row", "encode", "event_json", "iso", "offset_text"]

CSV_COLUMNS = ("id", "time", "device", "kind", "code", "granted", "user_id", "card_no", "door",
               "method", "method_text", "error", "error_text", "summary")

_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON bytes (msgspec: several times faster than ``json`` on event pages)."""
    return _encode.encode(value)


def iso(epoch: float | None) -> str | None:
    """``2026-09-30T12:30:00Z`` (None when there is no time or it cannot be shown)."""
    if epoch is None:
        return None
    try:
        when = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when.isoformat().replace("+00:00", "Z")


def offset_text(seconds: int) -> str:
    """``-10800`` -> ``-03:00``."""
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def event_json(row: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """The API's view of one stored event row (from the store or the live bus)."""
    try:
        data = _decode.decode(row["data"])
    except msgspec.DecodeError:
        data = {}
    raw = RawEvent(row["code"], row["action"], int(row["idx"]),
                   data if isinstance(data, dict) else {})
    event = build_event(raw)
    ts = row["ts"]
    if ts is not None and event.timestamp is not None and event.timestamp != ts:
        # Stored with the device's offset applied: apply it to every time field alike.
        event = build_event(raw, utc_offset=timedelta(seconds=event.timestamp - ts))
    event_id = int(row["id"])
    out: dict[str, Any] = {"id": event_id, "device": row["device"]}
    out.update(event.to_dict(lang))
    out["time"] = iso(ts)
    out["source"] = row["source"]
    out["received_at"] = iso(row["received_at"])
    out["rec_no"] = row["rec_no"]
    out["utc_offset"] = offset_text(int(row["utc_offset_s"] or 0))
    out["snapshot_url"] = (f"/api/events/{event_id}/snapshot" if row.get("has_snapshot")
                           else None)
    return out


def _text(entry: Any) -> str:
    return str(entry.get("text", "")) if isinstance(entry, dict) else ""


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in device-provided text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_row(row: Mapping[str, Any], event: Mapping[str, Any]) -> list[Any]:
    """The :data:`CSV_COLUMNS` of one event (``row`` stored, ``event`` its JSON)."""
    granted = row["granted"]
    return [_cell(v) for v in (
        event["id"], event["time"] or "", event["device"], event["kind"], event["code"],
        "" if granted is None else str(bool(granted)).lower(), row["user_id"] or "",
        row["card_no"] or "", "" if row["door"] is None else row["door"],
        "" if row["method"] is None else row["method"], _text(event.get("method")),
        "" if row["error"] is None else row["error"], _text(event.get("error")),
        event["summary"])]


def csv_lines(rows: Iterable[Mapping[str, Any]], lang: Lang, *, header: bool) -> str:
    """CSV text for ``rows`` (with the header line first when ``header``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(row, event_json(row, lang)) for row in rows)
    return buffer.getvalue()
