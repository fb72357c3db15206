"""A throwaway PostgreSQL cluster for the test suite: Debian's server binaries, ``initdb`` into a
temporary directory, ``pg_ctl`` on a free loopback port, stopped and deleted afterwards.

Run as root (as CI does), the cluster belongs to the ``postgres`` system account that Debian's
package creates, since PostgreSQL refuses to run as root. Databases are cheap clones of one
migrated template (``CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY``).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
"""The account the server runs as when the suite runs as root."""


def server_binaries() -> Path | None:
    """Return the newest ``/usr/lib/postgresql/<major>/bin`` holding initdb and pg_ctl."""
    root = Path("/usr/lib/postgresql")
    found = [p / "bin" for p in root.glob("*") if (p / "bin" / "pg_ctl").is_file()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One PostgreSQL server in a temporary directory, on a free port, for one test session."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="faceledger-pg-"))
        self.data = self.root / "cluster"
        self.port = free_port()
        self.user = SERVER_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._started = False

    def _run(self, args: Sequence[str]) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL {args[0]} failed ({result.returncode}): {result.stderr.strip()}"
            )

    def start(self) -> None:
        """Create the cluster (trust authentication on loopback only) and start the server."""
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                "initdb",
                "-D",
                str(self.data),
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C.UTF-8",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
            "-c max_connections=400 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=128MB"
        )
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self._started = True

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        try:
            if self._started:
                self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """Return the SQLAlchemy URL of ``database`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _execute(self, sql: str) -> None:
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.encode())  # our own identifiers only

    def create_database(self, template: str | None = None) -> str:
        """Create a new database, empty or as a copy of ``template``; return its name."""
        with self._lock:
            name = f"t{os.getpid()}_{next(self._names)}"
            clause = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
            self._execute(f"CREATE DATABASE {name}{clause}")
        return name
