"""A real, throw-away PostgreSQL server for the test run.

Started from the machine's PostgreSQL binaries on a free loopback port, data in a temporary
folder, stopped at the end. `TEST_DATABASE_URL` points the tests at an existing server instead.
As root (CI), the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def find_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A throw-away server the caller may stop and start again (a database outage)."""

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (no initdb found). Install Debian's `postgresql` "
                "package, or set TEST_DATABASE_URL to a server the tests may use."
            )
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="chat-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://chat@127.0.0.1:{self.port}/postgres"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        initdb = str(bindir / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "chat", "--no-sync")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True)

    def start(self, *, fsync: bool = False, max_connections: int = 100, preload: str = "") -> None:
        """Start it; `fsync` as a real server runs (benchmarks of writes), else off (tests)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        options += f" -c fsync={'on' if fsync else 'off'} -c max_connections={max_connections}"
        if preload:  # e.g. pg_stat_statements, for a benchmark that counts statements
            options += f" -c shared_preload_libraries={preload}"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def temporary_server() -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL server; stop it and remove its data afterwards."""
    with controllable_server() as server:
        yield server.url


@contextmanager
def controllable_server() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL server, started; stopped (if running) and removed afterwards."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped by the caller
            server.stop()
        server.remove()
