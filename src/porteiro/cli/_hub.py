"""Talking to a running hub's REST API from the command line.

Commands that change the hub's state (``porteiro people ...``, ``porteiro door
open``) go through the API, not the database: the hub validates, audits and syncs.
Each such command takes the shared options :data:`HUB`, :data:`TOKEN` and :data:`LANG`
and opens a :func:`hub_session`::

    @app.command("sync")
    def sync(hub: str = HUB, token: str | None = TOKEN, lang: str = LANG) -> None:
        with hub_session(hub, token, lang) as client:
            reply = client.request("POST", "/api/people/sync")

Inside the session a :class:`HubError` (hub unreachable, token refused, an error
answer) is printed in the chosen language and ends the command with status 1.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from porteiro.cli._common import language

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from porteiro.codes import Lang

__all__ = ["DEFAULT_HUB", "HUB", "LANG", "TOKEN", "HubClient", "HubError", "detail_text",
           "hub_session", "say"]

DEFAULT_HUB = "http://127.0.0.1:8000"

HUB = typer.Option(DEFAULT_HUB, "--hub", envvar="PORTEIRO_HUB", show_envvar=True,
                   help="The hub's base URL.")
TOKEN = typer.Option(None, "--token", envvar="PORTEIRO_TOKEN", show_envvar=True,
                     show_default=False, help="One of the hub's tokens (porteiro.toml); "
                     "changes need one with the admin scope.")
LANG = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG", help="en or pt.")

_TEXT = {
    "unreachable": (("Cannot reach the hub at {url}: {error}. Is `porteiro serve` running "
                     "there? (--hub or PORTEIRO_HUB)"),
                    ("Não foi possível falar com o hub em {url}: {error}. O `porteiro "
                     "serve` está rodando lá? (--hub ou PORTEIRO_HUB)")),
    "timeout": ("The hub at {url} did not answer in time.",
                "O hub em {url} não respondeu a tempo."),
    "no_token": ("The hub asks for a token: pass --token or set PORTEIRO_TOKEN.",
                 "O hub pede um token: use --token ou defina PORTEIRO_TOKEN."),
    "bad_token": ("The hub refused the token (401): check --token or PORTEIRO_TOKEN.",
                  "O hub recusou o token (401): confira --token ou PORTEIRO_TOKEN."),
    "forbidden": ("The token may not do this (403): {detail}.",
                  "O token não tem permissão para isto (403): {detail}."),
    "http": ("The hub answered {status}: {detail}", "O hub respondeu {status}: {detail}"),
}


def say(table: Mapping[str, tuple[str, str]], key: str, lang: Lang, **fields: object) -> str:
    """``table[key]`` in ``lang`` (``(english, portuguese)`` pairs), formatted."""
    en, pt = table[key]
    return (pt if lang == "pt" else en).format(**fields)


class HubError(Exception):
    """The hub could not be asked, or it refused; the message is for the user."""

    def __init__(self, message: str, *, status: int | None = None,
                 reply: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reply = reply


def detail_text(reply: httpx.Response) -> str:
    """The ``detail`` of an error answer in one line (``field: message; ...``)."""
    try:
        body: Any = reply.json()
    except ValueError:
        return reply.text.strip()[:300] or reply.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and "message" in item:
                parts.append(f"{item.get('field')}: {item['message']}")
            elif isinstance(item, dict) and "msg" in item:
                where = ".".join(str(p) for p in item.get("loc", [])[1:])
                parts.append(f"{where}: {item['msg']}")
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


class HubClient:
    """A synchronous client of the hub's API (bearer token, errors as :class:`HubError`)."""

    def __init__(self, url: str, token: str | None, lang: Lang, *, timeout: float = 120.0
                 ) -> None:
        self.url = url.rstrip("/")
        self.lang = lang
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._token = token

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 204),
                **kwargs: Any) -> httpx.Response:
        """Send a request; an answer outside ``expect`` raises :class:`HubError`."""
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise HubError(say(_TEXT, "timeout", self.lang, url=self.url)) from None
        except httpx.TransportError as exc:
            raise HubError(say(_TEXT, "unreachable", self.lang, url=self.url,
                               error=str(exc) or type(exc).__name__)) from None
        if reply.status_code in expect:
            return reply
        if reply.status_code == 401:
            key = "bad_token" if self._token else "no_token"
            raise HubError(say(_TEXT, key, self.lang), status=401, reply=reply)
        if reply.status_code == 403:
            raise HubError(say(_TEXT, "forbidden", self.lang, detail=detail_text(reply)),
                           status=403, reply=reply)
        raise HubError(say(_TEXT, "http", self.lang, status=reply.status_code,
                           detail=detail_text(reply)), status=reply.status_code, reply=reply)


@contextlib.contextmanager
def hub_session(url: str, token: str | None, lang: str | Lang) -> Iterator[HubClient]:
    """A :class:`HubClient`; a :class:`HubError` raised inside is printed (red, on
    stderr) and exits with status 1."""
    client = HubClient(url, token, language(lang))
    try:
        yield client
    except HubError as exc:
        Console(stderr=True, highlight=False).print(escape(str(exc)), style="red")
        raise typer.Exit(1) from None
    finally:
        client.close()
