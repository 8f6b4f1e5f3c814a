"""``porteiro decode``: turn a capture of what a device said into readable events."""

from __future__ import annotations

import enum
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.events import AccessControlEvent, Event, build_event, event_from_record
from porteiro.exceptions import MalformedInputError
from porteiro.wire import AttachStreamParser, Heartbeat, InputFormat, Malformed, RawEvent, sniff
from porteiro.wire.detect import split_http_message

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from porteiro.codes import Lang

CHUNK = 65536
SNIFF_BYTES = 16384


class OutputFormat(enum.StrEnum):
    """How ``decode`` prints events."""

    JSONL = "jsonl"
    TABLE = "table"
    SUMMARY = "summary"


class InputChoice(enum.StrEnum):
    """What the input is (``auto`` sniffs it)."""

    AUTO = "auto"
    ATTACH = "attach"
    PUSH = "push"
    RECORDS = "records"
    TEXT = "text"


_MESSAGES: dict[str, tuple[str, str]] = {
    "cannot_read": ("cannot read {source}: {error}", "não foi possível ler {source}: {error}"),
    "malformed": (
        "malformed input at byte {offset}: {reason}: {raw}",
        "entrada malformada no byte {offset}: {reason}: {raw}",
    ),
    "totals": (
        "{events} event(s), {heartbeats} heartbeat(s), {malformed} malformed part(s)",
        "{events} evento(s), {heartbeats} heartbeat(s), {malformed} parte(s) malformada(s)",
    ),
    "unreadable": (
        "nothing in the input could be decoded (detected format: {fmt})",
        "nada na entrada pôde ser decodificado (formato detectado: {fmt})",
    ),
}


def _msg(key: str, lang: Lang, **fields: Any) -> str:
    en, pt = _MESSAGES[key]
    return (pt if lang == "pt" else en).format(**fields)


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """Chunks as soon as they arrive (a live ``curl`` pipe decodes event by event)."""
    read = getattr(stream, "read1", None) or stream.read
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return
        yield chunk


def _items(fmt: InputFormat, head: bytes, rest: Iterator[bytes], offset: timedelta | None
           ) -> Iterator[Event | Heartbeat | Malformed]:
    """Decode the input as ``fmt``; yields events as soon as they are complete."""
    if fmt in (InputFormat.ATTACH, InputFormat.EVENT_TEXT, InputFormat.UNKNOWN):
        parser = AttachStreamParser()
        for chunk in _chain(head, rest):
            for item in parser.feed(chunk):
                yield build_event(item, utc_offset=offset) if isinstance(item, RawEvent) else item
        for item in parser.close():
            yield build_event(item, utc_offset=offset) if isinstance(item, RawEvent) else item
        return
    data = head + b"".join(rest)
    if fmt is InputFormat.RECORDS:
        from porteiro.wire.kv import parse_records  # noqa: PLC0415  # only this path needs it

        try:
            page = parse_records(data)
        except MalformedInputError as exc:
            yield Malformed.of(exc.reason, data)
            return
        for record in page.records:
            yield event_from_record(record, utc_offset=offset)
        return
    from porteiro.wire.push import parse_push_body  # noqa: PLC0415  # only this path needs it

    headers, body = split_http_message(data)
    try:
        push = parse_push_body(
            body, headers.get("content-type"), headers.get("content-encoding")
        )
    except MalformedInputError as exc:
        yield Malformed.of(exc.reason, data)
        return
    for raw in push.events:
        yield build_event(raw, utc_offset=offset)
    yield from push.problems


def _chain(head: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _summary_line(event: Event, lang: Lang) -> str:
    when = event.time
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") if when else "-" * 19
    text = escape(event.summary(lang))
    if isinstance(event, AccessControlEvent) and event.granted is not None:
        text = f"[green]{text}[/]" if event.granted else f"[red]{text}[/]"
    return f"[dim]{stamp}[/]  {text}"


def decode(
    source: str = typer.Argument(
        "-", help="Capture file to decode, or - for standard input (live pipes work)."
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.SUMMARY, "--format", "-f", help="jsonl: one JSON object per event; "
        "table: a table; summary: one readable line per event."
    ),
    lang: str = typer.Option(
        "en", "--lang", "-l", envvar="PORTEIRO_LANG", help="Language of texts: en or pt."
    ),
    input_format: InputChoice = typer.Option(
        InputChoice.AUTO, "--input", "-i", help="What the input is; auto detects it."
    ),
    utc_offset: float | None = typer.Option(
        None,
        "--utc-offset",
        help="Hours from UTC of a device that writes local wall time into its epoch "
        "fields (e.g. -3 for Brasília). Leave unset for devices that send true UTC.",
    ),
    heartbeats: bool = typer.Option(
        False, "--heartbeats", help="Also print heartbeats (jsonl and summary)."
    ),
) -> None:
    """Decode an attach-stream capture, a push body, a recordFinder listing or event text.

    The input format is detected. Malformed parts are reported on stderr with a count
    and never stop the good events around them. Exit status is non-zero only when the
    input cannot be read at all.

    Examples:

      porteiro decode capture.txt

      porteiro decode push-body.bin --format jsonl --lang pt

      curl -s --digest -u admin:pass -N \\
        'http://IP/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=5' \\
        | porteiro decode -
    """
    language = lang_of(lang)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    try:
        stream: IO[bytes] = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115
    except OSError as exc:
        err.print(_msg("cannot_read", language, source=source, error=exc.strerror or exc))
        raise typer.Exit(2) from exc
    offset = timedelta(hours=utc_offset) if utc_offset is not None else None
    counts = {"events": 0, "heartbeats": 0, "malformed": 0}
    table = _new_table(language) if output is OutputFormat.TABLE else None
    try:
        chunks = _read_chunks(stream)
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES or b"\n" in head:
                break
        fmt = sniff(head) if input_format is InputChoice.AUTO else InputFormat(input_format.value)
        for item in _items(fmt, head, chunks, offset):
            if isinstance(item, Malformed):
                counts["malformed"] += 1
                raw = item.raw[:120].decode("utf-8", "replace")
                err.print(escape(_msg("malformed", language, offset=item.offset,
                                      reason=item.text(language), raw=repr(raw))),
                          style="yellow")
            elif isinstance(item, Heartbeat):
                counts["heartbeats"] += 1
                if heartbeats and output is OutputFormat.JSONL:
                    out.file.write('{"kind":"heartbeat"}\n')
                elif heartbeats and output is OutputFormat.SUMMARY:
                    out.print("[dim]heartbeat[/]")
            else:
                counts["events"] += 1
                _emit(item, output, language, out, table)
            if output is not OutputFormat.TABLE:
                out.file.flush()
    except OSError as exc:
        err.print(_msg("cannot_read", language, source=source, error=exc.strerror or exc))
        raise typer.Exit(2) from exc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if table is not None:
        out.print(table)
    err.print(_msg("totals", language, **counts), style="dim")
    if counts["events"] == 0 and counts["malformed"] > 0:
        err.print(_msg("unreadable", language, fmt=fmt.value), style="red")
        raise typer.Exit(1)


def _emit(event: Event, output: OutputFormat, lang: Lang, out: Console, table: Table | None
          ) -> None:
    if output is OutputFormat.JSONL:
        out.file.write(json.dumps(event.to_dict(lang), ensure_ascii=False, default=str) + "\n")
    elif output is OutputFormat.SUMMARY:
        out.print(_summary_line(event, lang))
    elif table is not None:
        when = event.time
        granted = ""
        if isinstance(event, AccessControlEvent) and event.granted is not None:
            granted = ("sim" if event.granted else "não") if lang == "pt" else (
                "yes" if event.granted else "no")
        table.add_row(
            when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
            event.code,
            event.action,
            granted,
            escape(event.summary(lang)),
        )


def _new_table(lang: Lang) -> Table:
    pt = lang == "pt"
    table = Table(show_lines=False)
    table.add_column("Hora (UTC)" if pt else "Time (UTC)", no_wrap=True)
    table.add_column("Código" if pt else "Code", no_wrap=True)
    table.add_column("Ação" if pt else "Action")
    table.add_column("Liberado" if pt else "Granted")
    table.add_column("Resumo" if pt else "Summary")
    return table
