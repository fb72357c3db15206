"""The database the suite runs on: SQLite files (``--db sqlite``, the default) or a throwaway
PostgreSQL cluster (``--db postgresql``; tests/postgres.py). STYLE 8: one suite, both backends.

Storage-touching tests never build a database URL themselves. On PostgreSQL every data
directory gets its own database the first time its settings name one (``Settings.db_url``, the
one place the code asks; :func:`configure` routes it here): a fresh database cloned from a
migrated template, written to the directory's ``faceledger.toml`` so the CLI and subprocesses
find it too. A bare database comes from :func:`database_url`; a copy of a data directory is
made with :func:`copy_data_dir`, which clones its database as well.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresCluster, server_binaries

SQLITE, POSTGRESQL = "sqlite", "postgresql"
OWNER_FILE = ".test-database-owner"
"""Which data directory a database in faceledger.toml was made for (catches a plain copy)."""

_backend = SQLITE
_cluster: PostgresCluster | None = None
_template: str | None = None


def configure(backend: str) -> None:
    """Choose the backend for this session (from the ``--db`` option)."""
    global _backend
    if backend == POSTGRESQL and server_binaries() is None:
        raise pytest.UsageError(
            "--db postgresql needs PostgreSQL's server binaries (initdb, pg_ctl): "
            "`make postgres` installs Debian's postgresql."
        )
    _backend = backend
    if backend == POSTGRESQL:
        from faceledger.config import Settings

        def db_url(self: Settings) -> str:
            """The data directory's own PostgreSQL database unless database_url is set (a
            plain copy of another directory is refused either way)."""
            if self.database_url:
                refuse_plain_copy(self.data_dir.resolve())
                return self.database_url
            return str(data_dir_database(self.data_dir))

        Settings.db_url = property(db_url)  # type: ignore[method-assign,assignment]
    else:
        from faceledger.config import Settings

        plain = Settings.db_url.fget  # type: ignore[attr-defined]

        def sqlite_url(self: Settings) -> str:
            """The data directory's SQLite file, made the first time from a migrated template
            (as on PostgreSQL, each directory's database starts at the newest schema)."""
            if not self.database_url:
                sqlite_from_template(self.data_dir / "faceledger.db")
            return str(plain(self))

        Settings.db_url = property(sqlite_url)  # type: ignore[method-assign,assignment]


def backend() -> str:
    """Return the backend of this session: 'sqlite' or 'postgresql'."""
    return _backend


def on_postgresql() -> bool:
    """True when the suite runs on PostgreSQL."""
    return _backend == POSTGRESQL


def cluster() -> PostgresCluster:
    """Return the session's PostgreSQL cluster, starting it on first use."""
    global _cluster
    if _cluster is None:
        binaries = server_binaries()
        assert binaries is not None
        started = PostgresCluster(binaries)
        started.start()
        _cluster = started
    return _cluster


def shutdown() -> None:
    """Stop the cluster, if one was started; delete the SQLite template."""
    global _cluster, _template, _sqlite_template
    if _cluster is not None:
        _cluster.stop()
    _cluster, _template = None, None
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None


_sqlite_template: Path | None = None


def sqlite_from_template(path: Path) -> None:
    """Make ``path`` (if it does not exist and its folder does) a copy of a SQLite database
    migrated to the newest schema, 0600 like the service makes it. The migrations run once per
    session for the template; they are tested from scratch in tests/unit/ledger/test_schema.py
    and on old directories by the migration tests, which make their databases themselves."""
    global _sqlite_template
    if path.exists() or not path.parent.is_dir():
        return
    if _sqlite_template is None:
        import tempfile

        from faceledger.db import Database

        made = Path(tempfile.mkdtemp(prefix="faceledger-sqlite-template-")) / "template.db"
        database = Database(f"sqlite:///{made}")
        try:
            database.upgrade()
        finally:
            database.dispose()
        _sqlite_template = made
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(handle, "wb") as out:
        out.write(_sqlite_template.read_bytes())


def _migrated_template() -> str:
    """Return a database at the newest schema that new databases are cloned from."""
    global _template
    if _template is None:
        from faceledger.db import Database

        name = cluster().create_database()
        database = Database(cluster().url(name))
        try:
            database.upgrade()
        finally:
            database.dispose()
        _template = name
    return _template


def database_url(tmp_path: Path, name: str = "test.db", migrated: bool = False) -> str:
    """Return the URL of a new, empty database (``migrated``: at the newest schema): a SQLite
    file ``tmp_path/name``, or a fresh PostgreSQL database."""
    if not on_postgresql():
        if migrated:
            sqlite_from_template(tmp_path / name)
        return f"sqlite:///{tmp_path / name}"
    created = cluster().create_database(_migrated_template() if migrated else None)
    return cluster().url(created)


def data_dir_database(data_dir: Path) -> str | None:
    """Return the database URL a data directory's settings should use: None on SQLite (the
    file in the directory); on PostgreSQL the directory's own database, created (migrated) on
    first use and named in its faceledger.toml (a directory not yet made is created; a toml the
    test wrote itself keeps its settings and gains the database line).

    Raises:
        RuntimeError: if the directory is a plain copy of another one's (use copy_data_dir).
    """
    if not on_postgresql():
        return None
    data_dir = data_dir.resolve()
    claimed = refuse_plain_copy(data_dir)
    if claimed is not None:
        url = str(claimed["database_url"])
    else:
        url = cluster().url(cluster().create_database(_migrated_template()))
    _claim(data_dir, url)
    return url


def refuse_plain_copy(data_dir: Path) -> dict[str, str] | None:
    """Return the directory's owner record (None if it has none).

    Raises:
        RuntimeError: if the record names another directory: a plain copy that would share
            its PostgreSQL database (copy data directories with copy_data_dir).
    """
    owner = data_dir / OWNER_FILE
    if not owner.is_file():
        return None
    claimed: dict[str, str] = json.loads(owner.read_text(encoding="utf-8"))
    if claimed["data_dir"] != str(data_dir):
        raise RuntimeError(
            f"{data_dir} is a copy of {claimed['data_dir']} that shares its PostgreSQL "
            "database: copy data directories with tests.backends.copy_data_dir."
        )
    return claimed


def _claim(data_dir: Path, url: str) -> None:
    """Record ``url`` as the directory's database, in its owner file and its faceledger.toml."""
    data_dir.mkdir(parents=True, exist_ok=True)
    owner = json.dumps({"data_dir": str(data_dir.resolve()), "database_url": url})
    _write_if_changed(data_dir / OWNER_FILE, owner)
    config = data_dir / "faceledger.toml"
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    if tomllib.loads(text).get("database_url") != url:
        kept = [line for line in text.splitlines() if not line.startswith("database_url")]
        _write_if_changed(config, "\n".join([f'database_url = "{url}"', *kept]) + "\n")


def _write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically (other processes may be reading it) unless it holds ``text``."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def copy_data_dir(source: Path, target: Path) -> Path:
    """Copy a data directory, its database included (on PostgreSQL a clone of the source's
    database; nothing may be connected to it). Return ``target``."""
    shutil.copytree(source, target)
    if on_postgresql():
        url = json.loads((source / OWNER_FILE).read_text(encoding="utf-8"))["database_url"]
        clone = cluster().create_database(template=str(url).rsplit("/", 1)[1])
        _claim(target, cluster().url(clone))
    return target


def worker_processes(*modules: str) -> Any:
    """A multiprocessing context for tests' worker processes: ``forkserver``, with ``modules``
    (the test module that holds the worker function, and what it imports) imported once in
    the fork server, so each worker starts in milliseconds instead of importing the whole
    service again as ``spawn`` does. Each worker is still a fresh process of its own, forked
    from a server that holds no database connection and no thread."""
    import multiprocessing as mp

    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["faceledger.service", *modules])
    return context


def listening_socket() -> Any:
    """A loopback socket bound to a free port, for a test's uvicorn server, with Nagle's
    algorithm off as uvicorn sets it when it binds itself: without it every answer on a
    kept-alive connection waits about 40 ms for the client's delayed ACK."""
    import socket

    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
