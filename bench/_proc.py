"""Helpers the benchmarks share: loopback ports, child processes, /proc readings."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["PG_ADMIN", "BenchDatabase", "cpu_s", "free_base", "free_port", "kill", "mac",
           "pct", "proc_kib"]

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
"""Where benchmarks create and drop their PostgreSQL databases."""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_base(count: int, start: int = 20000) -> int:
    """A base port with ``count`` free ports after it (best effort)."""
    for base in range(start, 60000 - count, count + 7):
        ok = True
        for port in (base, base + count // 2, base + count - 1):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def proc_kib(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB (``VmRSS``, ``VmHWM``); 0 when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:  # noqa: PTH123
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 when gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # noqa: PTH123
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def kill(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """Stop a child: SIGINT (uvicorn and the emulator shut down cleanly on it), then
    SIGKILL after ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def mac(index: int, prefix: str = "c0:39:5b") -> str:
    """A distinct MAC per emulated device."""
    return f"{prefix}:{(index >> 16) & 255:02x}:{(index >> 8) & 255:02x}:{index & 255:02x}"


class BenchDatabase:
    """A fresh store for one hub run: a SQLite file under ``path``, or a PostgreSQL
    database ``pg_name`` created (and dropped) here."""

    def __init__(self, kind: str, path: Path, pg_name: str) -> None:
        self.kind = kind
        self.path = path
        self.pg_name = pg_name

    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path / 'porteiro.db'}"
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.pg_name}"

    def toml(self) -> str:
        """The ``[hub]`` lines that select this store."""
        if self.kind == "sqlite":
            return f'data_dir = "{self.path}"\n'
        return f'data_dir = "{self.path}"\ndatabase_url = "{self.url()}"\n'

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        if self.kind == "postgresql":
            import psycopg  # noqa: PLC0415

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a read-only query."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(f"file:{self.path / 'porteiro.db'}?mode=ro", uri=True,
                                   timeout=10)
            try:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        import psycopg  # noqa: PLC0415

        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={self.pg_name}"
                             ) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    def count(self, sql: str = "SELECT count(*) FROM events") -> int:
        rows = self.rows(sql)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg  # noqa: PLC0415

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
