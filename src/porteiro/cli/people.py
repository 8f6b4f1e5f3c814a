"""``porteiro people``: the site's people, through the running hub's API.

``import`` reads a CSV or JSON file, sends it to ``POST /api/people/import`` in
chunks (1,000 rows per request by default, with a progress bar when there is more than
one), then prints what was created, updated and left unchanged and every refused row
(row number, 1-based without the CSV header; field; reason). ``export`` and ``list``
read the API. The hub validates and audits each change (the token's name is the
actor). Talking to the hub: :mod:`porteiro.cli._hub` (``--hub``, ``--token``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path  # noqa: TC003  # typer reads the annotations at runtime
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.cli._hub import HUB, LANG, TOKEN, HubClient, HubError, hub_session, say
from porteiro.exceptions import PeopleError
from porteiro.hub.people import parse_people_file

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from porteiro.codes import Lang

__all__ = ["app", "import_chunks"]

app = typer.Typer(
    help="The site's people, through the running hub (--hub, --token): import, export, list, "
    "sync to the readers.",
    no_args_is_help=True,
)

_TEXT = {
    "format": ("Cannot tell the format of {file} from its name: use --format csv or json.",
               "Não dá para saber o formato de {file} pelo nome: use --format csv ou json."),
    "bad_format": ("--format is csv or json.", "--format é csv ou json."),
    "unreadable": ("Cannot read {file}: {reason}", "Não foi possível ler {file}: {reason}"),
    "empty": ("{file} has no rows.", "{file} não tem linhas."),
    "importing": ("Importing", "Importando"),
    "summary": (("{file}: {created} created, {updated} updated, {unchanged} unchanged, "
                 "{errors} refused (of {rows} rows)."),
                ("{file}: {created} criada(s), {updated} atualizada(s), {unchanged} sem "
                 "mudança, {errors} recusada(s) (de {rows} linhas).")),
    "row_error": ("row {row}, {field}: {message}", "linha {row}, {field}: {message}"),
    "stopped": ("Stopped after {done} of {rows} rows; what was sent before is imported.",
                ("Parou depois de {done} de {rows} linhas; o que foi enviado antes foi "
                 "importado.")),
    "exported": ("Exported {count} people to {file}.",
                 "{count} pessoa(s) exportada(s) para {file}."),
    "none": ("No people.", "Nenhuma pessoa."),
    "more": ("(the first {count}; use --limit for more)",
             "(as primeiras {count}; use --limit para mais)"),
    "id": ("ID", "ID"), "name": ("Name", "Nome"), "type": ("Type", "Tipo"),
    "status": ("Status", "Situação"), "cards": ("Cards", "Cartões"), "face": ("Face", "Face"),
    "valid_to": ("Valid until", "Válido até"), "yes": ("yes", "sim"),
    # porteiro people sync
    "sync_scheduled": ("Sync scheduled: {devices}.", "Sincronização agendada: {devices}."),
    "sync_nothing": ("No reader to sync.", "Nenhuma leitora para sincronizar."),
    "sync_skipped": ("{device}: skipped ({reason})", "{device}: ignorada ({reason})"),
    "sync_waiting": ("Syncing", "Sincronizando"),
    "sync_timeout": ("Still running after {seconds:.0f} s; see GET /api/sync.",
                     "Ainda em andamento depois de {seconds:.0f} s; veja GET /api/sync."),
    "sync_done": (("{device}: done; this run {applied} sent, {unchanged} unchanged, "
                   "{removed} removed, {failed} failed. Now {ok} applied, {pending} pending, "
                   "{bad} failed."),
                  ("{device}: concluída; nesta execução {applied} enviada(s), {unchanged} "
                   "sem mudança, {removed} removida(s), {failed} com falha. Agora {ok} "
                   "aplicada(s), {pending} pendente(s), {bad} com falha.")),
    "sync_offline": ("{device}: offline ({reason}); {pending} pending, synced when it is back.",
                     ("{device}: fora do ar ({reason}); {pending} pendente(s), sincronizada "
                      "quando voltar.")),
    "sync_error": ("{device}: error ({reason}); {pending} pending.",
                   "{device}: erro ({reason}); {pending} pendente(s)."),
    "sync_failure": ("  person {user_id}: {part}: {text}",
                     "  pessoa {user_id}: {part}: {text}"),
    "sync_more": ("  ... and {count} more (GET /api/sync?state=failed)",
                  "  ... e mais {count} (GET /api/sync?state=failed)"),
    "part_user": ("user", "usuário"), "part_cards": ("cards", "cartões"),
    "part_face": ("face", "face"),
    "reason_password": ("no password configured for this device",
                        "nenhuma senha configurada para esta leitora"),
    "reason_mode": ("mode {mode} is not in [people] sync_modes",
                    "o modo {mode} não está em [people] sync_modes"),
}

Format = Literal["csv", "json"]


def _t(key: str, lang: Lang, **fields: object) -> str:
    return say(_TEXT, key, lang, **fields)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _format(value: str | None, path: Path | None, lang: Lang, *, default: Format | None
            ) -> Format:
    """``--format``, else the file's extension, else ``default``."""
    if value is not None:
        if value.lower() not in ("csv", "json"):
            raise typer.BadParameter(_t("bad_format", lang), param_hint="--format")
        return "csv" if value.lower() == "csv" else "json"
    suffix = path.suffix.lower() if path is not None else ""
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "json"
    if default is not None:
        return default
    raise typer.BadParameter(_t("format", lang, file=path), param_hint="--format")


def import_chunks(client: HubClient, rows: Sequence[dict[str, Any]], *, chunk: int = 1000
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Send ``rows`` to the hub ``chunk`` rows per request; yields, per request, the
    rows sent so far and the hub's report (error rows numbered in the whole file)."""
    for start in range(0, len(rows), chunk):
        part = list(rows[start:start + chunk])
        reply = client.request("POST", "/api/people/import", params={"format": "json"},
                               content=json.dumps({"people": part}, ensure_ascii=False),
                               headers={"Content-Type": "application/json"})
        report = reply.json()
        report["errors"] = [{**e, "row": int(e["row"]) + start} for e in report["errors"]]
        yield start + len(part), report


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="A CSV (with a header line) or JSON people file."),
    file_format: str | None = typer.Option(None, "--format", "-f", help="csv or json "
                                           "(default: from the file's extension)."),
    chunk: int = typer.Option(1000, "--chunk", min=1, max=10_000,
                              help="Rows per request to the hub."),
    hub: str = HUB,
    token: str | None = TOKEN,
    lang: str = LANG,
) -> None:
    """Create or update people from a file; each refused row is reported with its
    field, the others are imported. Importing the same file again changes nothing.
    Exit status 1 when any row was refused."""
    language = lang_of(lang)
    fmt = _format(file_format, file, language, default=None)
    err = _err()
    try:
        rows = parse_people_file(file.read_bytes(), fmt)
    except UnicodeDecodeError:
        err.print(_t("unreadable", language, file=file, reason="not UTF-8 text"), style="red")
        raise typer.Exit(1) from None
    except (OSError, ValueError, PeopleError, csv.Error) as exc:
        err.print(escape(_t("unreadable", language, file=file, reason=exc)), style="red")
        raise typer.Exit(1) from None
    if not rows:
        err.print(_t("empty", language, file=file))
        return
    report: dict[str, Any] = {"created": 0, "updated": 0, "unchanged": 0, "errors": []}
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=len(rows) <= chunk)
    done = 0
    with hub_session(hub, token, language) as client, progress:
        task = progress.add_task(_t("importing", language), total=len(rows))
        try:
            for done, part in import_chunks(client, rows, chunk=chunk):  # used after
                for key in ("created", "updated", "unchanged"):
                    report[key] += int(part[key])
                report["errors"] += part["errors"]
                progress.update(task, completed=done)
        except HubError:
            if done:
                progress.stop()
                err.print(_t("stopped", language, done=done, rows=len(rows)), style="yellow")
            raise
    errors = report["errors"]
    Console(highlight=False).print(escape(_t(
        "summary", language, file=file, created=report["created"],
        updated=report["updated"], unchanged=report["unchanged"], errors=len(
            {e["row"] for e in errors}), rows=len(rows))))
    for error in errors:
        message = (error.get("message_pt") if language == "pt" else None) or error["message"]
        err.print(escape(_t("row_error", language, row=error["row"], field=error["field"],
                            message=message)), style="red")
    if errors:
        raise typer.Exit(1)


@app.command("export")
def export(
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False,
                                       help="Write here (default: standard output)."),
    file_format: str | None = typer.Option(None, "--format", "-f", help="csv or json "
                                           "(default: from --output's extension, else "
                                           "json)."),
    hub: str = HUB,
    token: str | None = TOKEN,
    lang: str = LANG,
) -> None:
    """Every person in the import's format (no passwords, no photos)."""
    language = lang_of(lang)
    fmt = _format(file_format, output, language, default="json")
    with hub_session(hub, token, language) as client:
        content = client.request("GET", "/api/people/export", params={"format": fmt}).content
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    output.write_bytes(content)
    if fmt == "json":
        count = len(json.loads(content)["people"])
    else:
        count = max(0, sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8")))) - 1)
    _err().print(escape(_t("exported", language, count=count, file=output)))


@app.command("list")
def list_people(
    search: str | None = typer.Option(None, "--search", "-q", help="Part of the name, id "
                                      "or external id."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=1_000_000),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    hub: str = HUB,
    token: str | None = TOKEN,
    lang: str = LANG,
) -> None:
    """People by id."""
    language = lang_of(lang)
    people: list[dict[str, Any]] = []
    more = False
    with hub_session(hub, token, language) as client:
        after: str | None = None
        while len(people) < limit:
            params: dict[str, Any] = {"limit": min(1000, limit - len(people))}
            if after is not None:
                params["after"] = after
            if search:
                params["q"] = search
            page = client.request("GET", "/api/people", params=params).json()
            people += page["people"]
            after = page["next_after"]
            if after is None:
                break
        more = after is not None
    if as_json:
        for person in people:
            sys.stdout.write(json.dumps(person, ensure_ascii=False) + "\n")
        return
    if not people:
        _err().print(_t("none", language))
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "name", "type", "status", "cards", "face", "valid_to"):
        table.add_column(_t(column, language))
    for person in people:
        valid_to = person.get("valid_to")
        table.add_row(
            escape(person["user_id"]), escape(person["name"]), person["type"],
            person["status"], str(len(person["cards"])),
            _t("yes", language) if person["has_face"] else "",
            datetime.fromisoformat(valid_to).strftime("%Y-%m-%d %H:%M") if valid_to else "",
            style="dim" if person["status"] != "active" else "")
    Console(highlight=False).print(table)
    if more:
        _err().print(_t("more", language, count=limit))


_SYNC_FAILURES_SHOWN = 20


def _reason(reason: str | None, lang: Lang) -> str:
    """A skip reason from the hub, in ``lang`` when it is one the hub gives."""
    text = reason or ""
    if text == "no password configured for this device":
        return _t("reason_password", lang)
    found = re.fullmatch(r"mode (\w+) is not in \[people\] sync_modes", text)
    if found:
        return _t("reason_mode", lang, mode=found[1])
    return text


def _failure_line(row: dict[str, Any], lang: Lang) -> str:
    error = row.get("error") or {}
    detail = str(error.get("detail") or "")
    part, sep, message = detail.partition(": ")
    if sep and part in ("user", "cards", "face"):
        part_text = _t(f"part_{part}", lang)
    else:
        part_text, message = _t("part_user", lang), detail
    text = error.get("pt" if lang == "pt" else "en") or message or "?"
    code = f" ({error['code']} {error.get('name') or ''})".replace(" )", ")") if error.get(
        "code") is not None else ""
    return _t("sync_failure", lang, user_id=row["user_id"], part=part_text, text=text) + code


@app.command("sync")
def sync(
    devices: list[str] | None = typer.Option(None, "--device", "-d", help="Only this "
                                             "reader (repeat for more; default: all)."),
    wait: bool = typer.Option(False, "--wait", "-w", help="Wait until the readers are "
                              "done, then print each one's summary and failures."),
    timeout: float = typer.Option(900.0, "--timeout", min=1.0, help="With --wait: stop "
                                  "waiting after this many seconds."),
    hub: str = HUB,
    token: str | None = TOKEN,
    lang: str = LANG,
) -> None:
    """Push the people database to the readers (only what differs is sent); the hub
    works in the background. With --wait, exit status 1 when a person failed or a
    reader could not be synced."""
    language = lang_of(lang)
    # Whole lines, never wrapped: scripts read them.
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with hub_session(hub, token, language) as client:
        body = {"devices": devices} if devices else None
        answer = client.request("POST", "/api/people/sync", json=body, expect=(202,)).json()
        scheduled: list[str] = answer["scheduled"]
        if scheduled:
            out.print(escape(_t("sync_scheduled", language, devices=", ".join(scheduled))))
        else:
            out.print(_t("sync_nothing", language))
        for skipped in answer["skipped"]:
            err.print(escape(_t("sync_skipped", language, device=skipped["device"],
                                reason=_reason(skipped["reason"], language))),
                      style="yellow")
        if not wait or not scheduled:
            return
        status = _wait_for_sync(client, scheduled, timeout, language)
        if status is None:
            err.print(_t("sync_timeout", language, seconds=timeout), style="yellow")
            raise typer.Exit(1)
        trouble = False
        for entry in status["devices"]:
            if entry["device"] not in scheduled:
                continue
            trouble |= _print_device(client, entry, language, out, err)
    if trouble:
        raise typer.Exit(1)


def _wait_for_sync(client: HubClient, devices: list[str], timeout: float, lang: Lang
                   ) -> dict[str, Any] | None:
    """Poll ``GET /api/sync`` until none of ``devices`` is queued or running."""
    deadline = time.monotonic() + timeout
    with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), console=_err(),
                  transient=True) as progress:
        progress.add_task(_t("sync_waiting", lang), total=None)
        while True:
            status: dict[str, Any] = client.request("GET", "/api/sync",
                                                    params={"limit": 1}).json()
            states = {d["device"]: d["state"] for d in status["devices"]}
            if all(states.get(name) not in ("queued", "running") for name in devices):
                return status
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.5)


def _print_device(client: HubClient, entry: dict[str, Any], lang: Lang, out: Console,
                  err: Console) -> bool:
    """One reader's summary and failures; True when something is wrong."""
    name, counts = entry["device"], entry["counts"]
    last = entry.get("last_result") or {}
    if entry["state"] == "offline":
        err.print(escape(_t("sync_offline", lang, device=name, reason=entry["reason"],
                            pending=counts["pending"])), style="yellow")
        return True
    if entry["state"] != "idle":
        err.print(escape(_t("sync_error", lang, device=name,
                            reason=_reason(entry["reason"], lang),
                            pending=counts["pending"])), style="red")
        return True
    out.print(escape(_t("sync_done", lang, device=name, applied=last.get("applied", 0),
                        unchanged=last.get("unchanged", 0), removed=last.get("removed", 0),
                        failed=last.get("failed", 0), ok=counts["applied"],
                        pending=counts["pending"], bad=counts["failed"])))
    if not counts["failed"]:
        return False
    rows = client.request("GET", "/api/sync", params={
        "device": name, "state": "failed", "limit": _SYNC_FAILURES_SHOWN}).json()["people"]
    for row in rows:
        err.print(escape(_failure_line(row, lang)), style="red")
    if counts["failed"] > len(rows):
        err.print(_t("sync_more", lang, count=counts["failed"] - len(rows)), style="red")
    return True
