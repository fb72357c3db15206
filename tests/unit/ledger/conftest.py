"""Ledger fixtures: a migrated SQLite file, real Ed25519 keys, and a ledger to append to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database
from faceledger.ledger import (
    Ledger,
    LedgerEntry,
    LedgerKeys,
    generate_keys,
    load_public_key,
    load_signing_key,
)
from tests.backends import database_url


class FakeClock:
    """A clock tests move by hand; starts at a fixed instant."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    """A new database: the empty SQLite file db_path, or a PostgreSQL database cloned from the
    migrated template (--db postgresql), which the migrations then find current."""
    return database_url(db_path.parent, db_path.name, migrated=True)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A real database (SQLite file or PostgreSQL) brought to the newest schema by the
    migrations."""
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> LedgerKeys:
    return generate_keys(tmp_path / "keys")


@pytest.fixture
def signing_key(keys: LedgerKeys) -> Ed25519PrivateKey:
    return load_signing_key(keys.private_key_path)


@pytest.fixture
def public_key(keys: LedgerKeys) -> Ed25519PublicKey:
    return load_public_key(keys.public_key_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(signing_key: Ed25519PrivateKey, clock: FakeClock) -> Ledger:
    """A ledger that only checkpoints when asked (tests sign where they need to)."""
    return Ledger(signing_key, "test-log", 0, 0, clock=clock)


AppendMany = Callable[..., list[LedgerEntry]]


@pytest.fixture
def append_many(db: Database, ledger: Ledger, clock: FakeClock) -> AppendMany:
    """Append ``n`` entries in one transaction (a second apart), optionally checkpointing after."""

    def append(n: int, *, checkpoint: bool = False, start: int = 0) -> list[LedgerEntry]:
        entries = []
        with db.transaction() as session:
            for i in range(start, start + n):
                clock.advance(seconds=1)
                entries.append(
                    ledger.append(
                        session,
                        actor=f"user{i % 3}",
                        action="search.run" if i % 2 else "gallery.create",
                        object_type="probe" if i % 2 else "gallery",
                        object_id=f"obj-{i}",
                        payload={"n": i, "note": f"entry {i}", "tags": ["a", "b"]},
                    )
                )
            if checkpoint:
                ledger.checkpoint(session)
        return entries

    return append
