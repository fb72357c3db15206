"""Alembic environment: runs migrations on the engine handed over by faceledger.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import faceledger.models  # noqa: F401  (registers every table on Base.metadata)
from faceledger.db import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign keys on the driver connection itself: the pragma is ignored
    inside a transaction, and SQLAlchemy would begin one first."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations rebuild a table by copy, drop and rename. With foreign keys on, the
        # drop would cascade into every child row (a gallery's subjects, photos, templates),
        # so they are off while migrating and checked once at the end.
        _sqlite_foreign_keys(connection, on=False)
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"Migration left rows without their parents: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)
