"""Monitor fixtures: a migrated database of the suite's backend (migrated once, copied per
test), a real signing key, and a :class:`~tests.unit.monitor.builder.LogBuilder` over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.db import Database
from tests import rawsql
from tests.backends import database_url

from .builder import LogBuilder


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty database at the newest schema, made once (nothing stays connected:
    each test gets a copy)."""
    return database_url(tmp_path_factory.mktemp("monitor-db"), "template.db", migrated=True)


MakeBuilder = Callable[..., LogBuilder]


@pytest.fixture
def make_builder(migrated_db: str, tmp_path: Path) -> Iterator[MakeBuilder]:
    """Builders of synthetic logs, each over its own copy of the database."""
    opened: list[Database] = []

    def make(pseudonymous: bool = True, name: str = "ledger") -> LogBuilder:
        database = Database(rawsql.snapshot(migrated_db, tmp_path, f"{name}.db"))
        opened.append(database)
        return LogBuilder(database, Ed25519PrivateKey.generate(), tmp_path, pseudonymous)

    yield make
    for database in opened:
        database.dispose()


@pytest.fixture
def builder(make_builder: MakeBuilder) -> LogBuilder:
    """A builder of a pseudonymous (envelope version 3) log."""
    return make_builder()
