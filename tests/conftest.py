"""Fixtures shared by the storage-backed tests: the same test on SQLite and PostgreSQL.

PostgreSQL is the machine's server (``PORTEIRO_TEST_PG`` overrides the URL); each test
gets a schema of its own, dropped afterwards. Absent locally, those tests skip with the
reason; under ``CI=true`` they fail instead, because CI must prove both databases.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from porteiro.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PG_URL = os.environ.get("PORTEIRO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001  # any failure means "not here"
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (its URL works in this process and in a hub process)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'porteiro.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set PORTEIRO_TEST_PG)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        # Every connection made with this URL lands in the schema.
        separator = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated :class:`Store` on each database."""
    db = Store(database_url)
    db.migrate()
    yield db
    db.close()
