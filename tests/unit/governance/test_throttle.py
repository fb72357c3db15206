"""The backoff arithmetic, the throttle keys, and the login_failures table its migration makes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

import faceledger.models  # noqa: F401  (registers every other table on Base.metadata)
from faceledger.db import Base, Database
from faceledger.errors import ConfigError
from faceledger.governance.throttle import (
    KEY_MAX,
    BackoffPolicy,
    KeyKind,
    LoginFailure,
    account_key,
    client_key,
)
from faceledger.ledger.envelope import FIELD_LIMITS
from tests.backends import database_url

SECONDS = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        (0, None),
        (1, None),
        (5, None),  # the free failures cost nothing
        (6, 30),
        (7, 60),
        (8, 120),
        (9, 240),
        (12, 1920),
        (13, 3600),  # 3840 capped
        (14, 3600),
        (10_000, 3600),  # no huge power of two on the way to the cap
    ],
)
def test_default_lockout(failures: int, seconds: int | None) -> None:
    expected = None if seconds is None else seconds * SECONDS
    assert BackoffPolicy().lockout(failures) == expected


def test_defaults() -> None:
    policy = BackoffPolicy()
    assert (policy.free_failures, policy.base_seconds, policy.max_seconds) == (5, 30, 3600)
    assert policy.window == dt.timedelta(hours=1)


def test_custom_policy_doubles_up_to_its_cap() -> None:
    policy = BackoffPolicy(free_failures=0, base_seconds=7, max_seconds=50)
    expected = [None, 7, 14, 28, 50]
    assert [policy.lockout(n) for n in range(5)] == [
        None if s is None else s * SECONDS for s in expected
    ]


def test_policy_is_frozen() -> None:
    policy = BackoffPolicy()
    with pytest.raises(AttributeError):
        policy.free_failures = 100  # type: ignore[misc]


@pytest.mark.parametrize(
    "fields",
    [
        {"free_failures": -1},
        {"base_seconds": 0},
        {"base_seconds": -5},
        {"base_seconds": 100, "max_seconds": 99},
        {"window": dt.timedelta(0)},
        {"window": -SECONDS},
    ],
)
def test_unusable_policy_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BackoffPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "key"),
    [("alice", "alice"), ("  Alice\t", "alice"), ("ALICE", "alice"), ("", ""), ("   ", "")],
)
def test_account_key_is_stripped_and_lower_cased(typed: str, key: str) -> None:
    assert account_key(typed) == key


@pytest.mark.parametrize(
    ("typed", "key"),
    [("10.0.0.1", "10.0.0.1"), (" 2001:DB8::1 ", "2001:db8::1"), ("", "")],
)
def test_client_key_is_stripped_and_lower_cased(typed: str, key: str) -> None:
    assert client_key(typed) == key


def test_keys_fit_the_column_and_the_ledger_object_id() -> None:
    limit = min(KEY_MAX, FIELD_LIMITS["object_id"])
    assert len(account_key("a" * 1000)) == limit
    assert len(client_key("b" * 1000)) == limit


def test_key_kinds() -> None:
    assert {k.value for k in KeyKind} == {"account", "client"}


# -- the table -----------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty database of the suite's backend brought to the newest schema by the migrations
    (these tests are about migration 0007)."""
    database = Database(database_url(tmp_path, "throttle.db"))
    database.upgrade()
    yield database
    database.dispose()


def _table_diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    return [d for d in diff if "login_failures" in repr(d)]


def test_migration_0007_makes_exactly_the_orm_table(db: Database) -> None:
    assert db.current_revision() == db.head_revision()
    assert _table_diff(db) == []
    found = inspect(db.engine).get_indexes("login_failures")
    indexes = {ix["name"]: ix["column_names"] for ix in found}
    assert indexes["ix_login_failures_key"] == ["key_kind", "key", "failed_at"]
    assert indexes["ix_login_failures_failed_at"] == ["failed_at"]


def test_downgrade_drops_the_table_and_upgrade_restores_it(db: Database) -> None:
    command.downgrade(db._alembic_config(), "0006")
    assert "login_failures" not in inspect(db.engine).get_table_names()
    db.upgrade()
    assert _table_diff(db) == []


def test_failed_at_round_trips_as_utc(db: Database) -> None:
    at = dt.datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with db.transaction() as session:
        session.add(LoginFailure(key_kind="account", key="alice", failed_at=at))
    with db.read() as session:
        stored = session.scalars(select(LoginFailure.failed_at)).one()
    assert stored == at
    assert stored.tzinfo == dt.UTC


def test_unknown_key_kind_is_refused_by_the_database(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(LoginFailure(key_kind="planet", key="x", failed_at=dt.datetime.now(dt.UTC)))
