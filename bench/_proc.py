"""Helpers the benchmarks share: loopback ports, child processes, /proc readings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

__all__ = ["cpu_s", "free_base", "free_port", "kill", "mac", "pct", "proc_kib"]


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
