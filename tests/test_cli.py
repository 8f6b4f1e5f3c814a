"""The `porteiro` command: decode and codes, in both languages, with their exit codes."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from porteiro.cli import app
from porteiro.wire import RawEvent, format_attach_event

EXAMPLES = Path(__file__).parent.parent / "examples"
runner = CliRunner()


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_decode_attach_capture_jsonl() -> None:
    code, out, err = run("decode", str(EXAMPLES / "attach-stream.txt"), "--format", "jsonl")
    assert code == 0
    rows = jsonl(out)
    assert len(rows) == 17
    first = rows[0]
    assert first["code"] == "AccessControl"
    assert first["kind"] == "access_control"
    assert first["granted"] is True
    assert first["user_id"] == "1021"
    assert first["card_no"] == "12EA3004"
    assert first["door"] == 0
    assert first["method"] == {"code": 1, "name": "CARD", "text": "by access card"}
    assert first["error"] == {"code": 0, "name": "NONE", "text": "No error"}
    assert first["time"] == "2026-09-29T20:50:00Z"
    assert isinstance(first["data"], dict)
    # the malformed part is reported on stderr with a count, the rest decoded
    assert "1 malformed" in err
    assert "bad JSON" in err
    assert [r["code"] for r in rows].count("_Button_") == 1


def test_decode_portuguese_summary() -> None:
    code, out, _ = run("decode", str(EXAMPLES / "attach-stream.txt"), "--lang", "pt")
    assert code == 0
    assert "Acesso negado: usuário 1021 (João da Silva), cartão 12EA3004, porta 1" in out
    assert "Acesso liberado" in out


def test_decode_table() -> None:
    code, out, _ = run("decode", str(EXAMPLES / "attach-stream.txt"), "--format", "table")
    assert code == 0
    assert "Granted" in out


def test_decode_push_body_from_stdin() -> None:
    data = (EXAMPLES / "push-body.txt").read_bytes()
    code, out, err = run("decode", "-", "--format", "jsonl", "--lang", "pt", stdin=data)
    assert code == 0, err
    rows = jsonl(out)
    assert [r["granted"] for r in rows] == [False, True]
    assert rows[0]["extras"] == {"PhysicalAddress": "c0:39:5a:62:64:c9"}
    assert rows[1]["user_id"] == "1503"


def test_decode_records() -> None:
    code, out, _ = run("decode", str(EXAMPLES / "records.txt"), "--format", "jsonl")
    assert code == 0
    rows = jsonl(out)
    assert [r["record_no"] for r in rows] == [100, 101, 102]
    assert rows[1]["error"]["name"] == "ANTI_PASSBACK"


def test_decode_raw_event_text() -> None:
    text = b'Code=BreakIn;action=Pulse;index=0;data={"Name" : "SS-1", "UTC" : 1598250815}'
    code, out, _ = run("decode", "-", "--format", "jsonl", stdin=text)
    assert code == 0
    assert jsonl(out)[0]["kind"] == "alarm"


def test_decode_missing_file_fails_cleanly(tmp_path: Path) -> None:
    code, _, err = run("decode", str(tmp_path / "nope.txt"))
    assert code == 2
    assert "cannot read" in err


def test_decode_garbage_is_not_a_crash() -> None:
    code, out, err = run("decode", "-", stdin=b"\x00\xffnot a capture at all\n")
    assert out == ""
    assert code == 1
    assert "malformed" in err


def test_decode_empty_input() -> None:
    code, _, err = run("decode", "-", stdin=b"")
    assert code == 0
    assert "0 event(s)" in err


def test_codes_one_error_in_portuguese() -> None:
    code, out, _ = run("codes", "errors", "21", "--lang", "pt")
    assert code == 0
    assert "ANTI_PASSBACK" in out
    assert "pt:" in out


def test_codes_json_and_unknown_code() -> None:
    code, out, _ = run("codes", "methods", "15", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "FACE"
    code, out, err = run("codes", "methods", "250", "--json")
    assert code == 1
    assert json.loads(out)["known"] is False
    assert "250" in err


def test_codes_request_error_vendor_name() -> None:
    code, out, _ = run("codes", "requests", "286064923", "--json")
    assert code == 0
    row = json.loads(out)
    assert row["vendor_name"] == "accessControlErrorMaxPhotoFileSizeExceeded"


def test_codes_search_and_listing() -> None:
    code, out, _ = run("codes", "--search", "antipassback", "--json")
    assert code == 0
    assert any(row["code"] == 21 for row in json.loads(out))
    code, out, _ = run("codes", "methods")
    assert code == 0
    assert "by face recognition" in out
    code, out, _ = run("codes")
    assert code == 0
    assert "requests" in out


def test_codes_bare_number_looks_everywhere() -> None:
    code, out, _ = run("codes", "21", "--json")
    assert code == 0
    tables = {row["table"] for row in json.loads(out)}
    assert {"methods", "errors"} <= tables


@pytest.mark.parametrize("args", [["codes", "nosuchtable"], ["decode", "--format", "xml"]])
def test_bad_arguments_exit_2(args: list[str]) -> None:
    code, _, _ = run(*args)
    assert code == 2


def test_help_and_version() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "decode" in out
    assert "codes" in out
    code, out, _ = run("--version")
    assert code == 0
    assert out.startswith("porteiro ")


def test_unsupported_language_is_a_usage_error() -> None:
    code, _, err = run("decode", "-", "--lang", "fr", stdin=b"")
    assert code == 2
    assert "unsupported language" in err


def test_decode_live_pipe_prints_each_event_before_the_input_ends() -> None:
    """`curl ... | porteiro decode -`: an event is printed while the pipe is still open."""
    proc = subprocess.Popen(  # our own interpreter and package
        [sys.executable, "-m", "porteiro", "decode", "-", "--format", "jsonl"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        part = format_attach_event(RawEvent("BreakIn", "Pulse", 0, {"Name": "SS-1"}))
        proc.stdin.write(part)
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no output while the input pipe was still open"
        line = proc.stdout.readline()
        assert json.loads(line)["code"] == "BreakIn"
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == 0
