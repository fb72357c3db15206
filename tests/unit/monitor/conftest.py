"""Monitor fixtures: a migrated SQLite file (migrated once, copied per test), a real signing
key, and a :class:`~tests.unit.monitor.builder.LogBuilder` over them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.db import Database

from .builder import LogBuilder


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the newest schema, made once."""
    path = tmp_path_factory.mktemp("monitor-db") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


MakeBuilder = Callable[..., LogBuilder]


@pytest.fixture
def make_builder(migrated_db: Path, tmp_path: Path) -> Iterator[MakeBuilder]:
    """Builders of synthetic logs, each over its own copy of the database."""
    opened: list[Database] = []

    def make(pseudonymous: bool = True, name: str = "ledger") -> LogBuilder:
        path = tmp_path / f"{name}.db"
        shutil.copyfile(migrated_db, path)
        database = Database(f"sqlite:///{path}")
        opened.append(database)
        return LogBuilder(database, Ed25519PrivateKey.generate(), tmp_path, pseudonymous)

    yield make
    for database in opened:
        database.dispose()


@pytest.fixture
def builder(make_builder: MakeBuilder) -> LogBuilder:
    """A builder of a pseudonymous (envelope version 3) log."""
    return make_builder()
