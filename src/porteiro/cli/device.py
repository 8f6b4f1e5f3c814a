"""``porteiro device ...``: talk to one reader from the shell."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path  # noqa: TC003  # typer reads the annotations at runtime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.device import Connected, Device, Disconnected
from porteiro.device.sync import Person, sync_people
from porteiro.events import Event
from porteiro.exceptions import PorteiroError
from porteiro.wire import Malformed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from porteiro.codes import Lang

app = typer.Typer(help="Talk to one device: info, time, doors, people, records, live events.",
                  no_args_is_help=True)
users_app = typer.Typer(help="Users on the device.", no_args_is_help=True)
cards_app = typer.Typer(help="Cards on the device.", no_args_is_help=True)
faces_app = typer.Typer(help="Face photos on the device.", no_args_is_help=True)
configure_app = typer.Typer(help="Push and Modo Online configuration.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(cards_app, name="cards")
app.add_typer(faces_app, name="faces")
app.add_typer(configure_app, name="configure")

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False)

_TEXT = {
    "error": ("Error: {error}", "Erro: {error}"),
    "done": ("Done.", "Pronto."),
    "sync": (("{added} added, {updated} updated, {removed} removed; cards +{cadd} -{crem}; "
              "{failed} failed"),
             ("{added} incluídos, {updated} atualizados, {removed} removidos; "
              "cartões +{cadd} -{crem}; {failed} com falha")),
    "records": ("{count} record(s)", "{count} registro(s)"),
    "connected": ("connected", "conectado"),
    "disconnected": ("disconnected: {reason}", "desconectado: {reason}"),
}


class _Options:
    host: str = "127.0.0.1:8080"
    user: str = "admin"
    password: str = ""
    ask_password: bool = False
    insecure: bool = False
    lang: Lang = "en"
    as_json: bool = False


OPTS = _Options()


def _t(key: str, **fields: Any) -> str:
    en, pt = _TEXT[key]
    return (pt if OPTS.lang == "pt" else en).format(**fields)


@app.callback()
def _connection(
    host: str = typer.Option("127.0.0.1:8080", "--host", envvar="PORTEIRO_HOST",
                             help="HOST[:PORT] or a URL (https:// for TLS)."),
    user: str = typer.Option("admin", "--user", envvar="PORTEIRO_USER"),
    password: str | None = typer.Option(None, "--password", envvar="PORTEIRO_PASSWORD",
                                        help="Asked for when needed if not given."),
    insecure: bool = typer.Option(False, "--insecure",
                                  help="Accept a self-signed HTTPS certificate."),
    lang: str = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Connection options (also from PORTEIRO_HOST, PORTEIRO_USER, PORTEIRO_PASSWORD)."""
    # Prompted for only when a command connects, so `--help` never asks for it.
    OPTS.host, OPTS.user, OPTS.password = host, user, password or ""
    OPTS.ask_password = password is None
    OPTS.insecure, OPTS.lang, OPTS.as_json = insecure, lang_of(lang), as_json


def _run(work: Callable[[Device], Awaitable[Any]]) -> Any:
    if OPTS.ask_password:
        OPTS.password = typer.prompt("Password", hide_input=True)
        OPTS.ask_password = False

    async def main() -> Any:
        async with Device(OPTS.host, user=OPTS.user, password=OPTS.password,
                          verify=not OPTS.insecure) as dev:
            return await work(dev)

    try:
        return asyncio.run(main())
    except PorteiroError as exc:
        _err.print(_t("error", error=exc), style="red")
        raise typer.Exit(1) from None


def _show(data: Any, columns: list[str] | None = None) -> None:
    if OPTS.as_json or columns is None:
        _out.file.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in data:
        table.add_row(*[str(row.get(c, "")) for c in columns])
    _out.print(table)


def _show_results(results: list[Any]) -> None:
    """Per-item batch results, the error decoded in the chosen language."""
    _show([{"key": r.key, "ok": r.ok, "error": r.error.describe(OPTS.lang) if r.error else None}
           for r in results])


@app.command()
def info() -> None:
    """Serial, model, firmware."""
    result = _run(lambda dev: dev.info())
    _show({"serial": result.serial, "device_type": result.device_type,
           "firmware": result.firmware, "hardware": result.hardware})


@app.command()
def time(set_to: str | None = typer.Option(None, "--set", help="now, or an ISO 8601 time.")
         ) -> None:
    """Show (or set) the device clock, in UTC."""
    async def work(dev: Device) -> datetime:
        if set_to is not None:
            when = datetime.now(UTC) if set_to == "now" else datetime.fromisoformat(set_to)
            await dev.set_time(when if when.tzinfo else when.replace(tzinfo=UTC))
        return await dev.get_time()

    _show({"time": _run(work).isoformat()})


@app.command()
def door(action: str = typer.Argument(..., help="open, close or status"),
         number: int = typer.Option(1, "--door", help="Door number, from 1.")) -> None:
    """Open, close or read a door (doors are numbered from 1, like the device's channel)."""
    index = number - 1

    async def work(dev: Device) -> dict[str, Any]:
        if action == "open":
            await dev.open_door(index)
        elif action == "close":
            await dev.close_door(index)
        elif action != "status":
            raise typer.BadParameter("use open, close or status")
        return {"door": number, "open": await dev.door_is_open(index)}

    _show(_run(work))


@users_app.command("list")
def users_list() -> None:
    """Every user."""
    _show(_run(lambda dev: dev.list_users()), ["UserID", "UserName", "UserType", "Doors"])


@users_app.command("add")
def users_add(user_id: str, name: str = typer.Option("", "--name"),
              password: str | None = typer.Option(None, "--pin"),
              doors: str = typer.Option("1", "--doors", help="Comma-separated, from 1.")) -> None:
    """Add (or update) one user."""
    person = Person(user_id, name, doors=tuple(int(d) - 1 for d in doors.split(",") if d),
                    password=password)
    _show_results(_run(lambda dev: dev.add_users([person.user_json()], update=True)))


@users_app.command("remove")
def users_remove(user_ids: list[str]) -> None:
    """Remove users (and their cards and faces)."""
    _run(lambda dev: dev.remove_users(user_ids))
    _out.print(_t("done"))


@cards_app.command("list")
def cards_list() -> None:
    """Every card."""
    _show(_run(lambda dev: dev.list_cards()), ["CardNo", "UserID", "CardType", "CardStatus"])


@cards_app.command("add")
def cards_add(card_no: str, user_id: str = typer.Option(..., "--user")) -> None:
    """Give a card to a user."""
    _show_results(_run(lambda dev: dev.add_cards([{"UserID": user_id, "CardNo": card_no}])))


@cards_app.command("remove")
def cards_remove(card_nos: list[str]) -> None:
    """Remove cards."""
    _run(lambda dev: dev.remove_cards(card_nos))
    _out.print(_t("done"))


@faces_app.command("add")
def faces_add(user_id: str, photo: Path = typer.Option(..., "--photo", exists=True,
                                                      dir_okay=False)) -> None:
    """Register a face photo (JPEG, at most 384 KiB)."""
    data = photo.read_bytes()
    try:
        result = _run(lambda dev: dev.add_face(user_id, data, update=True))
    except ValueError as exc:
        _err.print(_t("error", error=exc), style="red")
        raise typer.Exit(1) from None
    _show({"user_id": user_id, "ok": result.ok,
           "error": result.error.describe(OPTS.lang) if result.error else None})


@app.command()
def records(since: str | None = typer.Option(None, "--since", help="ISO 8601 (UTC)."),
            until: str | None = typer.Option(None, "--until", help="ISO 8601 (UTC)."),
            csv_file: Path | None = typer.Option(None, "--csv", help="Write a CSV file.")
            ) -> None:
    """Access records, paged, as decoded events."""
    def when(text: str | None) -> datetime | None:
        if text is None:
            return None
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    async def work(dev: Device) -> list[dict[str, Any]]:
        rows = []
        with Progress(console=_err, transient=True) as bar:
            task = bar.add_task("records", total=None)
            async for event in dev.iter_records(when(since), when(until)):
                rows.append(_record_row(event))
                bar.advance(task)
        return rows

    rows = _run(work)
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["record_no"])
            writer.writeheader()
            writer.writerows(rows)
        _err.print(_t("records", count=len(rows)))
        return
    _show(rows, None if OPTS.as_json else ["record_no", "time", "user_id", "card_no", "door",
                                           "granted", "summary"])


def _record_row(event: Any) -> dict[str, Any]:
    return {"record_no": event.record_no, "time": event.time.isoformat() if event.time else "",
            "user_id": event.user_id or "", "card_no": event.card_no or "",
            "door": (event.door or 0) + 1, "granted": event.granted,
            "method": int(event.method) if event.method is not None else "",
            "error": int(event.error) if event.error is not None else "",
            "summary": event.summary(OPTS.lang)}


def _load_people(path: Path) -> list[Person]:
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    people = []
    for row in rows:
        cards = row.get("cards") or row.get("card") or ""
        card_list = cards if isinstance(cards, list) else [c for c in str(cards).split(";") if c]
        doors = row.get("doors") or "1"
        door_list = doors if isinstance(doors, list) else [int(d) for d in str(doors).split(";")]
        people.append(Person(str(row["user_id"]), str(row.get("name", "")),
                             cards=tuple(str(c).strip() for c in card_list),
                             doors=tuple(int(d) - 1 for d in door_list),
                             password=str(row["pin"]) if row.get("pin") else None))
    return people


@app.command()
def sync(people_file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                            help="CSV (user_id,name,cards,doors,pin; cards "
                                            "and doors separated by ';') or JSON list."),
         keep_others: bool = typer.Option(False, "--keep-others",
                                          help="Do not remove people missing from the file.")
         ) -> None:
    """Make the device's people match the file; only the differences are sent."""
    people = _load_people(people_file)

    async def work(dev: Device) -> Any:
        with Progress(console=_err, transient=True) as bar:
            task = bar.add_task("sync", total=None)
            return await sync_people(dev, people, remove_missing=not keep_others,
                                     progress=lambda d, t: bar.update(task, completed=d,
                                                                      total=t))

    report = _run(work)
    summary = _t("sync", added=report.users_added, updated=report.users_updated,
                 removed=report.users_removed, cadd=report.cards_added,
                 crem=report.cards_removed, failed=len(report.failures))
    if OPTS.as_json:
        _show({"users_added": report.users_added, "users_updated": report.users_updated,
               "users_removed": report.users_removed, "cards_added": report.cards_added,
               "cards_updated": report.cards_updated, "cards_removed": report.cards_removed,
               "faces_added": report.faces_added, "faces_removed": report.faces_removed,
               "failures": [{"key": f.key, "error": f.error.describe(OPTS.lang)
                             if f.error else None} for f in report.failures]})
    else:
        _out.print(summary)
        for failure in report.failures:
            meaning = failure.error.describe(OPTS.lang) if failure.error else "?"
            _err.print(f"  {failure.key}: {meaning}", style="yellow")
    if report.failures:
        raise typer.Exit(1)


@app.command()
def watch(codes: str = typer.Option("All", "--codes", help="Comma-separated event codes."),
          output: str = typer.Option("summary", "--format", help="summary, jsonl or table"),
          heartbeat: int = typer.Option(5, "--heartbeat", min=1, max=60)) -> None:
    """Live decoded events; survives device reboots and network drops (Ctrl-C to stop)."""
    async def work(dev: Device) -> None:
        async with dev.events([c.strip() for c in codes.split(",") if c.strip()],
                              heartbeat=heartbeat) as stream:
            async for item in stream:
                if isinstance(item, Event):
                    if output == "jsonl":
                        sys.stdout.write(json.dumps(item.to_dict(OPTS.lang), ensure_ascii=False,
                                                    default=str) + "\n")
                        sys.stdout.flush()
                    elif output == "table":
                        stamp = item.time.strftime("%Y-%m-%d %H:%M:%S") if item.time else ""
                        granted = getattr(item, "granted", None)
                        mark = "" if granted is None else ("+" if granted else "-")
                        _out.print(f"{stamp:19}  {item.code:16.16}  {mark:1}  "
                                   f"{item.summary(OPTS.lang)}")
                    else:
                        stamp = item.time.strftime("%H:%M:%S") if item.time else "--:--:--"
                        _out.print(f"{stamp}  {item.summary(OPTS.lang)}")
                elif isinstance(item, Connected):
                    _err.print(_t("connected"), style="green")
                elif isinstance(item, Disconnected):
                    _err.print(_t("disconnected", reason=item.reason), style="yellow")
                elif isinstance(item, Malformed):
                    _err.print(item.text(OPTS.lang), style="yellow")

    with contextlib.suppress(KeyboardInterrupt):
        _run(work)


@configure_app.command("push")
def configure_push(server: str = typer.Argument(..., help="Server IP (not a name)."),
                   port: int = typer.Option(3000, "--port"),
                   path: str = typer.Option("/notification", "--path")) -> None:
    """DeviceMode=1: push every event to the server."""
    _run(lambda dev: dev.configure_push(server, port, path))
    _out.print(_t("done"))


@configure_app.command("online")
def configure_online(server: str = typer.Argument(..., help="Server IP (not a name)."),
                     port: int = typer.Option(3000, "--port"),
                     path: str = typer.Option("/notification", "--path"),
                     keepalive: int = typer.Option(10, "--keepalive", help="Seconds."),
                     timeout: int = typer.Option(5, "--timeout", help="RemoteCheckTimeout (s).")
                     ) -> None:
    """DeviceMode=2 (Modo Online): the server decides access."""
    _run(lambda dev: dev.configure_online(server, port, path, keepalive_interval=keepalive,
                                          check_timeout=timeout))
    _out.print(_t("done"))


@app.command()
def reboot() -> None:
    """Restart the device."""
    _run(lambda dev: dev.reboot())
    _out.print(_t("done"))
