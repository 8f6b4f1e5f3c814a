"""The ``porteiro`` command. One module per command group; errors handled in :func:`main`."""

from __future__ import annotations

import sys

import typer

from porteiro import __version__
from porteiro.cli import codes as codes_cmd
from porteiro.cli import decode as decode_cmd
from porteiro.cli import demo as demo_cmd
from porteiro.cli import device as device_cmd
from porteiro.cli import door as door_cmd
from porteiro.cli import emulate as emulate_cmd
from porteiro.cli import events as events_cmd
from porteiro.cli import people as people_cmd
from porteiro.cli import serve as serve_cmd

__all__ = ["app", "main"]

app = typer.Typer(
    name="porteiro",
    help=(
        "Porteiro: the server side for Intelbras access-control readers.\n\n"
        "Decode what devices send, look up their codes, emulate devices, talk to devices, "
        "run the hub, and manage its people and doors. "
        "Every command speaks English or Brazilian Portuguese (--lang en|pt)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("decode", no_args_is_help=False)(decode_cmd.decode)
app.command("codes")(codes_cmd.codes)
app.command("emulate")(emulate_cmd.emulate)
app.add_typer(device_cmd.app, name="device")
app.command("serve")(serve_cmd.serve)
app.add_typer(serve_cmd.db_app, name="db")
app.command("demo")(demo_cmd.demo)
app.command("events")(events_cmd.events)
app.add_typer(people_cmd.app, name="people")
app.add_typer(door_cmd.app, name="door")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"porteiro {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Porteiro: the server side for Intelbras access-control readers."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        # `porteiro decode big.txt | head`: the reader went away; that is not an error.
        sys.stderr.close()
        sys.exit(0)
