"""The READMEs are the contract: every `porteiro` command they show prints what they say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from porteiro.cli import app

ROOT = Path(__file__).parent.parent
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def shown_commands() -> list[tuple[str, str, list[str]]]:
    """(readme, command, output lines) for each `$ porteiro ...` the READMEs show."""
    found = []
    for name in ("README.md", "README.pt-BR.md"):
        for block in BLOCK.findall((ROOT / name).read_text(encoding="utf-8")):
            command: str | None = None
            lines: list[str] = []
            for line in [*block.splitlines(), "$ end"]:
                if line.startswith("$ "):
                    if command is not None:
                        found.append((name, command, lines))
                    command = line[2:] if line.startswith("$ porteiro ") else None
                    lines = []
                elif command is not None:
                    lines.append(line)
    return found


@pytest.mark.parametrize(("readme", "command", "expected"), shown_commands(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_readme_command_output(readme: str, command: str, expected: list[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    args, _, pipe = command.partition(" | ")
    result = CliRunner().invoke(app, shlex.split(args)[1:], env={"COLUMNS": "100"})
    actual = (result.stdout + result.stderr).splitlines()
    if pipe.startswith("head -n "):
        actual = result.stdout.splitlines()[: int(pipe.split()[-1])]
    for line in expected:
        if line.strip() in {"", "..."}:
            continue
        assert line.rstrip() in [a.rstrip() for a in actual], f"{readme}: {command!r}: {line!r}"


def test_readmes_show_the_two_setup_commands() -> None:
    for name in ("README.md", "README.pt-BR.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "make demo" in text
        assert "make test" in text


TESTED = re.compile(r"<!-- tested-example -->\n```python\n(.*?)```", re.S)


@pytest.mark.parametrize("name", ["README.md", "README.pt-BR.md"])
async def test_library_example_runs_against_the_emulator(name: str) -> None:
    import asyncio  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from porteiro.emulator import EmulatorHost  # noqa: PLC0415

    (example,) = TESTED.findall((ROOT / name).read_text(encoding="utf-8"))
    async with EmulatorHost.start(devices=1) as host:
        _, url = host.endpoints[0]
        code = example.replace('"127.0.0.1:8080"', repr(url))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "SS 3530 MF FACE W" in text
    assert "Acesso liberado: usuário 1021 (João da Silva), porta 1" in text
