"""``porteiro demo``: the hub with emulated readers, no hardware, no external services.

It starts, in one process: emulated readers on free loopback ports (two in push mode,
configured exactly as a real reader is, through ``setConfig`` of
``Intelbras_ModeCfg.DeviceMode`` and ``PictureHttpUpload``; one stand-alone reader the
hub collects from over its attach stream; one turnstile in Modo Online whose every
access the hub decides against its people database, seeded from the readers'
directory), the hub on SQLite in a data directory
(temporary unless ``--data-dir`` is given), and generated traffic: people passing with
cards and faces, denials, doors, alarms. Every stored event is printed as it commits.
Ctrl-C (or ``--duration``) stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from porteiro.cli._common import language as lang_of
from porteiro.emulator import EmulatorHost
from porteiro.emulator.traffic import populate, run_fleet_traffic
from porteiro.hub.config import DeviceSettings, HubConfig, HubSettings
from porteiro.store.serialize import event_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from porteiro.codes import Lang
    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub

__all__ = ["demo"]

_TEXT = {
    "starting": ("Starting the Porteiro demo ...", "Iniciando a demonstração do Porteiro ..."),
    "data": ("Data directory: {path}", "Diretório de dados: {path}"),
    "hub": ("Hub listening on {url}", "Hub escutando em {url}"),
    "dashboard": ("  Dashboard: {url}/  (open in a browser)",
                  "  Painel: {url}/  (abra no navegador)"),
    "api": ("  API: {url}/api/events   live: {url}/api/events/stream   docs: {url}/docs",
            "  API: {url}/api/events   ao vivo: {url}/api/events/stream   docs: {url}/docs"),
    "device": ("  reader {name:<10} {mode:<7} {url}   (admin / admin123)",
               "  leitora {name:<10} {mode:<7} {url}   (admin / admin123)"),
    "traffic": ("Generating {rate} actions/s per reader. Ctrl-C stops.",
                "Gerando {rate} ações/s por leitora. Ctrl-C para parar."),
    "busy": ("Port {port} is busy; using {other} instead.",
             "A porta {port} está ocupada; usando {other}."),
    "stopped": ("Stopped. {count} event(s) stored in {path}",
                "Parado. {count} evento(s) armazenado(s) em {path}"),
}
DEMO_DEVICES = (("portaria", "push"), ("garagem", "push"), ("academia", "attach"),
                ("catraca", "online"))
"""The demo's readers: name and how the hub hears from each."""


def _t(key: str, lang: Lang, **fields: object) -> str:
    en, pt = _TEXT[key]
    return (pt if lang == "pt" else en).format(**fields)


def _free_port(host: str, wanted: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind((host, wanted))
        except OSError:
            sock.bind((host, 0))
        return int(sock.getsockname()[1])


def point_at_hub(device: EmulatedDevice, *, hub_port: int, name: str, mode: str) -> None:
    """Configure an emulated reader as an installer would a real one (setConfig)."""
    config = device.state.config
    config["Intelbras_ModeCfg"]["DeviceMode"] = {"push": 1, "online": 2}.get(mode, 0)
    if mode == "online":
        config["Intelbras_ModeCfg"]["KeepAlive"].update(
            {"Enable": True, "Interval": 10, "Path": f"/keepalive/{name}", "TimeOut": 2000})
    server = config["PictureHttpUpload"]["UploadServerList"][0]
    server.update({"Address": "127.0.0.1", "Port": hub_port,
                   "Uploadpath": f"/notification/{name}"})
    if device.uplink is not None:
        device.uplink.notify_config()


class _QuietServer:
    """Builds a uvicorn server that leaves signals to us (we stop emulators and traffic
    first, then the hub), instead of re-raising Ctrl-C after its own shutdown."""

    @staticmethod
    def build(app: Any, host: str, port: int) -> Any:
        import uvicorn  # noqa: PLC0415  # only the hub commands need the server

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        return Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                     access_log=False))


def directory_rows(device: EmulatedDevice) -> list[dict[str, Any]]:
    """A reader's users and cards as people-import rows (the demo's people database)."""
    kinds = {0: "general", 1: "blocklist", 2: "guest", 3: "patrol", 4: "vip"}
    card_kinds = {0: "ordinary", 1: "vip", 2: "guest", 3: "patrol", 4: "blocklist",
                  5: "duress"}
    states = {0: "normal", 1: "lost", 2: "frozen"}
    cards: dict[str, list[dict[str, str]]] = {}
    for card in device.state.cards.values():
        cards.setdefault(card.user_id, []).append({
            "card_no": card.card_no, "type": card_kinds.get(int(card.card_type), "ordinary"),
            "status": states.get(int(card.status), "normal")})
    rows = []
    for user in device.state.users.values():
        row: dict[str, Any] = {"user_id": user.user_id, "name": user.name,
                               "type": kinds.get(int(user.user_type), "general"),
                               "doors": list(user.doors), "cards": cards.get(user.user_id, [])}
        if user.uses_left is not None:
            row["guest_uses"] = user.uses_left
        rows.append(row)
    return rows


def _line(row: dict[str, Any], lang: Lang, zone: ZoneInfo) -> str:
    stamp = row["ts"] if row["ts"] is not None else row["received_at"]
    when = datetime.fromtimestamp(stamp, zone).strftime("%H:%M:%S")
    style = ""
    if row["kind"] == "access_control":
        style = "green" if row["granted"] else "red"
    elif row["kind"] == "alarm":
        style = "bold red"
    event = event_json(row, lang)
    summary = event["summary"]
    decision = (event.get("data") or {}).get("PorteiroDecision")
    if isinstance(decision, dict) and decision.get("message"):
        summary += f' -> "{decision["message"]}"'  # what the reader's display showed
    text = escape(f"{when}  {row['device']:<9} {summary}")
    return f"[{style}]{text}[/]" if style else text


async def _print_events(hub: Hub, console: Console, lang: Lang) -> None:
    zone = ZoneInfo(hub.config.hub.timezone)
    with hub.bus.subscribe() as subscription:
        while True:
            row = await subscription.queue.get()
            console.print(_line(row, lang, zone), highlight=False, markup=True)


async def run_demo(*, listen_port: int, data_dir: Path, rate: float, duration: float | None,
                   lang: Lang, console: Console, quiet: bool = False) -> int:
    """Run the demo; returns the number of events stored."""
    from porteiro.api import create_app  # noqa: PLC0415  # the top layer, loaded on use

    host = "127.0.0.1"
    port = _free_port(host, listen_port)
    if listen_port and port != listen_port:
        console.print(_t("busy", lang, port=listen_port, other=port))
    (data_dir / "emulators").mkdir(parents=True, exist_ok=True)
    async with EmulatorHost.start(devices=len(DEMO_DEVICES),
                                  state_dir=data_dir / "emulators") as emulators:
        settings = []
        for (name, mode), (device, url) in zip(DEMO_DEVICES, emulators.endpoints, strict=True):
            populate(device)  # the same directory on every reader (one seed)
            point_at_hub(device, hub_port=port, name=name, mode=mode)
            settings.append(DeviceSettings(
                name=name, host="127.0.0.1", port=int(url.rsplit(":", 1)[1]),
                user=device.state.username, password=device.state.password,
                mode=mode,  # type: ignore[arg-type]
                mac=device.state.identity.mac, serial=device.state.identity.serial))
        config = HubConfig(hub=HubSettings(listen=f"{host}:{port}", data_dir=data_dir,
                                           language=lang), devices=settings)
        app = create_app(config)
        hub: Hub = app.state.hub
        server = _QuietServer.build(app, host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        serving = asyncio.create_task(server.serve(), name="demo-hub")
        while not server.started:
            if serving.done():
                await serving  # raises what stopped it (e.g. the port was taken meanwhile)
                return 0
            await asyncio.sleep(0.05)
        if not hub.people.directory.people:  # first run of this data directory
            await hub.people.import_rows(directory_rows(emulators.devices[0]))
        base = f"http://{host}:{port}"
        console.print(_t("hub", lang, url=base), style="bold")
        console.print(_t("dashboard", lang, url=base), style="bold")
        console.print(_t("api", lang, url=base))
        for (name, mode), (_device, url) in zip(DEMO_DEVICES, emulators.endpoints, strict=True):
            console.print(_t("device", lang, name=name, mode=mode, url=url))
        console.print(_t("traffic", lang, rate=rate))
        printer = None if quiet else asyncio.create_task(_print_events(hub, console, lang))
        traffic = asyncio.create_task(run_fleet_traffic(emulators.devices, rate=rate))
        started = time.monotonic()
        try:
            while not serving.done() and not stop.is_set():
                if duration is not None and time.monotonic() - started >= duration:
                    break
                await asyncio.sleep(0.1)
        finally:
            for task in (traffic, printer):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        count = await asyncio.to_thread(hub.store.count_events)
        hub.store.close()
    return count


def demo(
    port: int = typer.Option(8000, "--port", help="Hub port (a free one if it is taken)."),
    data_dir: Path | None = typer.Option(None, "--data-dir",
                                         help="Keep the data here (default: a temporary "
                                         "directory, removed at the end)."),
    rate: float = typer.Option(0.5, "--rate", min=0.01, help="Actions/s per emulated reader."),
    duration: float | None = typer.Option(None, "--duration", min=1,
                                          help="Stop after this many seconds."),
    lang: str = typer.Option("en", "--lang", "-l", envvar="PORTEIRO_LANG", help="en or pt."),
) -> None:
    """The hub with three emulated readers (two pushing, one collected) and live traffic.

    No hardware and no external services: SQLite in a data directory, the readers on
    free loopback ports. Every stored event is printed; the REST API and the live
    stream are served while it runs. Ctrl-C stops everything.
    """
    language = lang_of(lang)
    console = Console(highlight=False)
    console.print(_t("starting", language), style="bold")
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="porteiro-")))
        console.print(_t("data", language, path=data_dir))
        count = 0
        count = asyncio.run(run_demo(listen_port=port, data_dir=data_dir, rate=rate,
                                     duration=duration, lang=language, console=console))
        console.print(_t("stopped", language, count=count, path=data_dir))
