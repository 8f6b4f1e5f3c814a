"""Helpers the benchmarks share: loopback ports, child processes, /proc readings."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["PG_ADMIN", "BenchDatabase", "HubProcess", "cpu_s", "free_base", "free_port",
           "kill", "mac", "pct", "proc_kib"]

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


class HubProcess:
    """A child process writing to a log file (``porteiro serve`` unless told otherwise):
    spawn it, wait until it answers, ask it over HTTP, read its log, CPU and memory,
    stop it.

    Subclasses tune the class attributes, add what their benchmark asks of the hub, or
    override :meth:`ready` for a child without ``/healthz``."""

    name = "hub"
    """How errors name the child."""
    grace = 30.0
    """Seconds :meth:`stop` waits after SIGINT before SIGKILL."""
    start_timeout = 120.0
    """Seconds :meth:`wait_up` waits for :meth:`ready`."""
    poll = 0.1
    """Seconds between two :meth:`ready` checks."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def spawn(self, config: Path, *, python: Sequence[str] = (),
              env: Mapping[str, str] | None = None) -> None:
        """``python [python...] -m porteiro serve --config config``."""
        self.spawn_argv([sys.executable, *python, "-m", "porteiro", "serve", "--config",
                         str(config)], env=env)

    def spawn_argv(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """Any child, stdout and stderr into the log; ``env`` defaults to this process's
        environment with ``PYTHONWARNINGS=ignore``."""
        self.started = time.monotonic()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                list(argv), stdout=out, stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else {**os.environ,
                                                       "PYTHONWARNINGS": "ignore"})

    def ready(self) -> bool:
        """Whether the child answers (``GET /healthz`` is 200); OSError counts as no."""
        return self.request("/healthz", timeout=2)[0] == 200

    def port_open(self) -> bool:
        """Whether the child accepts a connection on its port (a :meth:`ready`)."""
        with socket.create_connection(("127.0.0.1", self.port), 1):
            return True

    def wait_up(self, timeout: float | None = None) -> float:
        """Wait until :meth:`ready`; the seconds since the spawn. RuntimeError (with the
        log's tail) when the child exits or ``timeout`` (:attr:`start_timeout`) passes."""
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.ready():
                    return time.monotonic() - self.started
            time.sleep(self.poll)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")

    def request(self, path: str, method: str = "GET", timeout: float = 30.0
                ) -> tuple[int, bytes]:
        """One HTTP request to the child; (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        """The body of ``GET path``; OSError unless the status is 200."""
        status, body = self.request(path, timeout=timeout)
        if status != 200:
            raise OSError(f"{self.name}: GET {path} answered {status}")
        return body

    def tail(self, lines: int = 30) -> str:
        """The last ``lines`` of the log ("" when there is none)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGINT, then SIGKILL after :attr:`grace` seconds (see :func:`kill`)."""
        kill(self.proc, grace=self.grace)

    def kill(self) -> None:
        """SIGKILL at once (a crash), and reap it."""
        if self.alive():
            assert self.proc is not None  # noqa: S101
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def cpu_s(self) -> float:
        """The child's CPU seconds so far (0 before the spawn or once gone)."""
        return cpu_s(self.proc.pid) if self.proc else 0.0

    def rss_mb(self) -> float:
        """Resident memory now, MB (nan before the spawn)."""
        return proc_kib(self.proc.pid, "VmRSS") / 1024 if self.proc else float("nan")

    def hwm_mb(self) -> float:
        """Peak resident memory, MB (nan before the spawn)."""
        return proc_kib(self.proc.pid, "VmHWM") / 1024 if self.proc else float("nan")


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
