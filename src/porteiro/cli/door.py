"""``porteiro door open``: open a door remotely, through the running hub.

The hub opens it through the device's API, records who asked (the token's name), when,
from where and the device's answer in its audit log, and limits how often a device's
doors may be opened. Doors are numbered from 1 here, as on the device and in
``porteiro device door``; the REST API numbers them from 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from porteiro.cli._common import language as lang_of
from porteiro.cli._hub import HUB, LANG, TOKEN, HubError, detail_text, hub_session, say

if TYPE_CHECKING:
    from porteiro.codes import Lang

__all__ = ["app"]

app = typer.Typer(help="Doors, through the running hub (--hub, --token).",
                  no_args_is_help=True)

_TEXT = {
    "opened": ("Door {door} of {device} opened (audit entry {audit}).",
               "Porta {door} de {device} aberta (registro de auditoria {audit})."),
    "unknown": ("The hub has no device named {device}.",
                "O hub não tem dispositivo chamado {device}."),
    "limited": ("Too many openings of {device}: try again in {wait} s.",
                "Aberturas demais em {device}: tente de novo em {wait} s."),
    "no_credentials": ("The hub has no password for {device} (set it in [[devices]]).",
                       "O hub não tem a senha de {device} (defina-a em [[devices]])."),
    "refused": ("{device} refused to open door {door}: {error}",
                "{device} recusou abrir a porta {door}: {error}"),
    "unreachable": ("{device} did not answer: {error}", "{device} não respondeu: {error}"),
    "door": ("--door is the door number, from 1.", "--door é o número da porta, a partir de 1."),
}


def _t(key: str, lang: Lang, **fields: object) -> str:
    return say(_TEXT, key, lang, **fields)


@app.callback()
def _group() -> None:
    """Doors, through the running hub."""


def _error_text(body: dict[str, Any]) -> str:
    error = body.get("error") or {}
    text = str(error.get("text") or body.get("text") or "")
    if error.get("code") is not None:
        text += f" ({error['code']} {error.get('name') or ''})".rstrip()
    return text


@app.command("open")
def open_door(
    device: str = typer.Argument(..., help="The device's name in the hub's configuration."),
    door: int = typer.Option(1, "--door", "-d", help="Door number, from 1 (the device's "
                             "channel)."),
    hub: str = HUB,
    token: str | None = TOKEN,
    lang: str = LANG,
) -> None:
    """Open a door now; the hub audits it. Exit status 1 when it did not open."""
    language = lang_of(lang)
    if not 1 <= door <= 8:
        raise typer.BadParameter(_t("door", language), param_hint="--door")
    err = Console(stderr=True, highlight=False)
    with hub_session(hub, token, language) as client:
        try:
            reply = client.request("POST", f"/api/devices/{device}/doors/{door - 1}/open",
                                   params={"lang": language})
        except HubError as exc:
            answer = exc.reply
            if answer is None or exc.status not in (404, 409, 429, 502):
                raise
            try:
                body: dict[str, Any] = answer.json()
            except ValueError:
                body = {}
            if exc.status == 404:
                message = _t("unknown", language, device=device)
            elif exc.status == 429:
                message = _t("limited", language, device=device,
                             wait=answer.headers.get("retry-after", "?"))
            elif exc.status == 409:
                message = _t("no_credentials", language, device=device)
            elif body.get("outcome") == "unreachable":
                message = _t("unreachable", language, device=device,
                             error=_error_text(body) or detail_text(answer))
            else:
                message = _t("refused", language, device=device, door=door,
                             error=_error_text(body) or detail_text(answer))
            err.print(escape(message), style="red")
            raise typer.Exit(1) from None
    body = reply.json()
    Console(highlight=False).print(escape(_t("opened", language, door=door, device=device,
                                             audit=body.get("audit_id"))))
