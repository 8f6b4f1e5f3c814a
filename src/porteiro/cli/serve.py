"""``porteiro serve`` and ``porteiro db``: run the hub, manage its database."""

from __future__ import annotations

from pathlib import Path  # noqa: TC003  # typer reads the annotations at runtime

import typer
from rich.console import Console

from porteiro.api import create_app
from porteiro.hub import ConfigError, HubConfig, load_config
from porteiro.store import Store

db_app = typer.Typer(help="The hub's database.", no_args_is_help=True)
_err = Console(stderr=True, highlight=False)


def load_settings(path: Path | None) -> HubConfig:
    """The configuration, or a clean exit (2) naming the bad key."""
    try:
        return load_config(path)
    except ConfigError as exc:
        _err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def serve(config: Path | None = typer.Option(None, "--config", "-c", exists=True,
                                             dir_okay=False, help="porteiro.toml"),
          ) -> None:
    """Run the hub: devices push to it (work in progress: push receiver and keepalive).

    Settings come from the file and from PORTEIRO_LISTEN, PORTEIRO_DATA_DIR and
    PORTEIRO_DATABASE_URL.
    """
    import uvicorn  # noqa: PLC0415  # only this command needs the server

    settings = load_settings(config)
    host, _, port = settings.hub.listen.rpartition(":")
    # httptools and uvloop (dependencies) for many small device requests; no access log:
    # a line per push costs more than parsing it, and the hub logs what matters itself.
    uvicorn.run(create_app(settings), host=host, port=int(port), log_level="info",
                http="httptools", loop="auto", access_log=False)


@db_app.command("upgrade")
def upgrade(config: Path | None = typer.Option(None, "--config", "-c", exists=True,
                                               dir_okay=False)) -> None:
    """Create or migrate the database to the latest schema."""
    settings = load_settings(config)
    if settings.hub.database_url is None:
        settings.hub.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.hub.url())
    try:
        store.migrate()
    finally:
        store.close()
    _err.print("[green]database up to date[/]")
