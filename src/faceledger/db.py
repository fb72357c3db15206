"""Storage: the SQLAlchemy engine, sessions, and Alembic migrations.

SQLite (WAL, foreign keys on) is the embedded default; any SQLAlchemy URL (PostgreSQL in
production) goes through the same code. The schema is owned by the Alembic migrations in
``faceledger/migrations``; :meth:`Database.upgrade` brings a database to the newest revision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from faceledger.at_rest.sealing import DIALECT_ATTRIBUTE, Sealer
from faceledger.errors import Conflict, FaceLedgerError, NotInitialised

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling is off; _sqlite_begin emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writing transaction takes SQLite's write lock at BEGIN (BEGIN IMMEDIATE), so the state
    # it reads cannot change before it writes: a lifecycle step's compare-and-set is then exact,
    # and two writers queue on busy_timeout instead of failing on a stale snapshot.
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _without_row_values(context: ExceptionContext) -> None:
    # PostgreSQL's error text repeats the offending values after its message ("DETAIL:  Key
    # (name)=(...) already exists", "Failing row contains (...)"), out of hide_parameters'
    # reach. Keep the first line (message and constraint); the fields stay in ``orig.diag``.
    original, wrapped = context.original_exception, context.sqlalchemy_exception
    if not (original.args and isinstance(original.args[0], str) and "\n" in original.args[0]):
        return
    full = original.args[0]
    first = full.split("\n", 1)[0]
    original.args = (first, *original.args[1:])
    if wrapped is not None:  # its text was built from the driver's at once
        wrapped.args = tuple(
            a.replace(full, first) if isinstance(a, str) else a for a in wrapped.args
        )


def _unique_violation(exc: IntegrityError) -> bool:
    """True if ``exc`` is a unique constraint's refusal (not a check or foreign key)."""
    original = exc.orig
    return getattr(original, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        original
    )


def _private_sqlite_file(url: str) -> None:
    # A new SQLite file is made 0600 before SQLite makes it under the umask (0644 usually);
    # SQLite gives its -wal and -shm files the database file's mode, so they follow.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database or "")
    if path.parent.is_dir() and not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class Database:
    """An engine plus a session factory for one database URL.

    Sealed columns (:mod:`faceledger.at_rest.sealing`) need the data keys: the service attaches
    them with :meth:`attach_sealer` when it opens the data directory.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        _private_sqlite_file(url)
        # hide_parameters: an error's text (and so any log or traceback) shows the SQL but not
        # the values bound to it, which can be probe hashes, face boxes or token digests.
        self.engine: Engine = create_engine(url, future=True, hide_parameters=True)
        writer = self.engine
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "handle_error", _without_row_values)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)

    def attach_sealer(self, sealer: Sealer) -> None:
        """Seal and open this engine's sealed columns with ``sealer`` from now on."""
        setattr(self.engine.dialect, DIALECT_ATTRIBUTE, sealer)

    @property
    def sealer(self) -> Sealer | None:
        """The sealer attached, or None."""
        found = getattr(self.engine.dialect, DIALECT_ATTRIBUTE, None)
        return found if isinstance(found, Sealer) else None

    def _alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self) -> None:
        """Apply every pending migration (creates the schema on a new database)."""
        command.upgrade(self._alembic_config(), "head")

    def current_revision(self) -> str | None:
        """Return the schema revision the database is at, or None if it was never migrated."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        """Return the newest schema revision this code knows."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def require_current(self) -> None:
        """Raise NotInitialised unless the schema is at the newest revision."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise NotInitialised(
                "The database schema is not up to date; run `faceledger init` first.",
                current=current,
                expected=head,
            )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: commit on success, roll back on any error.

        On SQLite the transaction holds the write lock from its start (``BEGIN IMMEDIATE``);
        on PostgreSQL, lifecycle steps guard their updates with the state they expect, and a
        unique constraint settles a race they cannot see.

        Raises:
            Conflict: if a unique constraint refused a write (nothing was written).
            SealingError: if a sealed value cannot be sealed (no data keys attached).
        """
        try:
            with self._write_sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            if not _unique_violation(exc):
                raise
            # Two writers raced past the same check (on PostgreSQL, whose transactions do not
            # queue like SQLite's BEGIN IMMEDIATE) and the second met a unique constraint: the
            # whole transaction rolled back, so nothing was written.
            raise Conflict(
                "Someone else changed the same record at the same moment; nothing was written. "
                "Reload and try again."
            ) from exc
        except StatementError as exc:
            # A sealed column's type refused the value (no data keys): its own error, not the
            # driver wrapper, which would print the statement.
            if isinstance(exc.orig, FaceLedgerError):
                raise exc.orig from None
            raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading; nothing it changes is committed."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
