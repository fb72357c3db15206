"""Raw SQL behind the service's back, on either backend of the suite (tests/backends.py).

Tamper tests, migration tests and tests that read a column the service does not expose run
their statements here: SQLAlchemy ``text()`` with named parameters (``:name``) on an engine of
their own, committed and disposed, so the same statement runs on SQLite and PostgreSQL. Write
statements in the SQL both speak: bytes go in as parameters (not ``zeroblob()``), and JSON or
timestamps as parameters rather than literals (``text()`` would read ``":1"`` in a literal as
a parameter).

:func:`snapshot` and :func:`restore` copy a whole database, as an operator's backup and restore
would: the SQLite backup API on a file, ``CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`` on
PostgreSQL, which needs every connection to the copied database closed. Both take the
:class:`~faceledger.db.Database` the test holds and dispose it first; it reconnects on next use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, create_engine, make_url, text

from faceledger.db import Database
from tests import backends

__all__ = ["connection", "execute", "restore", "rows", "scalar", "snapshot"]


@contextmanager
def connection(url: str) -> Iterator[Connection]:
    """Yield a connection to ``url`` inside one transaction on an engine of its own: committed
    on success, rolled back on an error; the engine is disposed either way."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: Any) -> int:
    """Run one statement on the database at ``url`` and commit; return the rows it changed."""
    with connection(url) as conn:
        return conn.execute(text(sql), params).rowcount


def scalar(url: str, sql: str, **params: Any) -> Any:
    """Return the first column of the first row of a query (None if no row)."""
    with connection(url) as conn:
        return conn.execute(text(sql), params).scalar()


def rows(url: str, sql: str, **params: Any) -> Sequence[Row[Any]]:
    """Return every row of a query."""
    with connection(url) as conn:
        return conn.execute(text(sql), params).all()


def _url_of(database: Database | str) -> str:
    if isinstance(database, Database):
        database.dispose()  # nothing may be connected to a PostgreSQL template or restore target
        return database.url
    return database


def _sqlite_file(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise ValueError(f"not a SQLite database file: {url}")
    return Path(path)


def _sqlite_copy(source: Path, target: Path) -> None:
    # The backup API copies a consistent image, the WAL included.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _pg_name(url: str) -> str:
    name = make_url(url).database
    if not name:
        raise ValueError(f"no database name in {url}")
    return name


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(source: Database | str, tmp_path: Path, name: str | None = None) -> str:
    """Return the URL of a new, consistent copy of ``source`` (a Database is disposed first):
    a SQLite file ``tmp_path/name`` (default: the next free ``snapshot-N.db``), or a PostgreSQL
    database cloned from it (``name`` unused, as in :func:`tests.backends.database_url`)."""
    url = _url_of(source)
    if make_url(url).get_backend_name() == "sqlite":
        n = 1
        while name is None and (tmp_path / f"snapshot-{n}.db").exists():
            n += 1
        target = tmp_path / (name or f"snapshot-{n}.db")
        if target.exists():
            raise FileExistsError(f"a snapshot would overwrite {target}")
        _sqlite_copy(_sqlite_file(url), target)
        return f"sqlite:///{target}"
    cluster = backends.cluster()
    return cluster.url(cluster.create_database(template=_pg_name(url)))


def restore(copy_url: str, target: Database | str) -> None:
    """Replace the database ``target`` with the contents of ``copy_url`` (from :func:`snapshot`),
    keeping ``target``'s URL, as an operator restoring an older backup would. A Database is
    disposed first; nothing else may be connected to either database."""
    url = _url_of(target)
    if make_url(url).get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_file(copy_url), _sqlite_file(url))
        return
    cluster = backends.cluster()
    name, source = _quoted(_pg_name(url)), _quoted(_pg_name(copy_url))
    engine = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {source} STRATEGY FILE_COPY")
    finally:
        engine.dispose()
