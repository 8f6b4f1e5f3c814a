"""The REST API against its own OpenAPI spec (schemathesis): no 500 on any input.

The application runs in-process (ASGI) on SQLite with an admin token, so the write
routes (people, cards, faces, prune, door opening) are exercised too. The live event
stream is left out: it never ends. Budget: a few examples per operation by default,
many more under ``PORTEIRO_FUZZ=1`` (``make fuzz``).
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings

from porteiro.api import create_app
from porteiro.hub import load_config

with warnings.catch_warnings():
    # Starlette's TestClient (which schemathesis drives ASGI apps with) warns that it
    # would rather use httpx2; the warning is theirs, not ours.
    warnings.simplefilter("ignore")
    schemathesis = pytest.importorskip("schemathesis")
not_a_server_error = schemathesis.checks.not_a_server_error
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

ADMIN = "fuzz-admin-token-0001"
FUZZ = os.environ.get("PORTEIRO_FUZZ") == "1"
EXAMPLES = int(os.environ.get("PORTEIRO_FUZZ_API_EXAMPLES", "300" if FUZZ else "8"))


def _app(tmp_path: Path) -> FastAPI:
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"
language = "en"
[[devices]]
name = "a"
host = "127.0.0.1"
port = 9
[[tokens]]
name = "fuzz"
token = "{ADMIN}"
scope = "admin"
''', encoding="utf-8")
    return create_app(load_config(path, env={}))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return _app(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Any:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    return loaded.exclude(path_regex=r"/stream$")


def test_no_server_error(api_schema: Any) -> None:
    tried = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=not FUZZ,
                  suppress_health_check=list(HealthCheck), database=None)
        @given(operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"},
                                   checks=[not_a_server_error])

        check()
    assert len(tried) > 25
