"""``porteiro demo``: the hub with emulated readers, end to end, for a few seconds."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from rich.console import Console

from porteiro.cli.demo import DEMO_DEVICES, run_demo
from porteiro.store import Store

if TYPE_CHECKING:
    from pathlib import Path


async def test_demo_stores_events_from_every_reader(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False)
    count = await run_demo(listen_port=0, data_dir=tmp_path, rate=4, duration=5, lang="pt",
                           console=console)
    printed = out.getvalue()
    assert count > 10
    store = Store(f"sqlite:///{tmp_path / 'porteiro.db'}")
    try:
        rows = store.list_events(limit=10_000)
        assert len(rows) == count
        by_source = {r["source"] for r in rows}
        assert {"push", "attach", "online"} <= by_source | {"backfill"}
        devices = {r["device_id"] for r in rows}
        assert len(devices) == len(DEMO_DEVICES)  # push, attach and online readers
        assert store.people.count() >= 50  # the people database the turnstile decides on
    finally:
        store.close()
    for name, _mode in DEMO_DEVICES:
        assert name in printed
    assert "Hub escutando em http://127.0.0.1:" in printed
    assert "Acesso" in printed  # summaries in Portuguese
    assert '-> "Acesso' in printed  # the turnstile's display messages


def test_demo_command_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603  # our own command
        [sys.executable, "-m", "porteiro", "demo", "--port", "0", "--rate", "3",
         "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (tmp_path / "porteiro.db").exists():
            time.sleep(0.1)
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert "Stopped." in text
    assert "event(s) stored" in text
