#!/usr/bin/env python3
"""Screenshots of the web dashboard, from a demo site: ``docs/dashboard*.png``.

It starts what ``porteiro demo`` starts, in this process: emulated readers (two pushing,
one collected over its event stream, one turnstile in Modo Online), the hub on SQLite
in a temporary directory, the people database seeded from the readers, and traffic.
It first plays a day of history on the pushing readers (their clocks set back hour by
hour, busier at the start and end of the working day) so the charts have something to
show, then opens the dashboard in headless Chromium (Debian's ``chromium`` driven by
Playwright for Python; no browser download) and writes one screenshot per view.

    .venv/bin/python scripts/screenshot.py                  # docs/dashboard*.png (pt-BR)
    .venv/bin/python scripts/screenshot.py --lang en --out /tmp/shots
    .venv/bin/python scripts/screenshot.py --serve          # keep the site up to look at it

Files written (in ``--out``): ``dashboard.png`` (events, the README's picture),
``dashboard-readers.png``, ``dashboard-people.png``, ``dashboard-charts.png`` and
``dashboard-mobile.png`` (events at 360 px wide).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

import porteiro.emulator.uplink
from porteiro.api import create_app
from porteiro.cli.demo import DEMO_DEVICES, directory_rows, point_at_hub
from porteiro.emulator import EmulatorHost
from porteiro.emulator.runner import make_state
from porteiro.emulator.traffic import populate, run_fleet_traffic, step
from porteiro.hub.config import DeviceSettings, HubConfig, HubSettings, TokenSettings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Page

    from porteiro.emulator import EmulatedDevice
    from porteiro.hub import Hub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOKEN = "demo-admin-token"  # noqa: S105  # a throwaway token of a throwaway site
ROOT = Path(__file__).resolve().parent.parent
_LOG = logging.getLogger("screenshot")

# Hourly activity of a working day (site time), relative: quiet nights, morning and
# evening peaks.
_DAY_SHAPE = [1, 0, 0, 0, 0, 1, 3, 8, 12, 7, 5, 6, 9, 6, 5, 5, 6, 10, 11, 6, 3, 2, 1, 1]

# Stand-in faces drawn by the browser itself (canvas -> JPEG): no image files to ship.
_FACE_JS = """([bg, skin, hair, shirt]) => {
  const c = document.createElement('canvas'); c.width = 160; c.height = 160;
  const g = c.getContext('2d');
  g.fillStyle = bg; g.fillRect(0, 0, 160, 160);
  g.fillStyle = shirt; g.beginPath(); g.ellipse(80, 168, 62, 50, 0, 0, Math.PI * 2); g.fill();
  g.fillStyle = skin; g.fillRect(68, 100, 24, 22);
  g.beginPath(); g.ellipse(80, 76, 32, 38, 0, 0, Math.PI * 2); g.fill();
  g.fillStyle = hair; g.beginPath(); g.ellipse(80, 50, 34, 20, 0, Math.PI, Math.PI * 2); g.fill();
  g.fillRect(46, 46, 8, 26); g.fillRect(106, 46, 8, 26);
  g.fillStyle = '#2b2b2b'; g.beginPath();
  g.arc(68, 76, 3.2, 0, 7); g.arc(92, 76, 3.2, 0, 7); g.fill();
  g.strokeStyle = '#7a3b2e'; g.lineWidth = 3; g.beginPath();
  g.arc(80, 90, 10, 0.2, Math.PI - 0.2); g.stroke();
  return c.toDataURL('image/jpeg', 0.85);
}"""
_PALETTES = [("#d9e7f5", "#e0ac69", "#3b2314", "#0072b2"),
             ("#f5e6d9", "#8d5524", "#1c1c1c", "#cc79a7"),
             ("#e3f2e1", "#f1c27d", "#a0522d", "#e69f00"),
             ("#ece3f5", "#c68642", "#4a3222", "#009e73"),
             ("#f7f1d9", "#ffdbac", "#d4a017", "#56b4e9"),
             ("#e6e6e6", "#a1665e", "#222222", "#d55e00")]


def _free_port() -> int:
    import socket  # noqa: PLC0415  # only here

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def launch(playwright: Any) -> Browser:
    """Debian's Chromium, headless, with nothing reaching out to the network."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=CHROMIUM_ARGS)


async def draw_faces(browser: Browser) -> list[bytes]:
    """A few JPEG portraits drawn in the browser."""
    page = await browser.new_page()
    faces = []
    for palette in _PALETTES:
        url: str = await page.evaluate(_FACE_JS, list(palette))
        faces.append(base64.b64decode(url.split(",", 1)[1]))
    await page.close()
    return faces


@contextlib.asynccontextmanager
async def demo_site(data_dir: Path, lang: str) -> AsyncIterator[tuple[str, Hub, list[Any]]]:
    """The demo's readers and hub (with an admin token); yields the hub's URL."""
    port = _free_port()
    states = [make_state(i, doors=2 if name == "portaria" else 1)
              for i, (name, _mode) in enumerate(DEMO_DEVICES)]
    async with EmulatorHost.start(devices=len(DEMO_DEVICES), states=states) as emulators:
        settings = []
        for (name, mode), (device, url) in zip(DEMO_DEVICES, emulators.endpoints, strict=True):
            populate(device)
            point_at_hub(device, hub_port=port, name=name, mode=mode)
            settings.append(DeviceSettings(
                name=name, host="127.0.0.1", port=int(url.rsplit(":", 1)[1]),
                user=device.state.username, password=device.state.password,
                mode=mode,  # type: ignore[arg-type]
                mac=device.state.identity.mac, serial=device.state.identity.serial))
        config = HubConfig(
            hub=HubSettings(listen=f"127.0.0.1:{port}", data_dir=data_dir,
                            language=lang),  # type: ignore[arg-type]
            devices=settings, tokens=[TokenSettings(name="ops", token=TOKEN, scope="admin")])
        app = create_app(config)
        hub: Hub = app.state.hub
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving
            await asyncio.sleep(0.05)
        try:
            await hub.people.import_rows(directory_rows(emulators.devices[0]))
            yield f"http://127.0.0.1:{port}", hub, emulators.devices
        finally:
            server.should_exit = True
            await serving


def play_history(devices: list[EmulatedDevice], hours: int, seed: int = 7) -> int:
    """A day of events on the pushing readers: their clocks set back, hour by hour."""
    rng = random.Random(seed)  # noqa: S311  # a simulation
    now = time.time()
    done = 0
    pushing = [d for d in devices if d.device_mode() == 1]
    for back in range(hours, 0, -1):
        hour_start = now - back * 3600
        local_hour = time.gmtime(hour_start - 3 * 3600).tm_hour  # America/Sao_Paulo
        actions = _DAY_SHAPE[local_hour] * 3
        for device in pushing:
            for _ in range(actions):
                device.state.clock_offset = hour_start + rng.uniform(0, 3600) - time.time()
                step(device, rng)
                done += 1
    for device in devices:
        device.state.clock_offset = 0.0
        if device.uplink is not None:
            device.uplink.notify()
    return done


async def settle(devices: list[EmulatedDevice], timeout: float = 60) -> None:
    """Until the readers have pushed everything they hold."""
    deadline = time.monotonic() + timeout
    while any(d.state.pending_push for d in devices):
        if time.monotonic() > deadline:
            _LOG.warning("readers still hold events after %s s", timeout)
            return
        await asyncio.sleep(0.1)


async def give_faces(base: str, faces: list[bytes], count: int = 12) -> None:
    """Face photos for the first people (the people view shows them)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        people = (await http.get("/api/people", params={"limit": count})).json()["people"]
        for index, person in enumerate(people):
            reply = await http.put(f"/api/people/{person['user_id']}/face",
                                   content=faces[index % len(faces)],
                                   headers={"Content-Type": "image/jpeg"})
            reply.raise_for_status()


async def shoot(browser: Browser, base: str, out: Path, lang: str) -> list[Path]:
    """One screenshot per view (and the events view at 360 px)."""
    written: list[Path] = []
    init = (f"sessionStorage.setItem('porteiro.token', {TOKEN!r});"
            f"localStorage.setItem('porteiro.lang', {lang!r});")

    async def new_page(width: int, height: int) -> Page:
        context = await browser.new_context(viewport={"width": width, "height": height},
                                            device_scale_factor=1, color_scheme="light")
        await context.add_init_script(init)
        page = await context.new_page()
        page.on("pageerror", lambda error: _LOG.error("page error: %s", error))
        return page

    async def save(page: Page, name: str) -> None:
        await page.evaluate("document.activeElement && document.activeElement.blur()")
        path = out / name
        await page.screenshot(path=str(path))
        written.append(path)

    page = await new_page(1280, 860)
    await page.goto(f"{base}/#events")
    await page.wait_for_selector("#feed li.event >> nth=11")
    await page.wait_for_selector("#live[data-state=on]")
    await page.wait_for_selector("#feed li.event.has-thumb")
    await page.wait_for_timeout(1500)  # a few live rows arrive and settle
    await save(page, "dashboard.png")

    await page.click("#nav a[data-view=readers]")
    await page.wait_for_selector("#readers article.reader >> nth=3")
    await save(page, "dashboard-readers.png")

    await page.click("#nav a[data-view=people]")
    await page.wait_for_selector("#people .person-row >> nth=5")
    await page.click("#people .person-row >> nth=1")
    await page.wait_for_selector("#person .face-img[src]")
    await save(page, "dashboard-people.png")

    await page.click("#nav a[data-view=charts]")
    await page.wait_for_selector("#chart-hours .uplot")
    await page.wait_for_selector("#chart-alarms")
    await save(page, "dashboard-charts.png")
    await page.context.close()

    mobile = await new_page(360, 740)
    await mobile.goto(f"{base}/#events")
    await mobile.wait_for_selector("#feed li.event >> nth=5")
    await save(mobile, "dashboard-mobile.png")
    await mobile.context.close()
    return written


async def main(out: Path, lang: str, hours: int, *, serve: bool) -> int:
    from playwright.async_api import async_playwright  # noqa: PLC0415  # optional

    out.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        faces = await draw_faces(browser)
        porteiro.emulator.uplink.SNAPSHOT = faces[-1]  # what the readers attach to face events
        with tempfile.TemporaryDirectory(prefix="porteiro-shot-") as tmp:
            async with demo_site(Path(tmp), lang) as (base, _hub, devices):
                await give_faces(base, faces)
                played = play_history(devices, hours)
                await settle(devices)
                print(f"hub {base} (token {TOKEN}); {played} events of history")  # noqa: T201
                traffic = asyncio.create_task(run_fleet_traffic(devices, rate=0.7, seed=3))
                try:
                    if serve:
                        print("serving until Ctrl-C")  # noqa: T201
                        await asyncio.Event().wait()
                    await asyncio.sleep(4)  # live traffic for the feed
                    for path in await shoot(browser, base, out, lang):
                        print(f"wrote {path}")  # noqa: T201
                finally:
                    traffic.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await traffic
        await browser.close()
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="where the PNG files go (default: docs/)")
    parser.add_argument("--lang", choices=["pt", "en"], default="pt")
    parser.add_argument("--hours", type=int, default=24 * 7,
                        help="hours of history to play before the screenshots")
    parser.add_argument("--serve", action="store_true",
                        help="keep the demo site running (prints its URL and token)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)  # noqa: T201
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main(args.out, args.lang, args.hours, serve=args.serve))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
