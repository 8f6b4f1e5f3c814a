"""``porteiro emulate``: virtual Intelbras readers on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path  # noqa: TC003  # typer reads the annotations at runtime
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from porteiro.cli._common import language as lang_of
from porteiro.emulator import EmulatorHost, State, make_state
from porteiro.emulator.traffic import run_fleet_traffic

_TEXT = {
    "title": ("Emulated devices (Ctrl-C to stop)", "Dispositivos emulados (Ctrl-C para parar)"),
    "serial": ("Serial", "Número de série"),
    "url": ("URL", "URL"),
    "model": ("Model", "Modelo"),
    "login": ("Login: {user} / {password} (HTTP Digest)",
              "Login: {user} / {password} (HTTP Digest)"),
    "traffic": ("Generating {rate} actions/s per device", "Gerando {rate} ações/s por dispositivo"),
    "stopped": ("Stopped; state saved.", "Parado; estado salvo."),
}


def _t(key: str, lang: str, **fields: object) -> str:
    en, pt = _TEXT[key]
    return (pt if lang == "pt" else en).format(**fields)


def emulate(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8080, "--port", help="Port of the first device."),
    user: str = typer.Option("admin", "--user", help="Digest user name."),
    password: str = typer.Option("admin123", "--password", envvar="PORTEIRO_EMULATOR_PASSWORD",
                                 help="Digest password."),
    model: str = typer.Option("SS 3530 MF FACE W", "--model", help="Model the device reports."),
    serial: str | None = typer.Option(None, "--serial", help="Serial of the first device."),
    errors: str = typer.Option("json", "--errors",
                               help="Error style: legacy (text) or json (envelopes)."),
    state: Path | None = typer.Option(None, "--state", help="State file (users, records) kept "
                                      "across restarts; with --devices N, FILE-0.json..."),
    devices: int = typer.Option(1, "--devices", min=1, max=5000, help="How many devices."),
    base_port: int | None = typer.Option(None, "--base-port",
                                         help="Port of device 0 with --devices (default --port)."),
    doors: int = typer.Option(1, "--doors", min=1, max=4, help="Doors per device."),
    traffic: float = typer.Option(0.0, "--traffic", help="Generated actions/s per device."),
    push: str | None = typer.Option(
        None, "--push", help="Push every event to this server (http://IP:PORT/PATH), as "
        "DeviceMode=1 with PictureHttpUpload would."),
    lang: str = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG", help="en or pt."),
) -> None:
    """Run emulated Intelbras readers that speak the device's HTTP API.

    Every device has its own serial, state and port (base port + index). Drive them with
    the device API or the /sim/ control surface (same credentials).

    Examples:

      porteiro emulate

      porteiro emulate --devices 50 --base-port 9000 --traffic 2

      curl --digest -u admin:admin123 'http://127.0.0.1:8080/cgi-bin/magicBox.cgi?action=getSerialNo'
    """
    language = lang_of(lang)
    if errors not in {"legacy", "json"}:
        raise typer.BadParameter("use legacy or json", param_hint="--errors")
    first_port = base_port if base_port is not None else port
    states = []
    for index in range(devices):
        one = make_state(index, doors=doors, username=user, password=password,
                         error_style=errors)
        one.identity.model = model
        one.identity.device_type = model
        if serial and index == 0:
            one.identity.serial = serial
        if push:
            _configure_push(one, push)
        states.append(one)
    files = None
    if state is not None:
        files = [state] if devices == 1 else [
            state.with_name(f"{state.stem}-{i}{state.suffix or '.json'}") for i in range(devices)]
    console = Console(highlight=False)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(host, first_port, states, files, traffic, language, console))
    console.print(_t("stopped", language))


def _configure_push(state: State, url: str) -> None:
    parsed = urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise typer.BadParameter("use http://IP:PORT/PATH", param_hint="--push")
    state.config["Intelbras_ModeCfg"]["DeviceMode"] = 1
    upload = state.config["PictureHttpUpload"]
    upload["Enable"] = True
    upload["UploadServerList"][0].update({
        "Address": parsed.hostname, "Port": parsed.port or (443 if parsed.scheme == "https"
                                                            else 80),
        "Uploadpath": parsed.path or "/notification",
        "HttpsEnable": parsed.scheme == "https"})


async def _serve(host: str, port: int, states: list[State], files: list[Path] | None,
                 traffic: float, lang: str, console: Console) -> None:
    async with EmulatorHost.start(devices=len(states), base_port=port, host=host,
                                  states=states, state_files=files) as running:
        table = Table(title=_t("title", lang))
        table.add_column(_t("serial", lang))
        table.add_column(_t("url", lang))
        table.add_column(_t("model", lang))
        for device, url in running.endpoints[:20]:
            table.add_row(device.state.identity.serial, url, device.state.identity.model)
        if len(running.devices) > 20:
            table.add_row("...", f"... ({len(running.devices)})", "")
        console.print(table)
        first = running.devices[0].state
        console.print(_t("login", lang, user=first.username, password=first.password))
        tasks = []
        if traffic > 0:
            console.print(_t("traffic", lang, rate=traffic))
            tasks = [asyncio.create_task(run_fleet_traffic(running.devices, rate=traffic))]
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()  # Ctrl-C cancels this; SIGTERM sets it: both save the state
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
